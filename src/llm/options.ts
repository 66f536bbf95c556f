/**
 * Options of the model gateway, resolved from the config. Units and defaults are stated per
 * field; the config loader validates the ranges and gives a message per bad value.
 */
import type { StageName } from '../records.js';
import type { StructuredOutputMode } from './types.js';

/** Price of a model, for cost accounting. */
export interface ModelPrice {
  /** US dollars per million prompt tokens. */
  prompt_per_million: number;
  /** US dollars per million completion tokens. */
  completion_per_million: number;
}

export interface GatewayOptions {
  /**
   * OpenAI-compatible base URLs (ending in `/v1` for most servers). Several spread calls over
   * serving replicas by least in-flight requests; a failing replica is skipped for a while.
   * @example ['http://localhost:8000/v1']
   */
  baseUrls: string[];
  /** The API key value, held in memory only; never written anywhere. `undefined` sends none. */
  apiKey: string | undefined;
  /** Default model for every stage. @example 'gpt-4.1-mini' */
  model: string;
  /** Per-stage model overrides. @example { judge: 'qwen3-32b' } */
  models: Partial<Record<StageName, string>>;
  /**
   * Upper bound on requests in flight at once (the adaptive limit never exceeds it).
   * Minimum 1. @default 16
   */
  concurrency: number;
  /** Requests per minute across all replicas; `undefined` = no limit. Minimum 1. */
  rpm: number | undefined;
  /** Tokens (prompt + completion) per minute; `undefined` = no limit. Minimum 1. */
  tpm: number | undefined;
  /** Per-request timeout in milliseconds (the SDK's own is ten minutes). Minimum 1000. @default 120000 */
  timeoutMs: number;
  /** Retries after the first attempt on 429, 5xx, timeouts and resets. Minimum 0. @default 6 */
  maxRetries: number;
  /** Base of the exponential backoff in milliseconds (doubled per retry, with full jitter). @default 1000 */
  backoffBaseMs: number;
  /** Cap of a single backoff wait in milliseconds, `Retry-After` included. @default 60000 */
  backoffMaxMs: number;
  /** How calls that expect JSON ask for it. @default 'json_schema' */
  structuredOutput: StructuredOutputMode;
  /** Path of the SQLite response cache; `undefined` disables caching. */
  cachePath: string | undefined;
  /** Prices by model name, for the cost figures in `run.json`. */
  prices: Record<string, ModelPrice>;
  /**
   * Stop the run when more than this fraction of the last {@link errorWindow} requests failed
   * after all retries. In (0, 1]. @default 0.5
   */
  maxErrorRate: number;
  /** Number of recent requests the error rate is measured over. Minimum 1. @default 50 */
  errorWindow: number;
}

export const DEFAULT_GATEWAY_OPTIONS: Omit<GatewayOptions, 'baseUrls' | 'apiKey' | 'model'> = {
  models: {},
  concurrency: 16,
  rpm: undefined,
  tpm: undefined,
  timeoutMs: 120_000,
  maxRetries: 6,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  structuredOutput: 'json_schema',
  cachePath: undefined,
  prices: {},
  maxErrorRate: 0.5,
  errorWindow: 50,
};

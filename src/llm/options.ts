/**
 * Options of the model gateway, resolved from the config. Units are stated per field; the
 * defaults are the config's (CONFIG_DEFAULTS), mapped by {@link gatewayOptionsFromConfig}, and
 * the config loader validates the ranges and gives a message per bad value.
 */
import { CONFIG_DEFAULTS, type Config, type DeepReadonly } from '../config.js';
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
   * Minimum 1. @default config `concurrency`
   */
  concurrency: number;
  /** Requests per minute across all replicas; `undefined` = no limit. Minimum 1. */
  rpm: number | undefined;
  /** Tokens (prompt + completion) per minute; `undefined` = no limit. Minimum 1. */
  tpm: number | undefined;
  /** Per-request timeout in milliseconds (the SDK's own is ten minutes). Minimum 1000. @default config `timeout_s` × 1000 */
  timeoutMs: number;
  /** Retries after the first attempt on 429, 5xx, timeouts and resets. Minimum 0. @default config `max_retries` */
  maxRetries: number;
  /** Base of the exponential backoff in milliseconds (doubled per retry, with full jitter). @default config `backoff_base_ms` */
  backoffBaseMs: number;
  /** Cap of a single backoff wait in milliseconds, `Retry-After` included. @default config `backoff_max_ms` */
  backoffMaxMs: number;
  /** How calls that expect JSON ask for it. @default config `structured_output` */
  structuredOutput: StructuredOutputMode;
  /** `reasoning_effort` sent with every request; `undefined` sends none. @default config `reasoning_effort` */
  reasoningEffort: string | undefined;
  /** Path of the SQLite response cache; `undefined` disables caching. */
  cachePath: string | undefined;
  /** Prices by model name, for the cost figures in `run.json`; they override the table. */
  prices: Record<string, ModelPrice>;
  /**
   * Price other models from the maintained table of hosted models, by the provider of
   * `baseUrls[0]` and the model name. @default config `price_table`
   */
  priceTable: boolean;
  /** Share of the price that calls cost (0.5 for the Batch API). In [0, 1]. @default 1 */
  priceFactor: number;
  /**
   * Share of the price that an offline batch's answers cost (`batch import`; counted at their
   * first use, whichever process uses them). In [0, 1]. @default 1 (config: `batch.price_factor`)
   */
  offlinePriceFactor: number;
  /**
   * Stop the run when more than this fraction of the last {@link errorWindow} requests failed
   * after all retries. In (0, 1]. @default config `max_error_rate`
   */
  maxErrorRate: number;
  /** Number of recent requests the error rate is measured over. Minimum 1. @default config `error_window` */
  errorWindow: number;
}

/** The config settings the gateway reads (the endpoint and the cache path are resolved apart). */
export type GatewaySettings = Pick<
  DeepReadonly<Config>,
  | 'models'
  | 'concurrency'
  | 'rpm'
  | 'tpm'
  | 'timeout_s'
  | 'max_retries'
  | 'backoff_base_ms'
  | 'backoff_max_ms'
  | 'structured_output'
  | 'reasoning_effort'
  | 'prices'
  | 'price_table'
  | 'max_error_rate'
  | 'error_window'
>;

/** Gateway options from config settings: the one mapping of config keys onto gateway fields. */
export function gatewayOptionsFromConfig(config: GatewaySettings): Omit<GatewayOptions, 'baseUrls' | 'apiKey' | 'model' | 'cachePath'> {
  const models: Partial<Record<StageName, string>> = {};
  for (const [stage, model] of Object.entries(config.models)) if (typeof model === 'string') models[stage as StageName] = model;
  const prices: Record<string, ModelPrice> = {};
  for (const [model, price] of Object.entries(config.prices)) prices[model] = { ...price };
  return {
    models,
    concurrency: config.concurrency,
    rpm: config.rpm,
    tpm: config.tpm,
    timeoutMs: Math.round(config.timeout_s * 1000),
    maxRetries: config.max_retries,
    backoffBaseMs: config.backoff_base_ms,
    backoffMaxMs: config.backoff_max_ms,
    structuredOutput: config.structured_output,
    reasoningEffort: config.reasoning_effort,
    prices,
    priceTable: config.price_table,
    priceFactor: 1,
    offlinePriceFactor: 1,
    maxErrorRate: config.max_error_rate,
    errorWindow: config.error_window,
  };
}

/** Defaults of the gateway: the config defaults, mapped (so the two cannot disagree). */
export const DEFAULT_GATEWAY_OPTIONS: Omit<GatewayOptions, 'baseUrls' | 'apiKey' | 'model'> = {
  ...gatewayOptionsFromConfig(CONFIG_DEFAULTS),
  cachePath: undefined,
};

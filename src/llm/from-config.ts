/**
 * A gateway from a validated {@link Config}: where the endpoint is, which key and model, and
 * every limit. The API key is only ever read from the environment variable that
 * `api_key_env` names: a key passed as a flag would end up in shell history and process listings.
 */
import { dirname, join } from 'node:path';
import { ConfigError, type Config } from '../config.js';
import type { ModelBackend } from './backend.js';
import { batchBackendFromConfig, batchModeConfig } from './batch-from-config.js';
import { BATCH_JOURNAL_FILE } from './batch-journal.js';
import { DEFAULT_CACHE_FILE } from './cache.js';
import { registerSecret } from './errors.js';
import { gatewayOptionsFromConfig } from './options.js';
import { createGateway, type Gateway } from './gateway.js';
import { USAGE_LEDGER_FILE } from './usage-ledger.js';

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** Model used when the endpoint is OpenAI's own and no model was named. */
export const OPENAI_DEFAULT_MODEL = 'gpt-4.1-mini';

/** How to give gemtraj a model, printed whenever none is configured. */
export const NO_ENDPOINT_HELP = `gemtraj needs an OpenAI-compatible model endpoint, and none is configured.
Give it one in either way:
  # OpenAI (or any hosted OpenAI-compatible API):
  export OPENAI_API_KEY=...                      # read from the environment only, never a flag
  export OPENAI_BASE_URL=https://api.openai.com/v1
  gemtraj run examples/corpus.jsonl --out runs/example --model gpt-4.1-mini
  # a local server (vLLM, SGLang, Ollama, llama.cpp server):
  gemtraj run examples/corpus.jsonl --out runs/example --base-url http://127.0.0.1:8000/v1 --model <served model name>
Settings can also live in a config file (--config gemtraj.yaml): base_urls, model, models.<stage>.`;

/** The endpoint a config points at. */
export interface Endpoint {
  /** At least one base URL. */
  baseUrls: string[];
  /** The key from `$<api_key_env>`; `undefined` when unset or empty. */
  apiKey: string | undefined;
  /** Default model for every stage. */
  model: string;
}

/**
 * Resolves endpoint, key and model: OpenAI's URL when only `OPENAI_API_KEY` is set, and
 * OpenAI's default model on OpenAI's URL. Throws a {@link ConfigError} that says how to fix it.
 * Registers the key with `redact`.
 */
export function resolveEndpoint(config: Config, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const apiKey = env[config.api_key_env] === '' ? undefined : env[config.api_key_env];
  let baseUrls = config.base_urls;
  if (baseUrls.length === 0 && apiKey !== undefined && config.api_key_env === 'OPENAI_API_KEY') baseUrls = [OPENAI_BASE_URL];
  if (baseUrls.length === 0) throw new ConfigError(NO_ENDPOINT_HELP);
  const isOpenAI = baseUrls.every((u) => u.replace(/\/+$/, '') === OPENAI_BASE_URL);
  if (isOpenAI && apiKey === undefined) {
    throw new ConfigError(`the endpoint is ${OPENAI_BASE_URL} but $${config.api_key_env} is not set.\n${NO_ENDPOINT_HELP}`);
  }
  const model = config.model ?? (isOpenAI ? OPENAI_DEFAULT_MODEL : undefined);
  if (model === undefined) {
    throw new ConfigError(`no model named for ${baseUrls.join(', ')}: pass --model <name> (the name the server serves) or set GEMTRAJ_MODEL.`);
  }
  registerSecret(apiKey);
  return { baseUrls, apiKey, model };
}

export interface GatewayFromConfigOptions {
  /**
   * Run directory: the response cache defaults to `<outDir>/cache.sqlite` when the config
   * names no cache file. `undefined` (and no `cache` in the config) means no cache.
   */
  outDir?: string | undefined;
  /** Where `api_key_env` is looked up. @default process.env */
  env?: NodeJS.ProcessEnv | undefined;
  /**
   * Sends the requests instead of the HTTP backend. The endpoint is then not resolved: no
   * base URL or key is needed, and `model` must be in the config.
   */
  backend?: ModelBackend | undefined;
  /**
   * Keep the usage ledger `<outDir>/usage.jsonl` (a corpus run's: run.json's usage is its sum,
   * exact after kills). In batch mode it records answers only: a request is answered to
   * whichever process polls its batch.
   * @default false
   */
  usageLedger?: boolean | undefined;
  /**
   * An offline batch export (`gemtraj batch export`): the answers come back through `batch
   * import`, so the ledger records outcomes only (as in batch mode). The answers are priced at
   * `batch.price_factor` in any case (see `offlinePriceFactor`).
   * @default false
   */
  offline?: boolean | undefined;
}

/** The gateway a config describes. Throws {@link ConfigError} when no usable endpoint or model is configured. */
export function gatewayFromConfig(config: Config, options: GatewayFromConfigOptions = {}): Gateway {
  const { outDir, backend } = options;
  const cachePath = config.cache === false ? undefined : config.cache ?? (outDir !== undefined ? join(outDir, DEFAULT_CACHE_FILE) : undefined);
  if (backend === undefined && config.batch.enabled) {
    const endpoint = resolveEndpoint(config, options.env);
    const journalDir = outDir ?? (cachePath === undefined ? undefined : dirname(cachePath));
    if (journalDir === undefined) throw new ConfigError('batch mode keeps its batches in the run directory: give --out (or a cache file).');
    return createGateway({
      ...endpoint,
      backend: batchBackendFromConfig(config, endpoint, join(journalDir, BATCH_JOURNAL_FILE), cachePath),
      ...gatewayOptionsFromConfig(batchModeConfig(config)),
      priceFactor: config.batch.price_factor,
      offlinePriceFactor: config.batch.price_factor,
      cachePath,
      usageLedgerPath: options.usageLedger === true && outDir !== undefined ? join(outDir, USAGE_LEDGER_FILE) : undefined,
      answersOutliveProcess: true,
    });
  }
  return createGateway({
    ...(backend === undefined ? resolveEndpoint(config, options.env) : { backend, model: backendModel(config) }),
    ...gatewayOptionsFromConfig(config),
    cachePath,
    usageLedgerPath: options.usageLedger === true && outDir !== undefined ? join(outDir, USAGE_LEDGER_FILE) : undefined,
    // An offline batch's answers cost the batch price, whichever run uses them first.
    offlinePriceFactor: config.batch.price_factor,
    ...(options.offline === true ? { answersOutliveProcess: true } : {}),
  });
}

function backendModel(config: Config): string {
  if (config.model === undefined) throw new ConfigError('no model named: pass --model <name> or set GEMTRAJ_MODEL.');
  return config.model;
}

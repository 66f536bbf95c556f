/**
 * Flags shared by commands, their mapping onto config keys, and the gateway factory.
 * The API key is only ever read from the environment variable that `--api-key-env` names:
 * a key passed as a flag would end up in shell history and process listings.
 */
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, STAGE_MODEL_KEYS, STRUCTURED_OUTPUT_MODES, type Config } from '../config.js';
import { describeDefault } from '../config-docs.js';
import { createGateway, type Gateway } from '../llm/gateway.js';
import { registerSecret } from '../llm/errors.js';
import type { StageName } from '../records.js';
import { RUN_FILES } from '../pipeline/run-dir.js';

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** Model used when the endpoint is OpenAI's own and no model was named. */
export const OPENAI_DEFAULT_MODEL = 'gpt-4.1-mini';

function int(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

function num(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Flags of every command that calls a model. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--base-url <url>', 'OpenAI-compatible endpoint (repeat for several replicas); else $OPENAI_BASE_URL', collect)
    .option('--api-key-env <NAME>', 'environment variable that holds the API key', undefined)
    .option('--model <name>', 'model for every stage; else $GEMTRAJ_MODEL')
    .option('--stage-model <stage=model>', `per-stage model override (${STAGE_MODEL_KEYS.join(', ')}); repeatable`, collect)
    .option('--concurrency <n>', `requests in flight at once ${describeDefault('concurrency')}`, int('--concurrency', 1))
    .option('--rpm <n>', `requests per minute limit ${describeDefault('rpm')}`, int('--rpm', 1))
    .option('--tpm <n>', `tokens per minute limit ${describeDefault('tpm')}`, int('--tpm', 1))
    .option('--timeout <seconds>', `per-request timeout ${describeDefault('timeout_s')}`, num('--timeout'))
    .option('--max-retries <n>', `retries on 429/5xx/timeouts ${describeDefault('max_retries')}`, int('--max-retries', 0))
    .addOption(
      new Option('--structured-output <mode>', `how JSON is requested ${describeDefault('structured_output')}`).choices(STRUCTURED_OUTPUT_MODES),
    )
    .option('--temperature <t>', `sampling temperature of generation stages ${describeDefault('temperature')}`, num('--temperature'))
    .option('--max-tokens <n>', `completion token cap per call ${describeDefault('max_tokens')}`, int('--max-tokens', 1))
    .option('--cache <file>', `response cache file ${describeDefault('cache')}`)
    .option('--no-cache', 'do not cache responses (a rerun then repeats paid calls)')
    .option('--config <file>', 'config file (JSON or YAML); flags override it');
}

/** Flags of every command that reads an input corpus. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .option('--text-field <name>', `JSONL field holding the text ${describeDefault('text_field')}`)
    .option('--id-field <name>', `JSONL field holding the id ${describeDefault('id_field')}`)
    .option('--max-docs <n>', 'process only the first N documents', int('--max-docs', 1))
    .option('--shard <i/n>', 'process only shard i of n (stable hash of the document id)')
    .option('--quiet', 'no progress output');
}

/** Commander's parsed options for the flags above (all optional). */
export interface CommonFlags {
  baseUrl?: string[];
  apiKeyEnv?: string;
  model?: string;
  stageModel?: string[];
  concurrency?: number;
  rpm?: number;
  tpm?: number;
  timeout?: number;
  maxRetries?: number;
  structuredOutput?: string;
  temperature?: number;
  maxTokens?: number;
  cache?: string | false;
  config?: string;
  textField?: string;
  idField?: string;
  maxDocs?: number;
  shard?: string;
  quiet?: boolean;
}

/** Maps flags onto config keys; unset flags stay undefined so lower layers show through. */
export function flagsToConfig(flags: CommonFlags, extra: Record<string, unknown> = {}): Record<string, unknown> {
  let models: Record<string, string> | undefined;
  for (const pair of flags.stageModel ?? []) {
    const eq = pair.indexOf('=');
    const stage = pair.slice(0, eq);
    if (eq <= 0 || !(STAGE_MODEL_KEYS as readonly string[]).includes(stage) || pair.slice(eq + 1) === '') {
      throw new ConfigError(`--stage-model ${JSON.stringify(pair)}: expected stage=model with stage one of ${STAGE_MODEL_KEYS.join(', ')}`);
    }
    (models ??= {})[stage] = pair.slice(eq + 1);
  }
  return {
    base_urls: flags.baseUrl,
    api_key_env: flags.apiKeyEnv,
    model: flags.model,
    models,
    concurrency: flags.concurrency,
    rpm: flags.rpm,
    tpm: flags.tpm,
    timeout_s: flags.timeout,
    max_retries: flags.maxRetries,
    structured_output: flags.structuredOutput,
    temperature: flags.temperature,
    max_tokens: flags.maxTokens,
    cache: flags.cache === false ? false : flags.cache,
    text_field: flags.textField,
    id_field: flags.idField,
    max_docs: flags.maxDocs,
    shard: flags.shard,
    quiet: flags.quiet,
    ...extra,
  };
}

export function configFromFlags(flags: CommonFlags, extra: Record<string, unknown> = {}): Config {
  return loadConfig({ file: flags.config, env: process.env, flags: flagsToConfig(flags, extra) });
}

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

/** Resolves endpoint, key and model; throws a {@link ConfigError} that says how to fix it. */
export function resolveEndpoint(config: Config, env: NodeJS.ProcessEnv = process.env): { baseUrls: string[]; apiKey: string | undefined; model: string } {
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

/** The gateway for a run directory; the cache defaults to `<out>/cache.sqlite`. */
export function openGateway(config: Config, outDir: string | undefined): Gateway {
  const endpoint = resolveEndpoint(config);
  const models: Partial<Record<StageName, string>> = {};
  for (const [stage, model] of Object.entries(config.models)) if (typeof model === 'string') models[stage as StageName] = model;
  return createGateway({
    ...endpoint,
    models,
    concurrency: config.concurrency,
    rpm: config.rpm,
    tpm: config.tpm,
    timeoutMs: Math.round(config.timeout_s * 1000),
    maxRetries: config.max_retries,
    backoffBaseMs: config.backoff_base_ms,
    backoffMaxMs: config.backoff_max_ms,
    structuredOutput: config.structured_output,
    cachePath: config.cache === false ? undefined : config.cache ?? (outDir !== undefined ? join(outDir, RUN_FILES.cache) : undefined),
    prices: config.prices,
    maxErrorRate: config.max_error_rate,
    errorWindow: config.error_window,
  });
}

/**
 * Flags shared by commands, their mapping onto config keys, and the gateway for a run.
 * The API key is only ever read from the environment variable that `--api-key-env` names:
 * a key passed as a flag would end up in shell history and process listings.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, PROMPT_SETS, REASONING_EFFORTS, STAGE_MODEL_KEYS, STRUCTURED_OUTPUT_MODES, type Config } from '../config.js';
import { describeDefault } from '../config-docs.js';
import { gatewayFromConfig } from '../llm/from-config.js';
import type { Gateway } from '../llm/gateway.js';

// Endpoint resolution lives with the gateway (llm/from-config.ts); re-exported for commands and tests.
export { NO_ENDPOINT_HELP, OPENAI_BASE_URL, OPENAI_DEFAULT_MODEL, resolveEndpoint } from '../llm/from-config.js';

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
    .option('--max-tokens <n>', `completion token cap per call, every stage ${describeDefault('max_tokens')}`, int('--max-tokens', 1))
    .option('--stage-max-tokens <stage=n>', `completion token cap of one stage (${STAGE_MODEL_KEYS.join(', ')}); repeatable`, collect)
    .addOption(new Option('--prompts <set>', `prompt set; v1 reproduces gemtraj 0.2 runs ${describeDefault('prompts')}`).choices(PROMPT_SETS))
    .addOption(
      new Option('--reasoning-effort <level>', `reasoning_effort sent to reasoning models ${describeDefault('reasoning_effort')}`).choices(REASONING_EFFORTS),
    )
    .option('--cache <file>', `response cache file ${describeDefault('cache')}`)
    .option('--no-cache', 'do not cache responses (a rerun then repeats paid calls)')
    .option('--config <file>', 'config file (JSON or YAML); flags override it');
}

/** What a corpus command's `<input>` may be (argument help). */
export const INPUT_ARGUMENT_HELP =
  'corpus: a file, a folder (formats may mix), a quoted glob (\'data/train-*.parquet\') or - for stdin; see "Input" below';

/** The formats a corpus command reads, printed after its options. */
export const INPUT_HELP = `
Input:
  .jsonl/.ndjson          one JSON object per line (--text-field, --id-field)
  .json                   a JSON array of objects, or one object per line
  .csv/.tsv               a header row naming the columns; quoted fields may hold newlines
  .parquet                row group by row group (FineWeb: text; Ultra-FineWeb: --text-field content)
  .warc.wet               Common Crawl WET: conversion records; id = WARC-Record-ID, URL kept
  .txt/.md/.html          one document per file (id = path relative to the folder)
  .gz/.zst                any of these compressed (gzip, zstd); pipes are sniffed
  - /dev/stdin <(zcat …)  a pipe: its first bytes tell the format (not Parquet: give its path)
Every file of a folder is read or reported by name in rejected.jsonl with the reason.`;

/**
 * Operands after `<input>` are most often a glob the shell expanded (`data/train-*.parquet`
 * unquoted): say so instead of commander's bare "too many arguments".
 */
export function checkOneInput(cmd: Command): void {
  const extra = cmd.args.length;
  if (extra <= 1) return;
  const shown = cmd.args.slice(0, 3).join(' ') + (extra > 3 ? ' …' : '');
  throw new ConfigError(
    `${cmd.name()} reads one input but got ${extra} (${shown}). If the shell expanded a glob, quote it ('data/train-*.parquet') so that gemtraj expands it, or give the folder`,
  );
}

/** Flags of every command that reads an input corpus. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .allowExcessArguments()
    .addHelpText('after', INPUT_HELP)
    .option('--text-field <name>', `field (JSON key, CSV or Parquet column) holding the text ${describeDefault('text_field')}`)
    .option('--id-field <name>', `field (JSON key, CSV or Parquet column) holding the id ${describeDefault('id_field')}`)
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
  stageMaxTokens?: string[];
  reasoningEffort?: string;
  prompts?: string;
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
  let caps: Record<string, number> | undefined;
  for (const pair of flags.stageMaxTokens ?? []) {
    const [stage = '', value = ''] = pair.split('=', 2);
    const n = Number(value);
    if (!(STAGE_MODEL_KEYS as readonly string[]).includes(stage) || !Number.isInteger(n) || n < 1) {
      throw new ConfigError(`--stage-max-tokens ${JSON.stringify(pair)}: expected stage=n with stage one of ${STAGE_MODEL_KEYS.join(', ')} and n an integer ≥ 1`);
    }
    (caps ??= {})[stage] = n;
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
    stage_max_tokens: caps,
    reasoning_effort: flags.reasoningEffort,
    prompts: flags.prompts,
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

/**
 * The gateway for a run directory; the cache defaults to `<out>/cache.sqlite`. `usageLedger`:
 * keep `<out>/usage.jsonl` (corpus runs, whose run.json sums it).
 */
export function openGateway(config: Config, outDir: string | undefined, usageLedger = false): Gateway {
  const gateway = gatewayFromConfig(config, { outDir, usageLedger });
  // Adaptations to what a model refuses are said once, even with --quiet: they change requests.
  gateway.onEvent((event) => {
    if (event.type === 'notice') process.stderr.write(`gemtraj: note: ${event.message}\n`);
  });
  return gateway;
}

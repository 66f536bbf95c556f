/**
 * One validated configuration from three layers: command-line flags over environment
 * variables over a config file (JSON or YAML). Every bad value gets a message naming the
 * setting, where it came from and what is allowed. The API key is never part of the config
 * object that is written to `run.json`: only the *name* of the variable that holds it is.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatPath } from './records.js';
import { EXIT_BAD_INPUT, GemtrajError } from './errors.js';

const positiveInt = z.number().int().min(1);
const fraction = z.number().gt(0).max(1);

export const STAGE_MODEL_KEYS = ['filter', 'extract', 'generate', 'refine', 'judge', 'synthesize'] as const;
export type ModelStage = (typeof STAGE_MODEL_KEYS)[number];

export const ConfigSchema = z
  .object({
    /** OpenAI-compatible base URLs; several spread load over replicas. */
    base_urls: z.array(z.string().regex(/^https?:\/\/[^\s/]+/i, 'must be an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1')).default([]),
    /** Name of the environment variable that holds the API key. @default 'OPENAI_API_KEY' */
    api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('OPENAI_API_KEY'),
    /** Default model for every stage. */
    model: z.string().min(1).optional(),
    /** Per-stage model overrides. */
    models: z.object(Object.fromEntries(STAGE_MODEL_KEYS.map((k) => [k, z.string().min(1).optional()]))).strict().default({}),
    /** Requests in flight at once. Minimum 1. @default 16 */
    concurrency: positiveInt.default(16),
    /** Requests per minute; unset = no limit. */
    rpm: positiveInt.optional(),
    /** Tokens per minute; unset = no limit. */
    tpm: positiveInt.optional(),
    /** Per-request timeout, seconds. Minimum 1. @default 120 */
    timeout_s: z.number().min(1).default(120),
    /** Retries after the first attempt. @default 6 */
    max_retries: z.number().int().min(0).max(50).default(6),
    /** First backoff wait in milliseconds, doubled per retry with full jitter. Minimum 0. @default 1000 */
    backoff_base_ms: z.number().min(0).default(1000),
    /** Longest single backoff wait in milliseconds, `Retry-After` included. Minimum 0. @default 60000 */
    backoff_max_ms: z.number().min(0).default(60_000),
    /** @default 'json_schema' */
    structured_output: z.enum(['json_schema', 'json_object', 'prompt']).default('json_schema'),
    /** Response cache file; default `<out>/cache.sqlite`. `false` disables it. */
    cache: z.union([z.string().min(1), z.literal(false)]).optional(),
    /** Prices in USD per million tokens, by model name. */
    prices: z
      .record(z.string(), z.object({ prompt_per_million: z.number().min(0), completion_per_million: z.number().min(0) }).strict())
      .default({}),
    /** Stop when more than this fraction of the last `error_window` calls failed. @default 0.5 */
    max_error_rate: fraction.default(0.5),
    error_window: positiveInt.default(50),
    /** Sampling temperature for generation stages. @default 0.7 */
    temperature: z.number().min(0).max(2).default(0.7),
    /** Completion token cap per call; unset = endpoint default. */
    max_tokens: positiveInt.optional(),

    // Input
    text_field: z.string().min(1).default('text'),
    id_field: z.string().min(1).default('id'),
    max_docs: positiveInt.optional(),
    /** `i/n`: process only documents whose id hashes to shard i of n (0-based). */
    shard: z
      .string()
      .regex(/^\d+\/\d+$/, 'must look like i/n, e.g. 0/4')
      .refine((s) => {
        if (!/^\d+\/\d+$/.test(s)) return true; // the format message above already says it
        const [i, n] = s.split('/').map(Number) as [number, number];
        return n >= 1 && i < n;
      }, 'needs 0 <= i < n')
      .optional(),

    // Stages
    segment: z
      .object({
        max_chars: z.number().int().min(200).default(6000),
        min_chars: z.number().int().min(0).default(200),
      })
      .strict()
      .default({ max_chars: 6000, min_chars: 200 }),
    filter: z
      .object({
        mode: z.enum(['local', 'llm', 'cascade']).default('cascade'),
        /** `heuristic` or `model:PATH`. */
        scorer: z.string().regex(/^(heuristic|model:.+)$/, 'must be heuristic or model:PATH').default('heuristic'),
        /** Scores below are dropped without a call (cascade) / the keep threshold (local). */
        low: z.number().min(0).max(1).default(0.2),
        high: z.number().min(0).max(1).default(0.8),
        threshold: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .refine((f) => f.low <= f.high, 'filter.low must not exceed filter.high')
      .default({ mode: 'cascade', scorer: 'heuristic', low: 0.2, high: 0.8, threshold: 0.5 }),
    extract: z
      .object({
        min_tools: z.number().int().min(1).default(2),
        min_steps: z.number().int().min(1).default(2),
        max_workflows: z.number().int().min(1).default(3),
      })
      .strict()
      .default({ min_tools: 2, min_steps: 2, max_workflows: 3 }),
    refine: z.boolean().default(true),
    judge: z.boolean().default(true),
    judge_rubrics: z.array(z.enum(['R1', 'R2', 'R3', 'R4'])).default(['R1', 'R2', 'R3', 'R4']),
    validate: z
      .object({
        min_distinct_tools: z.number().int().min(0).default(2),
        min_tool_calls: z.number().int().min(0).default(3),
        min_messages: z.number().int().min(0).default(8),
        min_user_turns: z.number().int().min(0).default(2),
        provenance: z.enum(['off', 'warn', 'reject']).default('warn'),
      })
      .strict()
      .default({ min_distinct_tools: 2, min_tool_calls: 3, min_messages: 8, min_user_turns: 2, provenance: 'warn' }),
    quiet: z.boolean().default(false),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** A bad setting, with where it came from. Exit status 2. */
export class ConfigError extends GemtrajError {
  constructor(message: string) {
    super(message, EXIT_BAD_INPUT);
    this.name = 'ConfigError';
  }
}

/** Environment variables gemtraj reads, and the config key each sets. */
const ENV_KEYS: Array<[string, string, 'string' | 'number' | 'list']> = [
  ['OPENAI_BASE_URL', 'base_urls', 'list'],
  ['GEMTRAJ_MODEL', 'model', 'string'],
  ['OPENAI_MODEL', 'model', 'string'],
  ['GEMTRAJ_CONCURRENCY', 'concurrency', 'number'],
  ['GEMTRAJ_RPM', 'rpm', 'number'],
  ['GEMTRAJ_TPM', 'tpm', 'number'],
  ['GEMTRAJ_TIMEOUT_S', 'timeout_s', 'number'],
  ['GEMTRAJ_STRUCTURED_OUTPUT', 'structured_output', 'string'],
];

/** Reads the config file: JSON or YAML by extension (YAML also parses JSON). */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read config file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let value: unknown;
  try {
    value = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${file}: must hold a mapping of settings`);
  // Accept kebab-case keys too (`base-url`), as on the command line.
  return normalizeKeys(value as Record<string, unknown>);
}

function normalizeKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = k.replace(/-/g, '_');
    out[key] = v !== null && typeof v === 'object' && !Array.isArray(v) && key !== 'prices' ? normalizeKeys(v as Record<string, unknown>) : v;
  }
  if (out.base_url !== undefined && out.base_urls === undefined) {
    out.base_urls = Array.isArray(out.base_url) ? out.base_url : [out.base_url];
    delete out.base_url;
  }
  return out;
}

/** Settings from the environment (only the ones that are set). */
export function readEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, key, kind] of ENV_KEYS) {
    const raw = env[name];
    if (raw === undefined || raw === '' || out[key] !== undefined) continue;
    if (kind === 'list') out[key] = raw.split(',').map((s) => s.trim()).filter(Boolean);
    else if (kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new ConfigError(`${name}=${JSON.stringify(raw)}: must be a number`);
      out[key] = n;
    } else out[key] = raw;
  }
  return out;
}

/** Deep merge where later layers win; arrays are replaced, not concatenated. */
function merge(...layers: Array<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      const prev = out[k];
      if (isPlainObject(prev) && isPlainObject(v)) out[k] = merge(prev, v);
      else out[k] = v;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface ConfigSources {
  /** Path of the config file, if any (`--config`). */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Settings from flags, already in config-key form; `undefined` values are ignored. */
  flags?: Record<string, unknown> | undefined;
  /** A command's own defaults, under the file, the environment and the flags. */
  base?: Record<string, unknown> | undefined;
}

/** Builds the one validated config. Throws {@link ConfigError} with a message per bad value. */
export function loadConfig(sources: ConfigSources): Config {
  const fileLayer = sources.file === undefined ? {} : readConfigFile(sources.file);
  const envLayer = readEnv(sources.env ?? process.env);
  const merged = merge(sources.base ?? {}, fileLayer, envLayer, sources.flags ?? {});
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.flatMap((issue) => {
      // Unknown keys come with the parent's path and the names apart: one line per key.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => {
          const origin = whereFrom([...issue.path, k], sources, fileLayer, envLayer);
          return issue.path.length === 0
            ? `  unknown setting "${k}"${origin}`
            : `  ${formatPath(issue.path)}: unknown setting "${k}"${origin}`;
        });
      }
      return [`  ${formatPath(issue.path)}: ${issue.message}${whereFrom(issue.path, sources, fileLayer, envLayer)}`];
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

function whereFrom(
  path: ReadonlyArray<PropertyKey>,
  sources: ConfigSources,
  fileLayer: Record<string, unknown>,
  envLayer: Record<string, unknown>,
): string {
  const top = String(path[0] ?? '');
  if (sources.flags !== undefined && sources.flags[top] !== undefined) return ' (from the command line)';
  if (envLayer[top] !== undefined) {
    const names = ENV_KEYS.filter(([, key]) => key === top).map(([name]) => name);
    return ` (from the environment: ${names.join(' or ')})`;
  }
  if (fileLayer[top] !== undefined) return ` (from ${sources.file})`;
  return '';
}

/** Parses `i/n` into numbers (validated already by the schema). */
export function parseShard(shard: string | undefined): { index: number; count: number } | undefined {
  if (shard === undefined) return undefined;
  const [i, n] = shard.split('/').map(Number) as [number, number];
  return { index: i, count: n };
}

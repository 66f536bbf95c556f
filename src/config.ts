/**
 * One validated configuration from three layers: command-line flags over environment
 * variables over a config file (JSON or YAML). Every bad value gets a message naming the
 * setting, where it came from and what is allowed. The API key is never part of the config
 * object that is written to `run.json`: only the *name* of the variable that holds it is.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { z } from 'zod';
import { formatPath } from './records.js';
import { EXIT_BAD_INPUT, GemtrajError } from './errors.js';
import { checkNowSetting, DEFAULT_NOW, NOW_PATTERN } from './prompts/now.js';

/** The `yaml` package (its Node build is CommonJS), loaded with the first YAML config: ~85 modules and ~30 ms of CPU that a run without one would pay at start-up. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

const positiveInt = z.number().int().min(1);
const fraction = z.number().gt(0).max(1);
const unit = z.number().min(0).max(1);
const RUBRICS = ['R1', 'R2', 'R3', 'R4'] as const;

/** Values of `structured_output`, for flags' `choices`. */
export const STRUCTURED_OUTPUT_MODES = ['json_schema', 'json_object', 'prompt'] as const;
/** Values of `reasoning_effort`, for flags' `choices`. */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
/** Values of `prompts`, oldest first (src/prompts/versions.ts says what each sends). */
export const PROMPT_SETS = ['v1', 'v2'] as const;
/** Values of `filter.mode`, for flags' `choices`. */
export const FILTER_MODES = ['local', 'llm', 'cascade'] as const;
/** Values of `dedup.mode`, for flags' `choices`. */
export const DEDUP_MODES = ['off', 'exact', 'near'] as const;
/** Values of `validate.provenance`, for flags' `choices`. */
export const PROVENANCE_MODES = ['off', 'warn', 'reject'] as const;
/** Values of `synthesize.repaired_calls`, for flags' `choices`. */
export const REPAIRED_CALLS_MODES = ['warn', 'reject'] as const;

export const STAGE_MODEL_KEYS = ['filter', 'extract', 'generate', 'refine', 'judge', 'synthesize'] as const;
export type ModelStage = (typeof STAGE_MODEL_KEYS)[number];

/**
 * Documentation of one setting, kept on its schema as zod metadata so that help text, the
 * README table and tests read it at runtime (see config-docs.ts). Unit and meaning go in
 * `description`; bounds and the default are read from the schema itself. (A type, not an
 * interface: zod's metadata type needs an index signature.)
 */
export type SettingMeta = {
  /** What the setting does, with its unit. */
  description: string;
  /** One typical value (other than the default). */
  examples: [unknown];
  /** What leaving the setting unset means, for settings without a default value. */
  unset?: string;
  /** Allowed values in words, where the schema's own (a pattern, a record) would not read well. */
  allowed?: string;
};

function doc(description: string, example: unknown, more: Pick<SettingMeta, 'unset' | 'allowed'> = {}): SettingMeta {
  return { description, examples: [example], ...more };
}

/** True for a URL with `user:pass@` (or `user@`) before its host. */
export function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/**
 * The one definition of every setting: type, bounds, default and documentation. Nested
 * sections use `prefault({})` so that their defaults come from their fields (written once).
 * Object and array defaults are functions: every loaded config gets its own copy.
 */
export const ConfigSchema = z
  .object({
    // Endpoint
    base_urls: z
      .array(
        z
          .string()
          .regex(/^https?:\/\/[^\s/]+/i, 'must be an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1')
          // Refused, not retried: fetch cannot send such a URL, and the password would reach logs.
          .refine((url) => !hasCredentials(url), 'must not hold a user name or password (user:pass@host): give the key in the environment variable `api_key_env` names (OPENAI_API_KEY by default)'),
      )
      .default(() => [])
      .meta(
        doc(
          'OpenAI-compatible base URLs (usually ending in /v1). Several spread calls over replicas, least requests in flight first. None: https://api.openai.com/v1 when only $OPENAI_API_KEY is set.',
          ['http://10.0.0.5:8000/v1', 'http://10.0.0.6:8000/v1'],
          { allowed: 'list of http(s) URLs' },
        ),
      ),
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('OPENAI_API_KEY')
      .meta(doc('Name of the environment variable that holds the API key (the key itself is never stored).', 'TOGETHER_API_KEY', { allowed: 'variable name' })),
    model: z
      .string()
      .min(1)
      .optional()
      .meta(doc('Model for every stage that `models` does not name.', 'Qwen/Qwen3-32B', { unset: 'required, except gpt-4.1-mini on https://api.openai.com/v1' })),
    models: z
      .object(Object.fromEntries(STAGE_MODEL_KEYS.map((k) => [k, z.string().min(1).optional()])))
      .strict()
      .prefault({})
      .meta(doc(`Per-stage model overrides, by stage: ${STAGE_MODEL_KEYS.join(', ')}.`, { judge: 'Qwen/Qwen3-32B' }, { allowed: 'stage → model name' })),

    // Limits, retries, failures
    concurrency: positiveInt
      .max(4096)
      .default(16)
      .meta(doc("Most requests in flight at once. The adaptive limit halves on 429 and creeps back, never above this. Documents in process: up to twice this; from 16, fewer while gemtraj's own CPU is what limits the run.", 64)),
    rpm: positiveInt.optional().meta(doc('Requests per minute over all replicas.', 3000, { unset: 'no limit' })),
    tpm: positiveInt.optional().meta(doc('Tokens (prompt + completion) per minute over all replicas.', 2_000_000, { unset: 'no limit' })),
    timeout_s: z
      .number()
      .min(1)
      .default(120)
      .meta(doc("Per-request timeout, in seconds (the SDK's own is 10 minutes).", 300)),
    max_retries: z
      .number()
      .int()
      .min(0)
      .max(50)
      .default(6)
      .meta(doc('Retries after the first attempt on 429, 5xx, timeouts and connection resets.', 10)),
    backoff_base_ms: z
      .number()
      .min(0)
      .default(1000)
      .meta(doc('First backoff wait, in milliseconds; doubled per retry, with full jitter.', 500)),
    backoff_max_ms: z
      .number()
      .min(0)
      .default(60_000)
      .meta(doc('Longest single backoff wait, in milliseconds, Retry-After included.', 120_000)),
    max_error_rate: fraction
      .default(0.5)
      .meta(doc('Stop the run when more than this fraction of the last `error_window` requests failed after all retries.', 0.2)),
    error_window: positiveInt.default(50).meta(doc('Number of recent requests `max_error_rate` is measured over.', 100)),

    // Requests
    structured_output: z
      .enum(STRUCTURED_OUTPUT_MODES)
      .default('json_schema')
      .meta(
        doc(
          'How calls that expect JSON ask for it: json_schema (response_format with the schema), json_object (response_format json_object, schema in the prompt) or prompt (schema in the prompt only).',
          'json_object',
        ),
      ),
    temperature: z
      .number()
      .min(0)
      .max(2)
      .default(0.7)
      .meta(doc('Sampling temperature of generate, refine and synthesize (extraction uses 0.2, the judges 0).', 1)),
    max_tokens: positiveInt
      .optional()
      .meta(doc('Completion token cap per call for every stage (reasoning tokens included), overriding stage_max_tokens.', 32_000, { unset: 'stage_max_tokens, per stage' })),
    stage_max_tokens: z
      .object({
        filter: positiveInt.default(4096).meta(doc('Completion token cap of a relevance-judge call (a short verdict; the rest is room for thinking).', 2048)),
        extract: positiveInt.default(12_288).meta(doc('Completion token cap of an extraction call (tools, rules and workflows of a segment as JSON).', 16_384)),
        generate: positiveInt
          .default(16_384)
          .meta(doc('Completion token cap of a generation call (a 40–60 message conversation is about 6–9k tokens of JSON).', 24_576)),
        refine: positiveInt.default(20_480).meta(doc('Completion token cap of a refinement call (the rewritten, longer conversation).', 32_768)),
        judge: positiveInt.default(8192).meta(doc('Completion token cap of a judge call (four verdicts with reasons).', 4096)),
        synthesize: positiveInt.default(16_384).meta(doc('Completion token cap of a synthesis call (tools, rules and a conversation).', 24_576)),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Completion caps per stage' }),
    prompts: z
      .enum(PROMPT_SETS)
      .default('v2')
      .meta(
        doc(
          'Prompt set. v2: a field guide of the answer in every structured prompt, the schema sent without numeric bounds, and per-stage completion caps (stage_max_tokens). v1: requests exactly as gemtraj 0.2 sent them, to resume or reproduce an older run from its cache.',
          'v1',
        ),
      ),
    parallel_calls: z
      .enum(['allow', 'forbid'])
      .default('forbid')
      .meta(
        doc(
          'Tool calls per assistant turn in generated and refined conversations (prompt set v2): forbid = one call per assistant turn, as in the paper’s refinement, and the validator rejects a turn with several (check parallel_calls); allow = independent calls may share a turn. The same wording goes into every prompt. Prompt set v1 keeps 0.2’s wording and does not check.',
          'allow',
        ),
      ),
    now: z
      .string()
      .regex(NOW_PATTERN, 'a date YYYY-MM-DD, a date and time YYYY-MM-DDTHH:MM, or a range YYYY-MM-DD..YYYY-MM-DD')
      .superRefine((value, ctx) => {
        try {
          checkNowSetting(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .default(DEFAULT_NOW)
      .meta(
        doc(
          'The current date and time each generated conversation takes place at (prompt set v2): a range of dates draws one day per trajectory, and a time of day between 08:00 and 20:00, seeded by the trajectory id so reruns reproduce; a date fixes the day; a date and time fixes both. Stated in the conversation’s system prompt, kept by refinement, used by the judge for deadlines, recorded as meta.now.',
          '2025-06-02',
          { allowed: 'YYYY-MM-DD | YYYY-MM-DDTHH:MM | YYYY-MM-DD..YYYY-MM-DD' },
        ),
      ),
    reasoning_effort: z
      .enum(REASONING_EFFORTS)
      .optional()
      .meta(
        doc(
          "How much a reasoning model thinks before answering (OpenAI reasoning_effort), sent with every request. A model that refuses it gets requests without it, said once.",
          'low',
          { unset: "not sent: the model's own default" },
        ),
      ),
    cache: z
      .union([z.string().min(1), z.literal(false)])
      .optional()
      .meta(doc('Response cache file (SQLite). false disables caching: a rerun then repeats paid calls.', 'runs/shared-cache.sqlite', { unset: '<out>/cache.sqlite', allowed: 'file path | false' })),
    prices: z
      .record(z.string(), z.object({ prompt_per_million: z.number().min(0), completion_per_million: z.number().min(0) }).strict())
      .default(() => ({}))
      .meta(
        doc('Prices in US dollars per million tokens, by model name, for the cost figures in run.json.', {
          'gpt-4.1-mini': { prompt_per_million: 0.4, completion_per_million: 1.6 },
        }, { allowed: 'model → { prompt_per_million, completion_per_million }, each ≥ 0' }),
      ),

    price_table: z
      .boolean()
      .default(true)
      .meta(
        doc(
          'Price models that `prices` does not name from the maintained table of hosted models (@pydantic/genai-prices, matched by model name and base URL). false: only `prices`; other models show as unpriced.',
          false,
        ),
      ),
    batch: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .meta(doc('Send requests through the provider\'s Files + Batches API (--batch): about half price, answers within 24 hours; rerun the command to resume polling.', true)),
        wave_size: positiveInt
          .default(5000)
          .meta(doc('Batch mode: most requests pending at once (replaces `concurrency`); one wave is what the pipeline asks for until it waits on answers.', 20_000)),
        max_requests: positiveInt.default(50_000).meta(doc("Batch mode: most requests in one batch (the provider's limit; OpenAI: 50,000).", 10_000)),
        max_bytes: z
          .number()
          .int()
          .min(1024)
          .default(200_000_000)
          .meta(doc("Batch mode: largest input file of one batch, in bytes (the provider's limit; OpenAI: 200 MB).", 100_000_000)),
        collect_ms: z
          .number()
          .int()
          .min(0)
          .default(2000)
          .meta(doc('Batch mode: a wave is submitted once no new request arrived for this long, in milliseconds.', 5000)),
        poll_min_ms: positiveInt.default(10_000).meta(doc('Batch mode: first wait between polls of a batch, in milliseconds; grows 1.5× per poll.', 30_000)),
        poll_max_ms: positiveInt.default(300_000).meta(doc('Batch mode: longest wait between polls of a batch, in milliseconds.', 600_000)),
        price_factor: z
          .number()
          .min(0)
          .max(1)
          .default(0.5)
          .meta(doc('Batch mode: share of the live price that batch calls cost (OpenAI and Together: half).', 0.6)),
      })
      .strict()
      .refine((b) => b.poll_min_ms <= b.poll_max_ms, 'batch.poll_min_ms must not exceed batch.poll_max_ms')
      .prefault({})
      .meta({ title: 'Batch API' }),

    // Input
    text_field: z
      .string()
      .min(1)
      .default('text')
      .meta(doc('Field of an input record that holds the text: a JSON key, a CSV/TSV header name or a Parquet column (FineWeb: text; Ultra-FineWeb: content).', 'content')),
    id_field: z
      .string()
      .min(1)
      .default('id')
      .meta(doc('Field of an input record (JSON key, CSV/TSV header name, Parquet column) that holds the document id; a record without one gets doc_ + a hash of its text.', 'url')),
    max_docs: positiveInt.optional().meta(doc('Process only the first N documents.', 100, { unset: 'all documents' })),
    shard: z
      .string()
      .regex(/^\d+\/\d+$/, 'must look like i/n, e.g. 0/4')
      .refine((s) => {
        if (!/^\d+\/\d+$/.test(s)) return true; // the format message above already says it
        const [i, n] = s.split('/').map(Number) as [number, number];
        return n >= 1 && n <= 1_000_000 && i < n;
      }, 'needs 0 <= i < n and n <= 1000000')
      .optional()
      .meta(doc('i/n: process only the documents whose id hashes to shard i of n (0-based, 0 <= i < n).', '0/4', { unset: 'all documents', allowed: 'i/n, 0 ≤ i < n ≤ 1000000' })),

    // Stages
    segment: z
      .object({
        max_chars: z
          .number()
          .int()
          .min(200)
          .default(6000)
          .meta(doc('Longest segment, in characters of reduced text (markup stripped).', 4000)),
        min_chars: z
          .number()
          .int()
          .min(0)
          .default(200)
          .meta(
            doc(
              'Segments shorter than this, in characters, are avoided: such a cut is taken last, and a short tail is merged into the segment before when that fits. At most max_chars; capped at half of it.',
              500,
            ),
          ),
      })
      .strict()
      // A max_chars below its own minimum is reported once, by its own check.
      .refine((g) => g.max_chars < 200 || g.min_chars <= g.max_chars, 'segment.min_chars must not exceed segment.max_chars')
      .prefault({})
      .meta({ title: 'Segmenter' }),
    filter: z
      .object({
        mode: z
          .enum(FILTER_MODES)
          .default('cascade')
          .meta(
            doc(
              'Who decides whether a segment is kept: local (the local scorer alone, at threshold), llm (the LLM judge, every segment) or cascade (the local scorer outside [low, high), the judge inside).',
              'local',
            ),
          ),
        scorer: z
          .string()
          .regex(/^(heuristic|model:.+)$/, 'must be heuristic or model:PATH')
          .default('heuristic')
          .meta(doc('Local scorer: heuristic (built-in features) or model:PATH (a model file from gemtraj filter train).', 'model:filter-model.json', { allowed: 'heuristic | model:PATH' })),
        low: unit
          .default(0.15)
          .meta(
            doc(
              'Cascade mode: segments whose local score is below this are dropped without a call. At most high. Kept low on purpose: dropping a procedural page loses its workflows, judging a non-procedural one costs one short call (README, Relevance filter).',
              0.1,
            ),
          ),
        high: unit
          .default(0.8)
          .meta(doc('Cascade mode: segments whose local score is at or above this are kept without a call; scores in [low, high) go to the judge.', 0.9)),
        threshold: unit
          .default(0.5)
          .meta(
            doc(
              "Local mode: segments whose local score is at or above this are kept, the rest dropped (overrides a model file's own threshold). Unused in llm and cascade modes.",
              0.6,
            ),
          ),
      })
      .strict()
      .refine((f) => f.low <= f.high, 'filter.low must not exceed filter.high')
      .prefault({})
      .meta({ title: 'Relevance filter' }),
    dedup: z
      .object({
        mode: z
          .enum(DEDUP_MODES)
          .default('near')
          .meta(
            doc(
              'Duplicate segments, removed before the relevance filter (check duplicate_segment, naming the kept segment): off, exact (same words, ignoring case, punctuation and spacing) or near (also MinHash near-duplicates: mirrors, templated pages, small edits). The first segment in input order is kept.',
              'exact',
            ),
          ),
        shingle: z
          .number()
          .int()
          .min(1)
          .max(50)
          .default(5)
          .meta(doc('Near mode: words per shingle. 5 makes one changed word alter at most 5 shingles, while pages that only share a topic share almost none.', 3)),
        bands: positiveInt
          .max(256)
          .default(30)
          .meta(doc('Near mode: LSH bands. bands × rows hash functions; a pair becomes a candidate when one band agrees, with probability 1 − (1 − J^rows)^bands: with 30 × 4, 0.985 at J = 0.6 and 0.9997 at J = 0.7.', 20)),
        rows: positiveInt
          .max(32)
          .default(4)
          .meta(doc('Near mode: signature values per band. More rows make candidates rarer for dissimilar pairs (each candidate costs a signature comparison); fewer catch lower similarities.', 5)),
        threshold: fraction
          .default(0.6)
          .meta(
            doc(
              'Near mode: estimated Jaccard similarity of shingle sets at or above which a segment repeats an earlier one. Mirrors, a few edits, moved boilerplate or another footer stay above 0.8; a help-centre template filled in for another product (other names and amounts) is near 0.7; pages that share only a topic fall below 0.2.',
              0.8,
            ),
          ),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Deduplication' }),
    decontaminate: z
      .array(z.string().min(1))
      .default(() => [])
      .meta(
        doc(
          'Benchmark files (JSONL, JSON or text: BFCL questions, tau2 tasks and policies, any evaluation set): segments and trajectories sharing a decontaminate_ngram-word sequence with one are rejected (check contaminated, naming the file and the span).',
          ['bfcl/BFCL_v4_multi_turn_base.jsonl', 'tau2/airline-tasks.json'],
          { allowed: 'list of file paths' },
        ),
      ),
    decontaminate_ngram: z
      .number()
      .int()
      .min(5)
      .max(100)
      .default(13)
      .meta(doc('Words in the shared sequence that marks a record contaminated (13, as in GPT-3 and most decontamination since). Benchmark texts of 8 words up to this are matched whole.', 8)),
    extract: z
      .object({
        min_tools: positiveInt.default(2).meta(doc('Fewest distinct tools an extraction must define to be kept.', 3)),
        min_steps: positiveInt.default(2).meta(doc('Fewest steps a workflow must have to be kept.', 3)),
        max_workflows: positiveInt.default(3).meta(doc('Most workflows kept per segment; each becomes one trajectory.', 1)),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Extraction' }),
    refine: z.boolean().default(true).meta(doc('Run complexity refinement (--no-refine skips it).', false)),
    judge: z.boolean().default(true).meta(doc('Run the LLM judge after the rule checks (--no-judge skips it).', false)),
    judge_rubrics: z
      .array(z.enum(RUBRICS))
      .default(() => [...RUBRICS])
      .meta(
        doc(
          'Judge rubrics a trajectory must pass: R1 tool-call, R2 capability, R3 context hallucination, R4 system-prompt rules faithful to the source text (asked only when the source is known).',
          ['R1', 'R2', 'R3'],
        ),
      ),
    validate: z
      .object({
        min_distinct_tools: z.number().int().min(0).default(2).meta(doc('Complexity: fewest distinct tool names a trajectory calls; 0 disables the minimum.', 3)),
        min_tool_calls: z.number().int().min(0).default(3).meta(doc('Complexity: fewest tool calls in a trajectory (parallel calls count one each); 0 disables.', 5)),
        min_messages: z.number().int().min(0).default(8).meta(doc('Complexity: fewest messages in a trajectory, system prompt included; 0 disables.', 12)),
        min_user_turns: z.number().int().min(0).default(2).meta(doc('Complexity: fewest user messages in a trajectory; 0 disables.', 3)),
        provenance: z
          .enum(PROVENANCE_MODES)
          .default('warn')
          .meta(
            doc(
              'argument_provenance check (a tool-call argument value that appears nowhere earlier): warn records a warning, reject drops the trajectory, off skips the check.',
              'reject',
            ),
          ),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Validation of pipeline runs' }),
    synthesize: z
      .object({
        repaired_calls: z
          .enum(REPAIRED_CALLS_MODES)
          .default('warn')
          .meta(
            doc(
              'Synthesize mode: a tool call whose JSON the parser had to repair (unquoted value, single quotes, missing bracket, unescaped quote): warn keeps the trajectory with a synthesizer_call_repaired warning, reject drops it (check synthesize_repaired_call).',
              'reject',
            ),
          ),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Trajectory Synthesizer' }),
    quiet: z.boolean().default(false).meta(doc('No progress output.', true)),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** `T` with every nested property and array read-only. */
export type DeepReadonly<T> = T extends ReadonlyArray<infer E>
  ? ReadonlyArray<DeepReadonly<E>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}

/**
 * Every default, read from the schema: what a config with nothing set holds. Settings without
 * a default (`model`, `rpm`, `cache`, …) are absent. Stages, the gateway and help text take
 * their defaults from here rather than repeating them.
 */
export const CONFIG_DEFAULTS: DeepReadonly<Config> = deepFreeze(ConfigSchema.parse({}));

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
  ['GEMTRAJ_REASONING_EFFORT', 'reasoning_effort', 'string'],
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function normalizeKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = k.replace(/-/g, '_');
    if (!isRecord(v)) out[key] = v;
    // Under `prices` the keys are model names, kept as written; their fields are settings.
    else if (key === 'prices') out[key] = Object.fromEntries(Object.entries(v).map(([model, price]) => [model, isRecord(price) ? normalizeKeys(price) : price]));
    else out[key] = normalizeKeys(v);
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

/**
 * Options of {@link import('./index.js').validateTrajectory}: which checks run, how severe
 * each one is, and the thresholds of the configurable ones. Every field is optional; the
 * defaults reproduce the paper's rule validation plus gemtraj's extra checks.
 */
import { SchemaCache, defaultSchemaCache } from './schema-cache.js';

/** Every check id the validator can report, in the order checks run. */
export const VALIDATE_CHECK_IDS = [
  'record_shape',
  'tool_name',
  'duplicate_tool',
  'tool_schema',
  'role_order',
  'final_answer',
  'missing_tool_result',
  'orphan_tool_result',
  'duplicate_call_id',
  'empty_message',
  'empty_tool_result',
  'unknown_tool',
  'arguments_json',
  'arguments_schema',
  'unknown_argument',
  'complexity',
  'argument_provenance',
  'parallel_calls',
] as const;
export type CheckId = (typeof VALIDATE_CHECK_IDS)[number];

/** What a finding does: rejects the record, is kept as a warning, or is not computed. */
export type Severity = 'error' | 'warn' | 'off';

/**
 * Default severity per check. Three checks only warn by default because they are heuristics
 * or because real, clean data trips them:
 * - `argument_provenance`: a grounding heuristic (string containment), see {@link ProvenanceOptions};
 * - `empty_tool_result`: real tools return nothing (tau-bench's `think` returns `""`);
 * - `unknown_argument`: an argument name absent from `properties` when the schema does not say
 *   `additionalProperties: false` (JSON Schema allows it; the paper's "matching argument names"
 *   suggests it is suspicious).
 */
export const DEFAULT_SEVERITY: Readonly<Record<CheckId, Severity>> = {
  record_shape: 'error',
  tool_name: 'error',
  duplicate_tool: 'error',
  tool_schema: 'error',
  role_order: 'error',
  final_answer: 'error',
  missing_tool_result: 'error',
  orphan_tool_result: 'error',
  duplicate_call_id: 'error',
  empty_message: 'error',
  empty_tool_result: 'warn',
  unknown_tool: 'error',
  arguments_json: 'error',
  arguments_schema: 'error',
  unknown_argument: 'warn',
  complexity: 'error',
  argument_provenance: 'warn',
  // A house style, not an error in general data (real logs call tools in parallel): the
  // pipeline turns it on when config `parallel_calls` is `forbid`.
  parallel_calls: 'off',
};

/** Minimum sizes a trajectory must reach (check `complexity`). 0 disables a minimum. */
export interface ComplexityOptions {
  /** Distinct tool names called at least once. @default 0 (off) */
  minDistinctTools?: number | undefined;
  /** Tool calls in total (parallel calls count one each). @default 0 (off) */
  minToolCalls?: number | undefined;
  /** Messages in total, system prompt included. @default 0 (off) */
  minMessages?: number | undefined;
  /** User messages. @default 0 (off) */
  minUserTurns?: number | undefined;
}

/**
 * Tuning of `argument_provenance`. A leaf argument value (string or number) is grounded when
 * it occurs, case-insensitively and at word boundaries, in the system prompt, an earlier user
 * message or an earlier tool result (`_`, `-` and runs of whitespace count as one space; digit
 * group commas are ignored, so 1250 matches "1,250"; 121 matches "121.00"). Exempt, because
 * the assistant legitimately composes or picks them:
 * - booleans and null; values the schema lists (`enum`, `const`) or declares as `default`;
 * - integers with |n| <= `smallIntMax` (quantities, counts, flags);
 * - 2–3 letter upper-case codes (`JFK`, `CA`, `USD`): derived from names the user gives;
 * - other numbers, and dates and times, are also grounded by assistant text up to and
 *   including the calling turn: computed amounts (a total, a split between two cards) and
 *   worked-out dates the assistant states. Not under an identifier-like name (`order_id`,
 *   `orderId`, `user_ids`, `phone_number`, `sku`, `code`, `ref`, `token`, `key`, `account`,
 *   `order`; the list is `IDENTIFIER_WORDS` in checks/provenance.ts): an identifier must come
 *   from an earlier user message, tool result or the system prompt. Other strings never are:
 *   an id the assistant wrote first is still an invented id;
 * - a number that is a unit conversion of a number stated with its unit, when the argument's
 *   name says its unit: "the last 12 hours" grounds `window_minutes: 720`; time (ms … weeks:
 *   `_ms`, `_minutes`, `_hours`), length (`_mm`, `_km`), mass (`_g`, `_kg`), data sizes (`_mb`,
 *   `_bytes`), percent → fraction (`rate`, `ratio`, `fraction`, `share`), currency cents
 *   (`_cents`); a bare `count` or `amount` takes no conversion ("5m users" is not 5000).
 *   One-letter unit suffixes count only attached ("5m", not "5 m"); "a"/"last"/"next" count as
 *   one only before a time unit. Scale words ("5k", "2.5 million") count under any
 *   non-identifier name (see checks/derivations.ts);
 * - an optional parameter (not in its object's `required`) set to the default its description
 *   documents ("Page size; default 20", "defaults to 'desc'"): a number, true/false, a quoted
 *   value or an enum value, read from the description's first 2,000 characters ("no default"
 *   documents none);
 * - free text: strings longer than `freeTextMinChars` or with more than `freeTextMaxWords` words,
 *   and any string under a key whose last `_`-separated part is in `freeTextKeys`
 *   (`message`, `query`, `reason`, `cancel_reason`, `search_query`...);
 * - dates (`YYYY-MM-DD`, optionally with a time) are also grounded by "May 20", "20th May",
 *   "5/20", or by a relative date word in an earlier user turn ("tomorrow", "next Friday").
 */
export interface ProvenanceOptions {
  /** Integers whose absolute value is at most this need no grounding. @default 10 */
  smallIntMax?: number | undefined;
  /** Strings longer than this (characters, trimmed) are free text. @default 40 */
  freeTextMinChars?: number | undefined;
  /** Strings with more words than this are free text. @default 4 */
  freeTextMaxWords?: number | undefined;
  /** Argument names holding composed text. @default {@link DEFAULT_FREE_TEXT_KEYS} */
  freeTextKeys?: readonly string[] | undefined;
}

/** Argument names whose values the assistant composes (matched on the last `_` part too). */
export const DEFAULT_FREE_TEXT_KEYS: readonly string[] = [
  'message', 'query', 'q', 'content', 'reason', 'text', 'body', 'note', 'notes', 'comment',
  'comments', 'description', 'summary', 'subject', 'title', 'question', 'prompt', 'keywords',
  'keyword', 'search', 'term', 'thought', 'feedback', 'instructions', 'explanation', 'details',
  'expression', 'formula', 'answer', 'response', 'reply', 'caption', 'memo', 'remarks',
];

export interface ValidateOptions {
  /** Check ids not to run at all (same as severity `off`). @default [] */
  skip?: readonly CheckId[] | undefined;
  /** Per-check severity overrides on top of {@link DEFAULT_SEVERITY}. @default {} */
  severity?: Partial<Record<CheckId, Severity>> | undefined;
  /**
   * Shorthand for the severity of `argument_provenance` (`reject` = `error`).
   * Overrides `severity.argument_provenance` when set. @default 'warn'
   */
  argumentProvenance?: 'off' | 'warn' | 'reject' | undefined;
  /** Tuning of `argument_provenance`. @default see {@link ProvenanceOptions} */
  provenance?: ProvenanceOptions | undefined;
  /** Minimum sizes (check `complexity`). @default all 0 (off) */
  complexity?: ComplexityOptions | undefined;
  /**
   * Scope in which tool call ids must be unique (check `duplicate_call_id`): the whole
   * trajectory, or one assistant message. Trainers count calls and results by id: OpenAI
   * answers 400 "Duplicate value for 'tool_call_id'" and strict providers (Mistral, Fireworks,
   * Anthropic) match them as a multiset, so an id reused in a later turn is an error by
   * default. `message` accepts real logs that reuse ids across turns (49 of 200 tau-bench
   * airline runs by GPT-4o do, 73 times), linking results by position.
   * @default 'trajectory'
   */
  callIdScope?: 'trajectory' | 'message' | undefined;
  /**
   * Compiled argument validators, shared across calls. @default a process-wide LRU of
   * 1,024 tool schemas ({@link defaultSchemaCache})
   */
  schemaCache?: SchemaCache | undefined;
}

/** Options with every default filled in. */
export interface ResolvedValidateOptions {
  severity: Readonly<Record<CheckId, Severity>>;
  provenance: {
    smallIntMax: number;
    freeTextMinChars: number;
    freeTextMaxWords: number;
    /** Lower-cased free-text argument names. */
    freeTextKeys: ReadonlySet<string>;
  };
  complexity: { [K in keyof ComplexityOptions]-?: number };
  callIdScope: 'trajectory' | 'message';
  schemaCache: SchemaCache;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  return value;
}

const resolvedCache = new WeakMap<ValidateOptions, ResolvedValidateOptions>();
let resolvedDefault: ResolvedValidateOptions | undefined;

/**
 * Fills defaults and checks ranges; throws a RangeError naming the bad option. Memoized per
 * options object, so passing the same object for every record costs nothing.
 */
export function resolveValidateOptions(options?: ValidateOptions): ResolvedValidateOptions {
  if (options === undefined) return (resolvedDefault ??= resolveUncached({}));
  let resolved = resolvedCache.get(options);
  if (resolved === undefined) {
    resolved = resolveUncached(options);
    resolvedCache.set(options, resolved);
  }
  return resolved;
}

function resolveUncached(options: ValidateOptions): ResolvedValidateOptions {
  const severity: Record<CheckId, Severity> = { ...DEFAULT_SEVERITY, ...options.severity };
  if (options.argumentProvenance !== undefined) {
    severity.argument_provenance = options.argumentProvenance === 'reject' ? 'error' : options.argumentProvenance;
  }
  for (const id of options.skip ?? []) severity[id] = 'off';
  const p = options.provenance ?? {};
  const freeTextKeys = p.freeTextKeys ?? DEFAULT_FREE_TEXT_KEYS;
  const c = options.complexity ?? {};
  return {
    severity,
    provenance: {
      smallIntMax: nonNegative(p.smallIntMax, 10, 'provenance.smallIntMax'),
      freeTextMinChars: nonNegative(p.freeTextMinChars, 40, 'provenance.freeTextMinChars'),
      freeTextMaxWords: nonNegative(p.freeTextMaxWords, 4, 'provenance.freeTextMaxWords'),
      freeTextKeys: new Set(freeTextKeys.map((k) => k.toLowerCase())),
    },
    complexity: {
      minDistinctTools: nonNegative(c.minDistinctTools, 0, 'complexity.minDistinctTools'),
      minToolCalls: nonNegative(c.minToolCalls, 0, 'complexity.minToolCalls'),
      minMessages: nonNegative(c.minMessages, 0, 'complexity.minMessages'),
      minUserTurns: nonNegative(c.minUserTurns, 0, 'complexity.minUserTurns'),
    },
    callIdScope: options.callIdScope ?? 'trajectory',
    schemaCache: options.schemaCache ?? defaultSchemaCache(),
  };
}

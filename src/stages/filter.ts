/**
 * Stage 1: relevance filter. Three modes:
 * - `local`: the local scorer (heuristic or trained model) decides alone, at `threshold`;
 * - `llm`: the LLM judge decides every segment;
 * - `cascade`: the local scorer decides the clear cases (score below `low`: drop, at or above
 *   `high`: keep) and the judge decides the band in between, which saves most calls.
 * No files, no CLI: the pipeline writes `segments.jsonl` from what these functions return.
 * Endpoint failures (LlmError) propagate to the pipeline; a bad judge answer is returned as
 * `by: 'error'` with the reason.
 */
import { CONFIG_DEFAULTS } from '../config.js';
import type { LlmClient } from '../llm/types.js';
import type { Segment, SegmentDraft, SegmentLabels, Usage } from '../records.js';
import { buildFilterMessages, FILTER_PROMPT_VERSION, FILTER_SCHEMA_NAME, FilterAnswerSchema } from '../prompts/filter.js';
import { createScorer, type Scorer } from '../filter/scorer.js';
import { looksLikeRefusal } from './types.js';
import { promptVersion, usesFieldGuide, type PromptSet } from '../prompts/versions.js';

export type FilterMode = 'local' | 'llm' | 'cascade';

/**
 * Default of {@link FilterOptions.low} (config `filter.low`): conservative, because a dropped procedural
 * page loses its workflows while a judged non-procedural one costs one short call. No procedural page of
 * the shared dev labels or of the relevance fixture's tune part scored below it.
 */
export const DEFAULT_CASCADE_LOW = CONFIG_DEFAULTS.filter.low;
/** Default of {@link FilterOptions.high} (config `filter.high`). */
export const DEFAULT_CASCADE_HIGH = CONFIG_DEFAULTS.filter.high;

export interface FilterOptions {
  /** Who decides. @default config `filter.mode` (cascade) */
  mode?: FilterMode | undefined;
  /** Local scorer, or its spec (`heuristic`, `model:PATH`). @default config `filter.scorer` (heuristic) */
  scorer?: Scorer | string | undefined;
  /**
   * Cascade: local scores strictly below this are dropped without a call. In [0, 1], at most
   * `high`. @default {@link DEFAULT_CASCADE_LOW}
   */
  low?: number | undefined;
  /** Cascade: local scores at or above this are kept without a call. In [0, 1]. @default {@link DEFAULT_CASCADE_HIGH} */
  high?: number | undefined;
  /**
   * `local` mode: scores at or above this are kept. In [0, 1]. Unset: the scorer's own (0.5 for
   * the heuristic, the stored one for a model file); the pipeline passes config `filter.threshold`.
   */
  threshold?: number | undefined;
  /** Completion token cap of the judge call. @default the endpoint's own (the pipeline passes config `stage_max_tokens.filter`) */
  maxTokens?: number | undefined;
  /** Prompt set (config `prompts`): v1 sends the answer format as gemtraj 0.2 did. @default 'v2' */
  promptSet?: PromptSet | undefined;
  /** Aborts the judge call. */
  signal?: AbortSignal | undefined;
}

/** What the filter decided for one segment: the last fields of a `segments.jsonl` record. */
export type FilterDecision = Pick<Segment, 'score' | 'keep' | 'by'> & Partial<Pick<Segment, 'labels' | 'reason'>>;

/**
 * A decision with how it was reached: the local score, and the judge call when one was made.
 * `score` is the local score, or the judge's confidence in its verdict (as P(keep)) when the
 * judge decided; {@link toSegmentRecord} clamps it into [0, 1].
 */
export interface FilterOutcome extends FilterDecision {
  /** The local scorer's score, always present (also when the judge decided). */
  local_score: number;
  /** Tokens the judge spent on this segment (absent when no call was made). */
  usage?: Usage;
  /** Model that judged, when one did. */
  model?: string;
  prompt_version?: string;
  /** Raw judge answer when it could not be parsed (`by: 'error'`), for debugging. */
  raw?: string;
}

/** The relevance judge's answer on one segment (`ok: false` when it was unusable). */
export type SegmentJudgement =
  | {
      ok: true;
      keep: boolean;
      /** The judge's stated confidence in `keep`, clamped to [0, 1]. */
      confidence: number;
      labels: SegmentLabels;
      reason: string;
      usage: Usage;
      model: string;
    }
  | { ok: false; error: string; raw: string; usage: Usage; model: string };

/**
 * Asks the LLM judge whether `text` describes a multi-step operation with a system, and for
 * the paper's labels. A bad answer is `ok: false`; endpoint failures throw.
 */
export async function judgeSegment(
  text: string,
  llm: LlmClient,
  signal?: AbortSignal,
  maxTokens?: number,
  promptSet?: PromptSet,
): Promise<SegmentJudgement> {
  const result = await llm.structured({
    stage: 'filter',
    schema: FilterAnswerSchema,
    schemaName: FILTER_SCHEMA_NAME,
    messages: buildFilterMessages(text),
    temperature: 0,
    max_tokens: maxTokens,
    fieldGuide: usesFieldGuide(promptSet),
    signal,
  });
  if (!result.ok) {
    const error = looksLikeRefusal(result.raw) ? `the judge refused: ${result.raw.trim().slice(0, 200)}` : result.error;
    return { ok: false, error, raw: result.raw, usage: result.usage, model: result.model };
  }
  const a = result.value;
  const confidence = Number.isFinite(a.confidence) ? Math.min(1, Math.max(0, a.confidence)) : 0.5;
  return {
    ok: true,
    keep: a.keep,
    confidence,
    labels: { summary: a.summary, platform: a.platform, domain: a.domain, task_category: a.task_category },
    reason: a.reason,
    usage: result.usage,
    model: result.model,
  };
}

function resolveScorer(scorer: Scorer | string | undefined): Scorer {
  if (scorer === undefined) return createScorer(CONFIG_DEFAULTS.filter.scorer);
  return typeof scorer === 'string' ? createScorer(scorer) : scorer;
}

function checkUnit(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new Error(`filter: ${name} must be in [0, 1], got ${value}`);
  return value;
}

/**
 * Decides whether to keep `segment`. `llm` is required in `llm` mode, and in `cascade` mode
 * whenever a score falls in the band [low, high).
 */
export async function filterSegment(
  segment: Pick<SegmentDraft, 'text'>,
  options: FilterOptions = {},
  llm?: LlmClient,
): Promise<FilterOutcome> {
  const mode = options.mode ?? CONFIG_DEFAULTS.filter.mode;
  const scorer = resolveScorer(options.scorer);
  const local = scorer.score(segment.text);

  if (mode === 'local') {
    const threshold = checkUnit('threshold', options.threshold ?? scorer.threshold);
    const keep = local >= threshold;
    return { score: local, local_score: local, keep, by: scorer.kind, reason: scorer.explain(segment.text) };
  }
  if (mode === 'cascade') {
    const low = checkUnit('low', options.low ?? DEFAULT_CASCADE_LOW);
    const high = checkUnit('high', options.high ?? DEFAULT_CASCADE_HIGH);
    if (low > high) throw new Error(`filter: low (${low}) must not exceed high (${high})`);
    if (local < low) {
      return { score: local, local_score: local, keep: false, by: 'cascade-low', reason: scorer.explain(segment.text) };
    }
    if (local >= high) {
      return { score: local, local_score: local, keep: true, by: 'cascade-high', reason: scorer.explain(segment.text) };
    }
  } else if (mode !== 'llm') {
    throw new Error(`filter: unknown mode "${String(mode)}": use local, llm or cascade`);
  }
  if (llm === undefined) throw new Error(`filter: mode "${mode}" needs an LLM client for score ${local.toFixed(3)}`);

  const judged = await judgeSegment(segment.text, llm, options.signal, options.maxTokens, options.promptSet);
  if (!judged.ok) {
    return {
      score: local,
      local_score: local,
      keep: false,
      by: 'error',
      reason: `judge answer unusable: ${judged.error}`,
      usage: judged.usage,
      model: judged.model,
      prompt_version: promptVersion('filter', options.promptSet),
      raw: judged.raw.slice(0, 20_000),
    };
  }
  return {
    // Score as P(keep) by the judge: confidence in "keep" or in "drop".
    score: judged.keep ? judged.confidence : 1 - judged.confidence,
    local_score: local,
    keep: judged.keep,
    by: 'llm',
    labels: judged.labels,
    reason: judged.reason,
    usage: judged.usage,
    model: judged.model,
    prompt_version: promptVersion('filter', options.promptSet),
  };
}

/** A filter bound to its options: what the pipeline uses. The scorer is resolved (and a model file loaded) once. */
export interface SegmentFilter {
  readonly scorer: Scorer;
  filter(segment: Pick<SegmentDraft, 'text'>, signal?: AbortSignal): Promise<FilterOutcome>;
}

export function createSegmentFilter(options: FilterOptions = {}, llm?: LlmClient): SegmentFilter {
  const scorer = resolveScorer(options.scorer);
  const mode = options.mode ?? CONFIG_DEFAULTS.filter.mode;
  if (mode !== 'local' && llm === undefined) throw new Error(`filter: mode "${mode}" needs an LLM client`);
  return {
    scorer,
    filter: (segment, signal) => filterSegment(segment, { ...options, scorer, signal: signal ?? options.signal }, llm),
  };
}

/** A full `segments.jsonl` record from a segment and its decision. */
export function toSegmentRecord(segment: SegmentDraft, decision: FilterDecision): Segment {
  const record: Segment = {
    id: segment.id,
    doc_id: segment.doc_id,
    index: segment.index,
    text: segment.text,
    start: segment.start,
    end: segment.end,
    score: Math.min(1, Math.max(0, decision.score)),
    keep: decision.keep,
    by: decision.by,
  };
  if (segment.heading !== undefined) record.heading = segment.heading;
  if (decision.labels !== undefined) record.labels = decision.labels;
  if (decision.reason !== undefined) record.reason = decision.reason;
  return record;
}

/**
 * Step `filter`: the relevance filter on one passage → a `segments.jsonl` record, kept or
 * dropped. A dropped segment is an output (with its score), not a rejection; the next step
 * does not accept it. An endpoint refusal drops the segment with the reason (`by: "error"`).
 */
import type { LlmClient } from '../../llm/types.js';
import type { Segment, SegmentDraft } from '../../records.js';
import { createSegmentFilter, DEFAULT_CASCADE_HIGH, DEFAULT_CASCADE_LOW, toSegmentRecord, type SegmentFilter } from '../../stages/filter.js';
import { createScorer, type Scorer } from '../../filter/scorer.js';
import type { Step } from '../step.js';
import { oneCall } from './estimate-call.js';
import type { StepOptions } from './options.js';

/** Typical relevance-judge call: instructions and labels taxonomy, a short JSON verdict. */
const JUDGE_CALL = { prompt: 700, completion: 120 };
/** Share of uncertain-band segments the LLM judge keeps, for the estimate. */
const BAND_KEEP_RATE = 0.5;

export function filterStep(options: StepOptions['filter'], llm: LlmClient | undefined): Step<SegmentDraft, Segment> {
  const mode = options.mode ?? 'cascade';
  // Built on first use: counting a run directory's funnel needs the step, not a model.
  let built: SegmentFilter | undefined;
  const filter = (): SegmentFilter => (built ??= createSegmentFilter(options, mode === 'local' ? undefined : llm));
  const low = options.low ?? DEFAULT_CASCADE_LOW;
  const high = options.high ?? DEFAULT_CASCADE_HIGH;
  const threshold = options.threshold ?? 0.5;
  let scorer: Scorer | undefined;
  const scorerOf = (): Scorer => (scorer ??= typeof options.scorer === 'object' ? options.scorer : createScorer(options.scorer ?? 'heuristic'));
  return {
    name: 'filter',
    input: 'segment_draft',
    output: 'segment',
    store: 'segments',
    keyOf: (draft) => draft.id,
    sourceOf: (draft) => ({ doc_id: draft.doc_id, segment_id: draft.id }),
    async run(draft, context) {
      return { kind: 'out', records: [toSegmentRecord(draft, await filter().filter(draft, context.signal))] };
    },
    onRefused: (draft, reason) => ({ kind: 'out', records: [{ ...draft, score: 0, keep: false, by: 'error', reason: reason.message }] }),
    tally: (segment) => [segment.keep ? 'kept' : 'dropped', `by:${segment.by}`],
    estimate(item) {
      const draft = item.record as SegmentDraft;
      const score = scorerOf().score(draft.text);
      const inBand = mode === 'llm' || (mode === 'cascade' && score >= low && score < high);
      if (inBand) return oneCall(item, JUDGE_CALL, BAND_KEEP_RATE);
      const keep = mode === 'local' ? score >= threshold : score >= high;
      return { calls: 0, prompt_tokens: 0, completion_tokens: 0, out: keep ? [{ ...draft, keep: true }] : [] };
    },
  };
}

/**
 * Steps `decontaminate` (segments, before the filter) and `decontaminate_trajectories` (before
 * validation): records that share a long word sequence with a benchmark text are rejected with
 * check `contaminated`, naming the benchmark file (`ref`) and the shared span (`span`). See
 * dedup/benchmark-index.ts for the rule. Pure and order-free: recomputed on resume.
 */
import { benchmarkIndex, type BenchmarkIndex, type ContaminationHit } from '../../dedup/benchmark-index.js';
import type { Reason, SegmentDraft, Trajectory } from '../../records.js';
import type { Step } from '../step.js';
import { trajectorySource } from './common.js';

/** Check id of a contaminated record's rejection. */
export const CONTAMINATED_CHECK = 'contaminated';

export interface DecontaminateOptions {
  /** Benchmark files (JSONL, JSON or text). */
  files: readonly string[];
  /** Words in a shared sequence. */
  n: number;
}

function reason(hit: ContaminationHit, path?: string): Reason {
  return { check: CONTAMINATED_CHECK, ...(path !== undefined ? { path } : {}), message: `shares "${hit.span}" with benchmark ${hit.file}`, ref: hit.file, span: hit.span };
}

export function decontaminateSegmentsStep(options: DecontaminateOptions): Step<SegmentDraft, SegmentDraft> {
  // Loaded on first use: counting a run directory's funnel builds the step, not the index.
  const index = (): BenchmarkIndex => benchmarkIndex(options.files, options.n);
  return {
    name: 'decontaminate',
    input: 'segment_draft',
    output: 'segment_draft',
    keyOf: (draft) => draft.id,
    sourceOf: (draft) => ({ doc_id: draft.doc_id, segment_id: draft.id }),
    run(draft) {
      const hit = index().find(draft.text);
      return hit === undefined ? { kind: 'out', records: [draft] } : { kind: 'reject', reasons: [reason(hit)] };
    },
    estimate: (item) => ({ calls: 0, prompt_tokens: 0, completion_tokens: 0, out: index().find((item.record as SegmentDraft).text) === undefined ? [item.record] : [] }),
  };
}

/** The texts of a trajectory a benchmark could have leaked into, with their paths. */
function* trajectoryTexts(t: Trajectory): Generator<[string, string]> {
  for (const [i, m] of t.messages.entries()) {
    if (typeof m.content === 'string' && m.content !== '') yield [`messages[${i}].content`, m.content];
    if (m.role === 'assistant') for (const [j, call] of (m.tool_calls ?? []).entries()) yield [`messages[${i}].tool_calls[${j}].function.arguments`, call.function.arguments];
  }
  for (const [i, tool] of t.tools.entries()) if (tool.function.description !== undefined) yield [`tools[${i}].function.description`, tool.function.description];
}

export function decontaminateTrajectoriesStep(options: DecontaminateOptions): Step<Trajectory, Trajectory> {
  const index = (): BenchmarkIndex => benchmarkIndex(options.files, options.n);
  return {
    name: 'decontaminate_trajectories',
    input: 'trajectory',
    output: 'trajectory',
    keyOf: (t) => t.id,
    sourceOf: trajectorySource,
    run(trajectory) {
      for (const [path, text] of trajectoryTexts(trajectory)) {
        const hit = index().find(text);
        if (hit !== undefined) return { kind: 'reject', reasons: [reason(hit, path)] };
      }
      return { kind: 'out', records: [trajectory] };
    },
  };
}

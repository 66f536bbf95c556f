/**
 * Step `dedup`: exact and near-duplicate segments, before the relevance filter so that a
 * repeated passage is neither judged nor extracted twice. A duplicate is a rejection with check
 * `duplicate_segment` naming the kept segment it repeats (`ref`).
 *
 * The step is `ordered`: the engine calls it one document at a time in input order, so the
 * segment kept from a group is always the first in input order, whatever the concurrency, and
 * a rerun decides the same. Its index lives in the run directory (`dedup.sqlite`, see
 * dedup/segment-index.ts): a resumed run remembers what earlier sessions kept; memory stays
 * flat for millions of segments. Without a run directory (estimates) the index is in memory.
 */
import type { SegmentDraft } from '../../records.js';
import { SegmentIndex, type DedupSettings, type DedupVerdict } from '../../dedup/segment-index.js';
import type { Reason } from '../../records.js';
import type { Step } from '../step.js';

/** Check id of a duplicate segment's rejection. */
export const DUPLICATE_CHECK = 'duplicate_segment';

/** The rejection reason of a duplicate: what it repeats (`ref`) and how close it is. */
export function duplicateReason(verdict: Extract<DedupVerdict, { duplicate: true }>, threshold: number): Reason {
  const message =
    verdict.kind === 'exact'
      ? `repeats segment ${verdict.of} (same words)`
      : `near-duplicate of segment ${verdict.of} (estimated Jaccard similarity ${verdict.similarity.toFixed(2)} ≥ ${threshold})`;
  return { check: DUPLICATE_CHECK, message, ref: verdict.of };
}

export function dedupStep(settings: DedupSettings, indexFile: string | undefined): Step<SegmentDraft, SegmentDraft> {
  let index: SegmentIndex | undefined;
  const open = (): SegmentIndex => (index ??= new SegmentIndex(indexFile ?? ':memory:', settings));
  const decide = (draft: SegmentDraft) => open().check(draft.id, draft.text);
  return {
    name: 'dedup',
    input: 'segment_draft',
    output: 'segment_draft',
    ordered: true,
    keyOf: (draft) => draft.id,
    sourceOf: (draft) => ({ doc_id: draft.doc_id, segment_id: draft.id }),
    run(draft) {
      const verdict = decide(draft);
      return verdict.duplicate ? { kind: 'reject', reasons: [duplicateReason(verdict, settings.threshold)] } : { kind: 'out', records: [draft] };
    },
    // The estimate sees real segments: duplicates are not judged or extracted.
    estimate: (item) => ({ calls: 0, prompt_tokens: 0, completion_tokens: 0, out: decide(item.record as SegmentDraft).duplicate ? [] : [item.record] }),
    flush() {
      index?.flush();
    },
    close() {
      index?.close();
      index = undefined;
    },
  };
}

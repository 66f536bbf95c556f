/** Step `segment`: a document → its passages (pure; recomputed on resume). */
import type { Document, SegmentDraft } from '../../records.js';
import { segmentDocument } from '../../stages/segment.js';
import type { Step } from '../step.js';
import type { StepOptions } from './options.js';

export function segmentStep(options: StepOptions['segment']): Step<Document, SegmentDraft> {
  const expand = (doc: Document): SegmentDraft[] => segmentDocument(doc, options);
  return {
    name: 'segment',
    input: 'document',
    output: 'segment_draft',
    // Pure and quick: run in input order, so that the dedup step after it can be.
    ordered: true,
    keyOf: (doc) => doc.id,
    sourceOf: (doc) => ({ doc_id: doc.id }),
    textOf: (draft) => draft.text,
    expand,
    run(doc) {
      const drafts = expand(doc);
      if (drafts.length === 0) return { kind: 'reject', reasons: [{ check: 'segment_empty', message: 'no text left after removing markup' }] };
      return { kind: 'out', records: drafts };
    },
    estimate: (item) => ({ calls: 0, prompt_tokens: 0, completion_tokens: 0, out: expand(item.record as Document) }),
  };
}

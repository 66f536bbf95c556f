/** Step `extract`: a kept segment → its workflows and tools (one call). */
import type { LlmClient } from '../../llm/types.js';
import type { Extraction, Segment } from '../../records.js';
import { extractSegment } from '../../stages/extract.js';
import type { Step } from '../step.js';
import { fromStage, needLlm } from './common.js';
import { oneCall } from './estimate-call.js';
import type { StepOptions } from './options.js';

/** Share of extractions that succeed, for the estimate. */
const EXTRACT_PASS_RATE = 0.85;

export function extractStep(options: StepOptions['extract'], llm: LlmClient | undefined): Step<Segment, Extraction> {
  return {
    name: 'extract',
    input: 'segment',
    output: 'extraction',
    store: 'extractions',
    accepts: (segment) => segment.keep,
    keyOf: (segment) => segment.id,
    sourceOf: (segment) => ({ doc_id: segment.doc_id, segment_id: segment.id }),
    async run(segment, context) {
      const outcome = await extractSegment(segment, { ...options, signal: context.signal }, needLlm(llm, 'extract'));
      return fromStage(outcome, (value, warnings) => ({ ...value, meta: { ...value.meta, warnings } }));
    },
    estimate: (item) => oneCall(item, { prompt: 1200, completion: 2200 }, EXTRACT_PASS_RATE),
  };
}

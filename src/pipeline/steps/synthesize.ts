/** Step `synthesize`: a kept segment → one trajectory, in one call to a Trajectory Synthesizer. */
import type { LlmClient } from '../../llm/types.js';
import { trajectoryId, type Segment, type Trajectory } from '../../records.js';
import { synthesizeTrajectory } from '../../stages/synthesize.js';
import type { Step } from '../step.js';
import { fromStage, needLlm } from './common.js';
import { oneCall } from './estimate-call.js';
import type { StepOptions } from './options.js';

const SYNTHESIZED_TOKENS = 10_000;

export function synthesizeStep(options: StepOptions['synthesize'], llm: LlmClient | undefined): Step<Segment, Trajectory> {
  return {
    name: 'synthesize',
    input: 'segment',
    output: 'trajectory',
    store: 'raw',
    accepts: (segment) => segment.keep,
    keyOf: (segment) => trajectoryId(segment.id, 0),
    sourceOf: (segment) => ({ doc_id: segment.doc_id, segment_id: segment.id }),
    run: async (segment, context) => fromStage(await synthesizeTrajectory(segment, { ...options, signal: context.signal }, needLlm(llm, 'synthesize'))),
    estimate: (item) => oneCall(item, { prompt: 100, completion: SYNTHESIZED_TOKENS }, 1, SYNTHESIZED_TOKENS),
  };
}

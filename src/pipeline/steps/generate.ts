/** Step `generate`: one workflow → one whole multi-turn trajectory, in a single teacher call. */
import type { LlmClient } from '../../llm/types.js';
import type { Trajectory } from '../../records.js';
import { generateTrajectory } from '../../stages/generate.js';
import type { Step } from '../step.js';
import { fromStage, needLlm } from './common.js';
import { oneCall } from './estimate-call.js';
import type { StepOptions } from './options.js';
import type { WorkflowTask } from './workflows.js';

/** Typical generated trajectory, in tokens of JSON. */
export const GENERATED_TOKENS = 7000;

export function generateStep(options: StepOptions['generate'], llm: LlmClient | undefined): Step<WorkflowTask, Trajectory> {
  return {
    name: 'generate',
    input: 'workflow',
    output: 'trajectory',
    store: 'raw',
    keyOf: (task) => task.id,
    sourceOf: (task) => ({ ...task.extraction.source, workflow_index: task.workflowIndex }),
    async run(task, context) {
      if (context.sourceText === undefined) {
        const segmentId = task.extraction.source.segment_id ?? task.extraction.id;
        return { kind: 'reject', reasons: [{ check: 'source_missing', message: `segment ${segmentId} not found in the segments file` }] };
      }
      const input = { extraction: task.extraction, workflowIndex: task.workflowIndex, sourceText: context.sourceText };
      return fromStage(await generateTrajectory(input, { ...options, signal: context.signal }, needLlm(llm, 'generate')));
    },
    // The prompt carries the workflow and its tools (~800 tokens) besides the text.
    estimate: (item) => oneCall(item, { prompt: 2400 + 800, completion: GENERATED_TOKENS }, 1, GENERATED_TOKENS),
  };
}

/**
 * Step `judge`: the LLM judge (R1–R3 of the paper, R4 rule faithfulness with a source text).
 * A failed required rubric rejects; a failed optional one is kept as a warning.
 */
import type { LlmClient } from '../../llm/types.js';
import type { Trajectory } from '../../records.js';
import { judgeTrajectory } from '../../stages/judge.js';
import type { Step, StoreName } from '../step.js';
import { needLlm, trajectorySource, withMeta } from './common.js';
import { oneCall } from './estimate-call.js';
import type { StepOptions } from './options.js';

export function judgeStep(options: StepOptions['judge'], llm: LlmClient | undefined, store?: StoreName): Step<Trajectory, Trajectory> {
  return {
    name: 'judge',
    input: 'trajectory',
    output: 'trajectory',
    store,
    keyOf: (trajectory) => trajectory.id,
    sourceOf: trajectorySource,
    async run(trajectory, context) {
      const result = await judgeTrajectory(trajectory, { ...options, sourceText: context.sourceText, signal: context.signal }, needLlm(llm, 'judge'));
      if (!result.ok) return { kind: 'reject', reasons: result.reasons, raw: result.raw };
      const warnings = [...(trajectory.meta?.warnings ?? []), ...result.warnings];
      // The judge's reasons are kept on passing records too: what it checked is evidence.
      const judged = { judge: result.verdict, judge_reasons: result.explanations };
      return { kind: 'out', records: [withMeta(trajectory, warnings.length > 0 ? { ...judged, warnings } : judged)] };
    },
    estimate: (item) => oneCall(item, { prompt: 1000, completion: 400 }, 1),
  };
}

/**
 * Step `refine`: a trajectory rewritten harder. It never rejects data: a rewrite that fails,
 * is refused or does not pass the rule checks keeps the original, with `meta.refine_fallback`
 * saying why (GEM keeps the pre-refinement trajectory).
 */
import type { LlmClient } from '../../llm/types.js';
import type { Reason, Trajectory } from '../../records.js';
import { chooseRefined, refineTrajectory } from '../../stages/refine.js';
import type { Step } from '../step.js';
import { needLlm, trajectorySource, withMeta } from './common.js';
import { oneCall } from './estimate-call.js';
import type { StepOptions } from './options.js';

const REFINED_TOKENS = 11_000;

export function refineStep(
  options: StepOptions['refine'],
  llm: LlmClient | undefined,
  validate: (trajectory: Trajectory) => { errors: Reason[] },
): Step<Trajectory, Trajectory> {
  return {
    name: 'refine',
    input: 'trajectory',
    output: 'trajectory',
    store: 'refined',
    keyOf: (trajectory) => trajectory.id,
    sourceOf: trajectorySource,
    async run(trajectory, context) {
      if (context.sourceText === undefined) {
        return { kind: 'reject', reasons: [{ check: 'source_missing', message: `segment ${trajectory.source.segment_id ?? '(none)'} not found in the segments file` }] };
      }
      const refined = await refineTrajectory(trajectory, context.sourceText, { ...options, signal: context.signal }, needLlm(llm, 'refine'));
      return { kind: 'out', records: [chooseRefined(trajectory, refined, validate)] };
    },
    onRefused: (trajectory, reason) => ({ kind: 'out', records: [withMeta(trajectory, { refine_fallback: [reason] })] }),
    // `truncated`: the rewrite was cut off at the completion cap (named in the end-of-run summary).
    tally: (trajectory) => {
      const fallback: unknown = trajectory.meta?.refine_fallback;
      if (fallback === undefined) return ['refined'];
      const truncated = Array.isArray(fallback) && fallback.some((r: { check?: unknown }) => r?.check === 'refine_truncated');
      return truncated ? ['fallback', 'truncated'] : ['fallback'];
    },
    estimate: (item) => oneCall(item, { prompt: 2800 + 800, completion: REFINED_TOKENS }, 1, REFINED_TOKENS),
  };
}

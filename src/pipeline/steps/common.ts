/** Small helpers the step files share. */
import type { LlmClient } from '../../llm/types.js';
import type { Reason, Trajectory } from '../../records.js';
import type { StageOutcome } from '../../stages/types.js';
import type { StepOutcome } from '../step.js';

/** A stage's outcome as a step's: one record out, or a rejection with the raw answer. */
export function fromStage<T>(outcome: StageOutcome<T>, withWarnings?: (value: T, warnings: Reason[]) => T): StepOutcome<T> {
  if (!outcome.ok) return { kind: 'reject', reasons: outcome.reasons, raw: outcome.raw };
  const value = withWarnings !== undefined && outcome.warnings.length > 0 ? withWarnings(outcome.value, outcome.warnings) : outcome.value;
  return { kind: 'out', records: [value] };
}

/** A copy of the trajectory with `extra` merged into its meta. */
export function withMeta(trajectory: Trajectory, extra: Record<string, unknown>): Trajectory {
  return { ...trajectory, meta: { ...trajectory.meta, ...extra } };
}

/** The model client, or a clear error when a step that calls a model was built without one. */
export function needLlm(llm: LlmClient | undefined, step: string): LlmClient {
  if (llm === undefined) throw new Error(`step "${step}" needs a model endpoint`);
  return llm;
}

/** Provenance of a trajectory for its rejections. */
export const trajectorySource = (t: Trajectory): Trajectory['source'] => t.source;

/** Characters to tokens, the estimate's rule of thumb (4 characters a token). */
export const tokensOf = (chars: number): number => Math.ceil(chars / 4);

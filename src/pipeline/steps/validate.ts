/**
 * Step `validate`: the rule checks (pure, fast; recomputed on resume). Errors reject; warnings
 * are kept on the trajectory in `meta.warnings`.
 */
import type { Trajectory } from '../../records.js';
import { validateTrajectory, type ValidateOptions } from '../../validate/index.js';
import type { Step, StoreName } from '../step.js';
import { trajectorySource, withMeta } from './common.js';

export function validateStep(options: ValidateOptions, store?: StoreName): Step<Trajectory, Trajectory> {
  return {
    name: 'validate',
    input: 'trajectory',
    output: 'trajectory',
    store,
    keyOf: (trajectory) => trajectory.id,
    sourceOf: trajectorySource,
    run(trajectory) {
      const result = validateTrajectory(trajectory, options);
      if (result.errors.length > 0) return { kind: 'reject', reasons: result.errors };
      const warnings = [...(trajectory.meta?.warnings ?? []), ...result.warnings];
      return { kind: 'out', records: [result.warnings.length > 0 ? withMeta(trajectory, { warnings }) : trajectory] };
    },
  };
}

import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, ConfigSchema, type Config } from '../src/config.js';
import { fingerprintDiff, runFingerprint } from '../src/pipeline/run-json.js';

const prompts = { synthesize: 'synthesize-v1' };
const defaults = runFingerprint('synthesize', CONFIG_DEFAULTS as Config, prompts);

describe('run fingerprint', () => {
  it('holds synthesize.repaired_calls: changing it is a settings change', () => {
    const warn = runFingerprint('synthesize', ConfigSchema.parse({}), prompts);
    const reject = runFingerprint('synthesize', ConfigSchema.parse({ synthesize: { repaired_calls: 'reject' } }), prompts);
    expect(warn.synthesize).toEqual({ repaired_calls: 'warn' });
    expect(fingerprintDiff(warn, reject, defaults)).toEqual(['synthesize']);
  });
  it('a setting added since a run was made matches only at its default', () => {
    const { synthesize: _added, ...before } = runFingerprint('synthesize', ConfigSchema.parse({}), prompts);
    expect(fingerprintDiff(before, runFingerprint('synthesize', ConfigSchema.parse({}), prompts), defaults)).toEqual([]);
    const reject = runFingerprint('synthesize', ConfigSchema.parse({ synthesize: { repaired_calls: 'reject' } }), prompts);
    expect(fingerprintDiff(before, reject, defaults)).toEqual(['synthesize']);
    // Without the defaults every missing key differs (the strict comparison).
    expect(fingerprintDiff(before, runFingerprint('synthesize', ConfigSchema.parse({}), prompts))).toEqual(['synthesize']);
  });
  it('a run filtered by an earlier heuristic or band is flagged on resume: its segments were decided differently', () => {
    const current = runFingerprint('run', CONFIG_DEFAULTS as Config, prompts);
    // As a 0.2 run wrote it: the defaults of then (filter.low 0.2) and no scorer version.
    const earlier = { ...current, filter: { mode: 'cascade', scorer: 'heuristic', low: 0.2, high: 0.8, threshold: 0.5 } };
    expect(fingerprintDiff(earlier, current, runFingerprint('run', CONFIG_DEFAULTS as Config, prompts))).toEqual(['filter']);
    // Same band set explicitly, still another scorer.
    const sameBand = { ...current, filter: { ...CONFIG_DEFAULTS.filter } };
    expect(fingerprintDiff(sameBand, current)).toEqual(['filter']);
    // A trained model has no heuristic version; the same settings resume.
    const model = ConfigSchema.parse({ filter: { scorer: 'model:m.json' } });
    expect(runFingerprint('run', model, prompts).filter).toEqual(model.filter);
    expect(fingerprintDiff(runFingerprint('run', model, prompts), runFingerprint('run', model, prompts))).toEqual([]);
  });
});

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
});

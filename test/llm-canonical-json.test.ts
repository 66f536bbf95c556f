import { describe, expect, it } from 'vitest';
import { canonicalJson, frozenForKeys, plainJson, rememberJson } from '../src/llm/canonical-json.js';

/** A deterministic pseudo-random JSON-like value: strings with escapes, nested objects and arrays, undefined members. */
function randomValue(seed: number, depth = 0): unknown {
  let s = seed;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const leaf = (): unknown => {
    const r = next();
    if (r < 0.3) return `text "${Math.floor(next() * 1e6)}"\n\\ é 🙂 \u0001`;
    if (r < 0.45) return next() < 0.5 ? -0 : next() * 1e6;
    if (r < 0.55) return next() < 0.5;
    if (r < 0.62) return null;
    if (r < 0.68) return undefined;
    return r < 0.7 ? Number.NaN : 'plain';
  };
  if (depth > 3 || next() < 0.3) return leaf();
  if (next() < 0.4) return Array.from({ length: Math.floor(next() * 4) }, (_, i) => randomValue(seed * 31 + i + 1, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of ['role', 'content', 'b', 'a', '10', '2', 'Zed', 'tool_calls'].filter(() => next() < 0.6)) out[key] = randomValue(seed * 17 + key.length, depth + 1);
  return out;
}

describe('rememberJson', () => {
  it('gives the same canonical and plain JSON as computing each alone', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const value = randomValue(seed);
      if (typeof value !== 'object' || value === null) continue;
      const copy: unknown = structuredClone(value);
      const canonical = canonicalJson(copy);
      const plain = JSON.stringify(copy);
      rememberJson(value);
      expect(canonicalJson(value)).toBe(canonical);
      expect(plainJson(value)).toBe(plain);
    }
  });

  it('shares frozen values and leaves class instances and toJSON to the separate paths', () => {
    const format = frozenForKeys({ type: 'json_schema', json_schema: { name: 'x', strict: true } });
    const messages = [{ role: 'user', content: 'hi' }, { when: new Date(0) }, { toJSON: () => 'custom' }];
    const copy = [{ role: 'user', content: 'hi' }, { when: new Date(0) }, { toJSON: () => 'custom' }];
    rememberJson(messages);
    expect(canonicalJson(messages)).toBe(canonicalJson(copy));
    expect(plainJson(messages)).toBe(JSON.stringify(copy));
    const withFrozen = { response_format: format, messages: [{ role: 'system', content: 'x' }] };
    const expected = canonicalJson(structuredClone(withFrozen));
    rememberJson(withFrozen);
    expect(canonicalJson(withFrozen)).toBe(expected);
    expect(plainJson(withFrozen)).toBe(JSON.stringify(withFrozen));
  });
});

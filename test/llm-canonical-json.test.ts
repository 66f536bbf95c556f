import { describe, expect, it } from 'vitest';
import { cacheKey } from '../src/llm/cache.js';
import { createHash } from 'node:crypto';
import { canonicalJson, EncodedStrings, encodePlain, frozenForKeys, hashCanonical, plainJson } from '../src/llm/canonical-json.js';

/** A deterministic pseudo-random JSON-like value: strings with escapes, nested objects and arrays, undefined members. */
function randomValue(seed: number, depth = 0): unknown {
  let s = seed;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const leaf = (): unknown => {
    const r = next();
    if (r < 0.3) return `text "${Math.floor(next() * 1e6)}"\n\\ é 🙂 \u0001 \ud800`.repeat(next() < 0.3 ? 20 : 1);
    if (r < 0.45) return next() < 0.5 ? -0 : next() * 1e6;
    if (r < 0.55) return next() < 0.5;
    if (r < 0.62) return null;
    if (r < 0.68) return undefined;
    return r < 0.7 ? Number.NaN : 'plain';
  };
  if (depth > 3 || next() < 0.3) return leaf();
  if (next() < 0.4) return Array.from({ length: Math.floor(next() * 4) }, (_, i) => randomValue(seed * 31 + i + 1, depth + 1));
  const out: Record<string, unknown> = {};
  const keys = ['role', 'content', 'b', 'a', 'Zed', 'tool_calls', 'é', 'B', '_x'];
  // Array-index keys (listed first by V8 whatever the insertion order) in some of them.
  if (seed % 3 === 0) keys.push('10', '2');
  for (const key of keys.filter(() => next() < 0.6)) out[key] = randomValue(seed * 17 + key.length, depth + 1);
  return out;
}

/** The member-by-member definition: keys sorted at every depth, undefined members dropped. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item: unknown) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`);
  return `{${members.join(',')}}`;
}

describe('canonicalJson', () => {
  it('equals the member-by-member definition on random data (escapes, -0, NaN, undefined, index keys)', () => {
    for (let seed = 1; seed <= 600; seed++) {
      const value = randomValue(seed);
      expect(canonicalJson(value)).toBe(reference(value));
    }
  });

  it('keeps its meaning for what is not plain data: toJSON, class instances, functions, __proto__ keys, frozen values', () => {
    const format = frozenForKeys({ type: 'json_schema', json_schema: { name: 'x', strict: true, schema: { b: 1, a: [2, { d: 3, c: 4 }] } } });
    const tricky = JSON.parse('{"__proto__": {"z": 1, "y": 2}, "k": 1}') as unknown;
    const values: unknown[] = [
      [{ role: 'user', content: 'hi' }, { when: new Date(0) }, { toJSON: () => 'custom' }],
      { f: () => 1, b: [() => 2, undefined] },
      tricky,
      { response_format: format, messages: [{ role: 'system', content: 'x' }] },
      [format, { inner: format }],
      Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
    ];
    for (const value of values) expect(canonicalJson(value)).toBe(reference(value));
    expect(canonicalJson(tricky)).toBe('{"__proto__":{"y":2,"z":1},"k":1}');
    expect(plainJson(format)).toBe(JSON.stringify(format));
    expect(plainJson([{ b: 1, a: 'é' }])).toBe('[{"b":1,"a":"é"}]');
  });

  it('hashCanonical hashes the bytes of canonicalJson, and encodePlain gives the bytes of JSON.stringify, long strings shared', () => {
    const names = ['messages', 'a', 'missing', 'b', 'tools'];
    for (let seed = 1; seed <= 300; seed++) {
      const value = randomValue(seed);
      const strings = new EncodedStrings();
      const hash = createHash('sha256');
      hashCanonical(hash, value, strings);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(reference(value)).digest('hex'));
      // A body made of the same value, reusing the bytes the key encoded, and one of its own.
      const record = { b: value, messages: [value, { content: 'x'.repeat(300) + String(seed) }], a: seed % 2 === 0 ? undefined : 'é', tools: () => 1 };
      const picked = { messages: record.messages, a: record.a, b: record.b };
      expect(encodePlain(record, names, strings).toString('utf8')).toBe(JSON.stringify(picked));
      expect(encodePlain(record, names, new EncodedStrings()).equals(Buffer.from(JSON.stringify(picked), 'utf8'))).toBe(true);
    }
    // A member changed after its bytes were made is encoded again.
    const message = { role: 'user', content: 'a'.repeat(300) };
    const strings = new EncodedStrings();
    expect(encodePlain({ messages: [message] }, ['messages'], strings).toString('utf8')).toBe(JSON.stringify({ messages: [message] }));
    message.content = `${'b'.repeat(300)}\n"é"`;
    expect(encodePlain({ messages: [message] }, ['messages'], strings).toString('utf8')).toBe(JSON.stringify({ messages: [message] }));
    // Not plain data is JSON.stringify's to write: toJSON, class instances, frozen values.
    const format = frozenForKeys({ z: 1, a: [{ y: 2, x: 'é'.repeat(400) }] });
    const odd = { when: new Date(0), custom: { toJSON: () => 'custom' }, nan: Number.NaN, list: [undefined, () => 1, format] };
    expect(encodePlain({ odd, format }, ['odd', 'format'], new EncodedStrings()).toString('utf8')).toBe(JSON.stringify({ odd, format }));
  });

  it('gives the cache keys it always gave (run directories depend on them)', () => {
    // Keys computed by the member-by-member implementation before the native fast path.
    const format = frozenForKeys({
      type: 'json_schema',
      json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { b: { type: 'string' }, a: { type: 'array', items: { type: 'number' } } }, required: ['b', 'a'], additionalProperties: false } },
    });
    const messages = [
      { role: 'system', content: 'You are "careful".\nRules: é 🙂 \u0001 \\ done' },
      { role: 'user', content: 'Book JFK → LAX' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'book', arguments: '{"from":"JFK","to":"LAX"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
    ];
    const tools = [{ type: 'function', function: { name: 'book', description: 'Books', parameters: { type: 'object', properties: { to: { type: 'string' }, from: { type: 'string' } }, required: ['from', 'to'] } } }];
    expect(cacheKey({ model: 'm', messages, tools, response_format: format, temperature: 0.7, max_tokens: 512, seed: 3, sampleIndex: 1 })).toBe(
      '08b456ca3a89bc9e711cc7667224e0cc41a041c9b36bf026c829220686479256',
    );
    expect(cacheKey({ model: 'gpt-x', messages: messages.slice(0, 2), reasoning_effort: 'low' })).toBe('6f60484edb851ef01dbf4f748db6a5ee99029bd77cedefeb9a3e03c04f669ecb');
  });
});

/**
 * The argument matcher of `gemtraj eval` on BFCL-like cases, with the real BFCL multi-turn
 * function docs (shared data) as the schemas: defaults, type tolerance, key order, parallel
 * calls in any order, BFCL's string normalisation.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callMatches, callsMatch, namesMatch, objectsMatch, standardizeString, valuesMatch, type ParsedCall } from '../src/eval/ast-match.js';
import type { JsonSchemaObject } from '../src/records.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const FUNC_DOC = join(SHARED_DATA, 'tool-use/bfcl-multi-turn/func_doc');

/** BFCL function docs by name; their `"type": "dict"` is read as an object schema. */
const docs = new Map<string, JsonSchemaObject>();
for (const file of readdirSync(FUNC_DOC)) {
  for (const line of readFileSync(join(FUNC_DOC, file), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const doc = JSON.parse(line) as { name: string; parameters: JsonSchemaObject };
    docs.set(doc.name, { ...doc.parameters, type: 'object' });
  }
}
const schema = (name: string): JsonSchemaObject | undefined => docs.get(name);
const call = (name: string, args: Record<string, unknown> | undefined): ParsedCall => ({ name, arguments: args });
const match = (e: ParsedCall, a: ParsedCall): boolean => callMatches(e, a, schema(e.name)).ok;

describe('BFCL function docs', () => {
  it('are read', () => {
    expect(docs.size).toBeGreaterThan(100);
    expect(schema('tail')).toMatchObject({ properties: { lines: { default: 10 } } });
  });
});

describe('argument match', () => {
  it('counts an optional argument equal to its declared default as absent, both ways', () => {
    expect(match(call('tail', { file_name: 'log.txt' }), call('tail', { file_name: 'log.txt', lines: 10 }))).toBe(true);
    expect(match(call('tail', { file_name: 'log.txt', lines: 10 }), call('tail', { file_name: 'log.txt' }))).toBe(true);
    expect(match(call('post_tweet', { content: 'hi' }), call('post_tweet', { content: 'hi', tags: [], mentions: [] }))).toBe(true);
    // ls(a=True) is not ls(): the default of `a` is false.
    expect(match(call('ls', { a: true }), call('ls', {}))).toBe(false);
    expect(match(call('tail', { file_name: 'log.txt' }), call('tail', { file_name: 'log.txt', lines: 20 }))).toBe(false);
  });

  it('reads null for an optional argument as absent, but not for a required one', () => {
    expect(match(call('find', { path: 'docs' }), call('find', { path: 'docs', name: null }))).toBe(true);
    expect(match(call('cd', { folder: 'docs' }), call('cd', { folder: null }))).toBe(false);
  });

  it('is type-tolerant where values are equal: 1 and 1.0', () => {
    const wire = JSON.parse('{"file_name": "a.txt", "lines": 20.0}') as Record<string, unknown>;
    expect(match(call('tail', { file_name: 'a.txt', lines: 20 }), call('tail', wire))).toBe(true);
    expect(valuesMatch(1, 1.0, { type: 'number' }).ok).toBe(true);
    // but a number is not its string
    expect(match(call('tail', { file_name: 'a.txt', lines: 20 }), call('tail', { file_name: 'a.txt', lines: '20' }))).toBe(false);
    expect(valuesMatch(true, 'true', undefined).ok).toBe(false);
  });

  it('ignores key order of objects, at any depth', () => {
    expect(match(call('mv', { source: 'a.pdf', destination: 'temp' }), call('mv', { destination: 'temp', source: 'a.pdf' }))).toBe(true);
    expect(objectsMatch({ a: { x: 1, y: [1, 2] } }, { a: { y: [1, 2], x: 1 } }, undefined).ok).toBe(true);
  });

  it('keeps array order (BFCL list checker)', () => {
    expect(valuesMatch(['a', 'b'], ['b', 'a'], { type: 'array' }).ok).toBe(false);
    expect(valuesMatch([1, 2], [1, 2, 3], { type: 'array' }).ok).toBe(false);
  });

  it('standardises strings as BFCL does unless exact', () => {
    expect(standardizeString('April 1, 2024')).toBe(standardizeString('april 1 2024'));
    expect(match(call('cd', { folder: 'Documents' }), call('cd', { folder: 'documents' }))).toBe(true);
    expect(callMatches(call('cd', { folder: 'Documents' }), call('cd', { folder: 'documents' }), schema('cd'), { strings: 'exact' }).ok).toBe(false);
    expect(match(call('cd', { folder: 'temp' }), call('cd', { folder: 'tmp' }))).toBe(false);
  });

  it('fails a missing required, an extra and a wrong argument, and says which', () => {
    const missing = callMatches(call('mv', { source: 'a', destination: 'b' }), call('mv', { source: 'a' }), schema('mv'));
    expect(missing).toEqual({ ok: false, problem: expect.stringContaining('mv.destination: missing') as string });
    const extra = callMatches(call('cd', { folder: 'a' }), call('cd', { folder: 'a', force: true }), schema('cd'));
    expect(extra).toEqual({ ok: false, problem: expect.stringContaining('unexpected argument') as string });
    const wrong = callMatches(call('cd', { folder: 'a' }), call('cd', { folder: 'b' }), schema('cd'));
    expect(wrong).toEqual({ ok: false, problem: 'cd.folder: "b" ≠ "a"' });
  });

  it('fails another function and unreadable arguments', () => {
    expect(match(call('cd', { folder: 'a' }), call('ls', {}))).toBe(false);
    expect(match(call('cd', { folder: 'a' }), call('cd', undefined))).toBe(false);
  });
});

describe('parallel calls', () => {
  const expected = [call('cd', { folder: 'temp' }), call('mkdir', { dir_name: 'new' }), call('cd', { folder: 'docs' })];

  it('match in any order, same-name calls included', () => {
    const shuffled = [expected[2], expected[0], expected[1]] as ParsedCall[];
    expect(callsMatch(expected, shuffled, schema).ok).toBe(true);
  });

  it('need the same number of calls', () => {
    expect(callsMatch(expected, expected.slice(0, 2), schema)).toEqual({ ok: false, problem: '2 call(s), expected 3' });
  });

  it('fail when one argument of one call is wrong, naming it', () => {
    const wrong = [expected[0], expected[1], call('cd', { folder: 'doc' })] as ParsedCall[];
    const r = callsMatch(expected, wrong, schema);
    expect(r.ok).toBe(false);
  });

  it('names compare as a multiset', () => {
    expect(namesMatch(['cd', 'mkdir', 'cd'], ['mkdir', 'cd', 'cd'])).toBe(true);
    expect(namesMatch(['cd', 'mkdir', 'cd'], ['mkdir', 'mkdir', 'cd'])).toBe(false);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat, readForeign } from '../src/formats/detect.js';
import { toHermes } from '../src/formats/hermes.js';
import { toOpenAI } from '../src/formats/openai.js';
import { toSftPair } from '../src/formats/sft-pairs.js';
import { toShareGPT } from '../src/formats/sharegpt.js';
import type { ImportedRecord } from '../src/formats/types.js';
import { richTrajectory, simpleTrajectory } from './formats-fixture.js';

describe('detectFormat', () => {
  it('recognises every format', () => {
    const t = richTrajectory();
    expect(detectFormat(t)).toBe('gemtraj');
    expect(detectFormat(toOpenAI(t))).toBe('openai');
    expect(detectFormat(toShareGPT(simpleTrajectory()))).toBe('sharegpt');
    expect(detectFormat(toHermes(t))).toBe('hermes');
    expect(detectFormat(toSftPair(t, 'text'))).toBe('sft-pairs');
    expect(detectFormat({ task_id: 1, traj: [] })).toBe('taubench');
    expect(detectFormat({ text: 'x' })).toBeUndefined();
    expect(detectFormat(42)).toBeUndefined();
  });
});

describe('readForeign', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-detect-'));
  async function all(file: string, from: Parameters<typeof readForeign>[1] = 'auto'): Promise<ImportedRecord[]> {
    const out: ImportedRecord[] = [];
    for await (const r of readForeign(file, from)) out.push(r);
    return out;
  }
  it('reads JSONL, reporting bad lines with their numbers', async () => {
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, [JSON.stringify(toOpenAI(richTrajectory())), '{not json', '', JSON.stringify({ text: 'x' }), JSON.stringify(richTrajectory()), JSON.stringify({ messages: 3 })].join('\n'));
    const r = await all(file);
    expect(r.map((x) => [x.line, x.result.ok])).toEqual([[1, true], [2, false], [4, false], [5, true], [6, false]]);
    expect(r[1]?.result).toMatchObject({ error: expect.stringContaining('invalid JSON') });
    expect(r[0]?.result.ok && r[0].result.trajectory.source.doc_id).toBe('mixed.jsonl:1');
  });
  it('reads a JSON array with 1-based element numbers, and a forced format', async () => {
    const file = join(dir, 'arr.json');
    writeFileSync(file, JSON.stringify([toShareGPT(simpleTrajectory()), { conversations: [{ from: 'alien', value: 'x' }] }], null, 2));
    const r = await all(file, 'sharegpt');
    expect(r.map((x) => [x.line, x.result.ok])).toEqual([[1, true], [2, false]]);
  });
  it('throws only for an unreadable file', async () => {
    await expect(all(join(dir, 'missing.jsonl'))).rejects.toThrow();
  });
});

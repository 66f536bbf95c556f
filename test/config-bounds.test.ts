/** Absurd values are refused with the allowed range, before any work (exit 2). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';

const work = mkdtempSync(join(tmpdir(), 'gemtraj-bounds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('bounds', () => {
  const corpus = join(work, 'c.jsonl');
  writeFileSync(corpus, '{"id":"a","text":"hello"}\n');
  const base = ['run', corpus, '--out', join(work, 'out'), '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--estimate'];

  it.each([
    [['--concurrency', '1e9'], /concurrency.*4096/],
    [['--shard', '0/100000000000000000000'], /shard.*n <= 1000000/],
  ])('%j is refused with its range', async (flags, message) => {
    const result = await runMain([...base, ...flags]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('segment.min_chars larger than max_chars is refused', async () => {
    const config = join(work, 'gemtraj.yaml');
    writeFileSync(config, 'segment:\n  max_chars: 1000\n  min_chars: 5000\n');
    const result = await runMain([...base, '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/segment\.min_chars must not exceed segment\.max_chars/);
  });
});

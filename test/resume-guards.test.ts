/**
 * What a rerun on an existing --out refuses, before it touches anything:
 * - a different corpus (changed content, or another file) — named with the flag that overrides;
 *   the same corpus spelled `./in/x.jsonl` or `in/x.jsonl`, or copied elsewhere, resumes
 *   without duplicating a record;
 * - a non-empty folder that is not a gemtraj run directory (its files are left as they were).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { corpusLines } from '../src/testing/corpus.js';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';
import { readLines } from './helpers/cli.js';

let server: MockServer;
const work = mkdtempSync(join(tmpdir(), 'gemtraj-guards-'));
const cwd = process.cwd();

beforeAll(async () => {
  process.env.GEMTRAJ_GUARDS_KEY = 'sk-test-guards';
  server = await startMockServer({ handler: scriptedTeacher() });
});
afterAll(async () => {
  process.chdir(cwd);
  await server.close();
  rmSync(work, { recursive: true, force: true });
  delete process.env.GEMTRAJ_GUARDS_KEY;
});

const run = (input: string, out: string, ...extra: string[]) =>
  runMain(['run', input, '--out', out, '--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_GUARDS_KEY', '--quiet', ...extra]);

function corpus(name: string, seed: number, badLine = true): string {
  const file = join(work, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${[...corpusLines({ count: 3, seed }), ...(badLine ? ['{"id": "broken", '] : [])].join('\n')}\n`);
  return file;
}

describe('resume on another corpus', () => {
  it('is refused when the file changed, naming --allow-input-change, and allowed with it', async () => {
    const input = corpus('a/x.jsonl', 1);
    const out = join(work, 'run-a');
    expect((await run(input, out)).code).toBe(0);
    corpus('a/x.jsonl', 2);
    const refused = await run(input, out);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/another corpus .*--allow-input-change/s);
    const forced = await run(input, out, '--allow-input-change');
    expect(forced.code).toBe(0);
  });

  it('is refused for another file, accepted for a copy of the same one', async () => {
    const input = corpus('b/x.jsonl', 3);
    const out = join(work, 'run-b');
    expect((await run(input, out)).code).toBe(0);
    expect((await run(corpus('b/other.jsonl', 4), out)).code).toBe(2);
    copyFileSync(input, join(work, 'b', 'copy.jsonl'));
    const again = await run(join(work, 'b', 'copy.jsonl'), out);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });

  it('treats ./in/x.jsonl and in/x.jsonl as one corpus: no record twice', async () => {
    corpus('c/in/x.jsonl', 5);
    process.chdir(join(work, 'c'));
    try {
      expect((await run('in/x.jsonl', 'out')).code).toBe(0);
      const before = readFileSync(join(work, 'c', 'out', 'rejected.jsonl'), 'utf8');
      expect((await run('./in/x.jsonl', 'out')).code).toBe(0);
      expect((await run(relative(join(work, 'c'), join(work, 'c', 'in', 'x.jsonl')).replace('in/', 'in/../in/'), 'out')).code).toBe(0);
      expect(readFileSync(join(work, 'c', 'out', 'rejected.jsonl'), 'utf8')).toBe(before);
      const runJson = JSON.parse(readFileSync(join(work, 'c', 'out', 'run.json'), 'utf8')) as { counts: { balanced: boolean } };
      expect(runJson.counts.balanced).toBe(true);
      expect(readLines(join(work, 'c', 'out', 'rejected.jsonl')).filter((r) => r.stage === 'input')).toHaveLength(1);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('run --out into a folder that is not a run directory', () => {
  it('is refused and the folder is left as it was', async () => {
    const input = corpus('d/x.jsonl', 6);
    const out = join(work, 'not-a-run');
    mkdirSync(out);
    writeFileSync(join(out, 'trajectories.jsonl'), '{"mine": true}\n');
    const result = await run(input, out);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not empty and is not a gemtraj run directory.*trajectories\.jsonl/);
    expect(readdirSync(out)).toEqual(['trajectories.jsonl']);
    expect(readFileSync(join(out, 'trajectories.jsonl'), 'utf8')).toBe('{"mine": true}\n');
  });

  it('accepts a run that died before its first run.json, leaving only empty run files (a disk already full)', async () => {
    const input = corpus('f/x.jsonl', 5);
    const out = join(work, 'died-early');
    mkdirSync(out);
    for (const name of ['trajectories.jsonl', 'rejected.jsonl', 'progress.jsonl']) writeFileSync(join(out, name), '');
    const result = await run(input, out);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(out, 'run.json'))).toBe(true);
  });

  it('accepts an empty folder and an existing run', async () => {
    const input = corpus('e/x.jsonl', 7);
    const out = join(work, 'empty');
    mkdirSync(out);
    expect((await run(input, out)).code).toBe(0);
    expect((await run(input, out)).code).toBe(0);
    expect(existsSync(join(out, 'run.json'))).toBe(true);
  });
});

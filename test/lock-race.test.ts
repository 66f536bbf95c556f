/**
 * Taking over a stale run.lock is atomic: several processes that open the same directory in
 * the same millisecond, over a lock left by a dead process, end with exactly one holder.
 * Real processes (the built dist/), released together by a shared start time.
 * Needs the build (`npm test` builds first); skipped with a message when dist/ is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli } from '../src/testing/cli-harness.js';

const RUN_DIR_JS = join(builtCli(), '..', '..', 'pipeline', 'run-dir.js');
const HAVE_DIST = existsSync(RUN_DIR_JS);
if (!HAVE_DIST) console.warn(`lock-race.test.ts skipped: ${RUN_DIR_JS} is missing — run \`npm run build\` first (npm test does).`);

const work = mkdtempSync(join(tmpdir(), 'gemtraj-lockrace-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Opens the run directory at `startAt` (busy-waiting for the same millisecond) and prints
 * got/busy; a holder keeps the directory until the test has every answer (it closes stdin).
 */
const CHILD = `
const { RunDirectory } = await import(process.argv[1]);
const [dir, startAt] = [process.argv[2], Number(process.argv[3])];
while (Date.now() < startAt) {}
const d = new RunDirectory(dir);
try {
  await d.open();
  process.stdout.write('got\\n');
  process.stdin.resume();
  process.stdin.on('end', () => d.close());
} catch (e) {
  process.stdout.write((/in use/.test(String(e.message)) ? 'busy' : 'error: ' + e.message) + '\\n');
}
`;

/** Starts a child; resolves its answer, and `release` lets a holder go. */
function startChild(dir: string, startAt: number): { answer: Promise<string>; release: () => void; done: Promise<void> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, pathToFileURL(RUN_DIR_JS).href, dir, String(startAt)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const answer = new Promise<string>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('close', () => resolve(out.trim()));
  });
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { answer, release: () => child.stdin.end(), done };
}

describe.skipIf(!HAVE_DIST)('stale run.lock takeover', () => {
  it('gives the directory to exactly one of several processes starting together', { timeout: 120_000 }, async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    expect(dead).toBeGreaterThan(0);
    const trials = 4;
    const outcomes: string[][] = [];
    for (let t = 0; t < trials; t++) {
      const dir = join(work, `t${t}`);
      spawnSync('mkdir', ['-p', dir]);
      writeFileSync(join(dir, 'run.lock'), JSON.stringify({ pid: dead, host: hostname() }));
      const startAt = Date.now() + 1_500;
      const children = [0, 1, 2, 3].map(() => startChild(dir, startAt));
      outcomes.push(await Promise.all(children.map((c) => c.answer)));
      for (const c of children) c.release();
      await Promise.all(children.map((c) => c.done));
    }
    for (const o of outcomes) expect(o.filter((x) => x.startsWith('error'))).toEqual([]);
    expect(outcomes.map((o) => o.filter((x) => x === 'got').length)).toEqual(Array(trials).fill(1));
  });
});

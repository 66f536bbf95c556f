/**
 * A full disk, for real: `--out` on a small tmpfs (the run files and the SQLite cache on it).
 * The run stops with one message naming the file; the mount is enlarged and the same command
 * resumes to exactly the dataset of an uninterrupted run. Needs `mount -t tmpfs` (root on
 * Linux); skipped with a message elsewhere — test/disk-full.test.ts covers the same with a
 * device double everywhere.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { corpusLines, generateCorpus } from '../src/testing/corpus.js';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { contentById, documentOutcomes, duplicateProblems, readRunFiles, unaccounted } from '../src/testing/run-files.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const work = mkdtempSync(join(tmpdir(), 'gemtraj-tmpfs-'));
const mountPoint = join(work, 'mnt');
mkdirSync(mountPoint);

function mount(options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mountPoint], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CAN_MOUNT = process.platform === 'linux' && mount('size=64k');
if (CAN_MOUNT) execFileSync('umount', [mountPoint]);
else console.warn('disk-full-tmpfs.test.ts skipped: cannot mount a tmpfs here (needs root on Linux)');

describe.skipIf(!CAN_MOUNT)('gemtraj run with --out on a small tmpfs', () => {
  const CORPUS = { count: 16, seed: 11, narrative: 0.1, markers: { '[[judge-fail]]': 0.25, '[[bad-args]]': 0.25 } };
  const DOC_IDS = [...generateCorpus(CORPUS)].map((d) => d.id);
  let server: MockServer;
  let corpus: string;
  let reference: ReturnType<typeof readRunFiles>;
  let total = 0;
  let referenceRequests = 0;

  const run = (out: string) =>
    runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_TMPFS_KEY', '--concurrency', '3', '--quiet']);

  beforeAll(async () => {
    process.env.GEMTRAJ_TMPFS_KEY = 'sk-test-tmpfs';
    server = await startMockServer({ handler: scriptedTeacher() });
    corpus = join(work, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
    const out = join(work, 'reference');
    const result = await run(out);
    referenceRequests = server.count;
    expect(result.code).toBe(0);
    reference = readRunFiles(out);
    for (const f of readdirSync(out)) total += statSync(join(out, f)).size;
  });

  afterAll(async () => {
    await server.close();
    delete process.env.GEMTRAJ_TMPFS_KEY;
    try {
      execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    } catch {
      // not mounted
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('stops naming the file, and resumes after the mount is enlarged to the uninterrupted dataset', async () => {
    // Half of what the run needs, in whole pages.
    const size = Math.max(4096, Math.floor(total / 2 / 4096) * 4096);
    expect(mount(`size=${size}`)).toBe(true);
    const out = join(mountPoint, 'run');
    const stopped = await run(out);
    expect(stopped.code).not.toBe(0);
    const messages = stopped.stderr.split('\n').filter((l) => l.startsWith('gemtraj: '));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/no space left on the device writing \S+/);
    expect(messages[0]).toContain(out);

    execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]);
    const resumed = await run(out);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const files = readRunFiles(out);
    expect(duplicateProblems(files)).toEqual([]);
    expect(unaccounted(documentOutcomes(files, DOC_IDS))).toEqual([]);
    expect(contentById(files.final)).toEqual(contentById(reference.final));
    const byStageId = (r: Record<string, unknown>): string => `${String(r.stage)}:${String(r.id)}`;
    expect(contentById(files.rejected, byStageId)).toEqual(contentById(reference.rejected, byStageId));
    expect(new Set(files.progress.map((r) => r.id))).toEqual(new Set(DOC_IDS));
  });
  it('pays no request twice: answers that arrive after the disk filled are kept for the rerun (the run reserve)', async () => {
    try {
      execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    } catch {
      // not mounted
    }
    // Half of what the run needs plus the 8 MiB the run holds back until the disk fills.
    const size = Math.max(4096, Math.floor(total / 2 / 4096) * 4096) + 8 * 2 ** 20;
    expect(mount(`size=${size}`)).toBe(true);
    const out = join(mountPoint, 'reserve');
    const before = server.count;
    const stopped = await run(out);
    expect(stopped.code, stopped.stderr).not.toBe(0);
    expect(stopped.stderr).toMatch(/no space left on the device writing/);
    // The stop is recorded (the reserve made room for run.json), not left at "running".
    expect((JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { status: string }).status).toBe('failed');
    expect(existsSync(join(out, 'run.reserve'))).toBe(false);
    execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]);
    const resumed = await run(out);
    expect(resumed.code, resumed.stderr).toBe(0);
    // Every request of the stopped run and its rerun together: as many as one uninterrupted run.
    expect(server.count - before).toBe(referenceRequests);
    expect(contentById(readRunFiles(out).final)).toEqual(contentById(reference.final));
  });

  it('names the file whichever one fills the disk first, databases included', async () => {
    // Tiny mounts fill at the first files: the cache and dedup index (SQLite said only
    // "database or disk is full"), then the first records.
    for (const size of [16, 48, 96, 128, 160, 256].map((k) => k * 1024)) {
      try {
        execFileSync('umount', [mountPoint], { stdio: 'ignore' });
      } catch {
        // not mounted
      }
      expect(mount(`size=${size}`)).toBe(true);
      const out = join(mountPoint, `run-${size}`);
      const stopped = await run(out);
      if (stopped.code === 0) continue; // fitted after all
      const messages = stopped.stderr.split('\n').filter((l) => l.startsWith('gemtraj: '));
      expect(messages, `${size}: ${stopped.stderr}`).toHaveLength(1);
      expect(messages[0], `${size}`).toMatch(/no space left on the device writing \S+|cannot write \S+/);
      expect(messages[0], `${size}`).toContain(out);
    }
  });
});

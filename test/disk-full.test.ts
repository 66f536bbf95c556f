/**
 * A full disk loses nothing. `writeSync` is replaced by a double that models a device with a
 * byte budget, like a small tmpfs: the write that crosses the budget is short (it writes what
 * fits and says so), the next one fails with ENOSPC. Then:
 * - a JSONL writer continues short writes, and on ENOSPC cuts the partial line off, names the
 *   file and refuses further lines;
 * - `gemtraj run` stops with one message that names the file, and a rerun after "space is
 *   freed" gives exactly the dataset of an uninterrupted run, every document accounted for,
 *   at several fill levels.
 * test/disk-full-tmpfs.test.ts repeats the run scenario on a real tmpfs where it can mount one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

/** The device double: bytes left for files under `root` (undefined: unlimited). */
const disk = vi.hoisted(() => ({
  root: undefined as string | undefined,
  left: undefined as number | undefined,
  /** At most this many bytes per writeSync call (short writes without a full disk). */
  chunk: undefined as number | undefined,
  paths: new Map<number, string>(),
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync = ((path: realFs.PathLike, ...rest: unknown[]) => {
    const fd = (fs.openSync as (...a: unknown[]) => number)(path, ...rest);
    disk.paths.set(fd, String(path));
    return fd;
  }) as typeof fs.openSync;
  const writeSync = ((fd: number, data: unknown, ...rest: unknown[]): number => {
    const path = disk.paths.get(fd);
    const watched = path !== undefined && disk.root !== undefined && path.startsWith(disk.root);
    if (!watched || !(data instanceof Uint8Array) || (disk.left === undefined && disk.chunk === undefined)) {
      return (fs.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
    }
    const offset = typeof rest[0] === 'number' ? rest[0] : 0;
    const length = typeof rest[1] === 'number' ? rest[1] : data.length - offset;
    if (disk.left !== undefined && disk.left <= 0) throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    let n = Math.min(length, disk.chunk ?? length);
    if (disk.left !== undefined) n = Math.min(n, disk.left);
    const written = fs.writeSync(fd, data, offset, n);
    if (disk.left !== undefined) disk.left -= written;
    return written;
  }) as typeof fs.writeSync;
  // A file removed gives its space back, as on a real device (the run's reserve relies on it).
  const rmSync = ((path: realFs.PathLike, ...rest: unknown[]) => {
    const watched = disk.left !== undefined && disk.root !== undefined && String(path).startsWith(disk.root);
    let size = 0;
    try {
      if (watched) size = fs.statSync(path).isFile() ? fs.statSync(path).size : 0;
    } catch {
      // gone already
    }
    (fs.rmSync as (...a: unknown[]) => void)(path, ...rest);
    if (watched && disk.left !== undefined) disk.left += size;
  }) as typeof fs.rmSync;
  return { ...fs, openSync, writeSync, rmSync, default: { ...fs, openSync, writeSync, rmSync } };
});

// Imported after the mock so that they use the double.
const { JsonlWriter } = await import('../src/io/jsonl.js');
const { DiskFullError } = await import('../src/io/durable.js');
const { runMain } = await import('../src/testing/cli-harness.js');
const { corpusLines, generateCorpus } = await import('../src/testing/corpus.js');
const { startMockServer } = await import('../src/testing/mock-server.js');
const { scriptedTeacher } = await import('../src/testing/scripted-teacher.js');
const { contentById, documentOutcomes, duplicateProblems, readRunFiles, unaccounted } = await import('../src/testing/run-files.js');

const work = mkdtempSync(join(tmpdir(), 'gemtraj-diskfull-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  disk.root = undefined;
  disk.left = undefined;
  disk.chunk = undefined;
});

describe('JsonlWriter on a device that writes short and fills up', () => {
  it('continues short writes until the line is whole', () => {
    const file = join(work, 'short.jsonl');
    disk.root = file;
    disk.chunk = 7;
    const w = new JsonlWriter(file);
    const records = Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, text: 'x'.repeat(i * 13) }));
    for (const r of records) w.write(r);
    w.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual(records);
  });

  it('on ENOSPC cuts the partial line, names the file and refuses further lines', () => {
    const file = join(work, 'full.jsonl');
    const w = new JsonlWriter(file);
    w.write({ id: 'a' });
    disk.root = file;
    disk.left = 10; // part of the next line fits
    let error: unknown;
    try {
      w.write({ id: 'b', text: 'a line longer than ten bytes' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DiskFullError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/no space left.*rerun the same command/s);
    expect(readFileSync(file, 'utf8')).toBe('{"id":"a"}\n');
    disk.left = undefined;
    expect(() => w.write({ id: 'c' })).toThrow(DiskFullError);
    w.close();
    expect(readFileSync(file, 'utf8')).toBe('{"id":"a"}\n');
  });
});

describe('gemtraj run on a disk that fills up', () => {
  const CORPUS = { count: 16, seed: 11, narrative: 0.1, markers: { '[[judge-fail]]': 0.25, '[[bad-args]]': 0.25 } };
  const DOC_IDS = [...generateCorpus(CORPUS)].map((d) => d.id);
  let server: Awaited<ReturnType<typeof startMockServer>>;
  let corpus: string;
  let reference: ReturnType<typeof readRunFiles>;
  /** Bytes the uninterrupted run wrote to its JSONL files and run.json. */
  let total = 0;

  const run = (out: string) =>
    runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_DISKFULL_KEY', '--concurrency', '3', '--quiet']);

  beforeAll(async () => {
    process.env.GEMTRAJ_DISKFULL_KEY = 'sk-test-diskfull';
    server = await startMockServer({ handler: scriptedTeacher() });
    corpus = join(work, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
    const out = join(work, 'reference');
    const result = await run(out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    reference = readRunFiles(out);
    expect(reference.rejected.length).toBeGreaterThan(0);
    for (const f of ['segments.jsonl', 'extractions.jsonl', 'trajectories.raw.jsonl', 'trajectories.refined.jsonl', 'trajectories.jsonl', 'rejected.jsonl', 'progress.jsonl']) {
      if (realFs.existsSync(join(out, f))) total += realFs.statSync(join(out, f)).size;
    }
  });

  afterAll(async () => {
    await server.close();
    delete process.env.GEMTRAJ_DISKFULL_KEY;
  });

  it.each([0.25, 0.5, 0.8])('stops with one message naming the file at %s of the space, and a rerun gives the uninterrupted dataset', async (fraction) => {
    const out = join(work, `full-${fraction}`);
    disk.root = out;
    disk.left = Math.floor(total * fraction);
    const stopped = await run(out);
    expect(stopped.code).not.toBe(0);
    const messages = stopped.stderr.split('\n').filter((l) => l.startsWith('gemtraj: '));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(new RegExp(`no space left on the device writing ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S+`));

    // Space freed: the same command resumes.
    disk.left = undefined;
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
    expect((JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { counts: { balanced: boolean } }).counts.balanced).toBe(true);
  });
});

/**
 * The engine's group marks: a finished document's progress mark is written only once the
 * records of its group are synced to the device, and the syncs run off the event loop (libuv's
 * pool) instead of blocking it. `node:fs`'s asynchronous `fsync` is intercepted here: each call
 * waits until the test releases it, or fails with EIO.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runSteps, type SourceItem } from '../src/pipeline/engine.js';
import { RunDirectory } from '../src/pipeline/run-dir.js';
import type { Step } from '../src/pipeline/step.js';
import type { Segment } from '../src/records.js';

/** fsync calls held by the test: the descriptor and the callback that completes the call. */
const held: Array<{ fd: number; done: (error: NodeJS.ErrnoException | null) => void }> = [];
/** When set, every fsync fails at once with this code (of the files whose path ends with `failFile`, when that is set too). */
let failWith: string | undefined;
let failFile: string | undefined;

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const fsync = (fd: number, done: (error: NodeJS.ErrnoException | null) => void): void => {
    if (failWith !== undefined && (failFile === undefined || real.readlinkSync(`/proc/self/fd/${fd}`).endsWith(failFile))) {
      const error: NodeJS.ErrnoException = Object.assign(new Error(`${failWith}: i/o error, fsync`), { code: failWith });
      setImmediate(() => done(error));
      return;
    }
    held.push({ fd, done });
  };
  return { ...real, default: { ...real, fsync }, fsync };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-engine-sync-'));
  held.length = 0;
  failWith = undefined;
  failFile = undefined;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function* source(ids: string[]): AsyncGenerator<SourceItem> {
  for (const id of ids) yield { kind: 'record', id, record: { id } };
}

/** One stored segment per document. */
const store: Step<{ id: string }, Segment> = {
  name: 'filter',
  input: 'document',
  output: 'segment',
  store: 'segments',
  keyOf: (s) => s.id,
  sourceOf: (d) => ({ doc_id: d.id }),
  run: async (d) => {
    await Promise.resolve();
    return { kind: 'out', records: [{ id: `${d.id}#0`, doc_id: d.id, index: 0, start: 0, end: 1, text: 'x', score: 1, keep: true, by: 'heuristic' }] };
  },
};

const marks = (): string[] => {
  try {
    return readFileSync(join(dir, 'progress.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
  } catch {
    return [];
  }
};

describe('group marks after asynchronous syncs', () => {
  it('writes no mark until its records are synced, and the event loop runs meanwhile', async () => {
    const rd = new RunDirectory(dir);
    await rd.open();
    const ids = Array.from({ length: 70 }, (_, i) => `d${i}`);
    const run = runSteps(source(ids), [store] as Step[], rd, { mode: 'test', itemConcurrency: 4 });
    // The first group (64 documents) asks for its sync; the run goes on without waiting.
    await vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(marks()).toEqual([]);
    // Released: the group is marked; the last documents form a second group at the end.
    while (held.length > 0 || marks().length < ids.length) {
      for (const h of held.splice(0)) h.done(null);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await run;
    expect(marks().sort()).toEqual([...ids].sort());
    rd.close();
  });

  it('stops the run on a failed sync, naming the file, and marks nothing of that group', async () => {
    failWith = 'EIO';
    const rd = new RunDirectory(dir);
    await rd.open();
    const ids = Array.from({ length: 10 }, (_, i) => `d${i}`);
    await expect(runSteps(source(ids), [store] as Step[], rd, { mode: 'test', itemConcurrency: 4 })).rejects.toThrow(/segments\.jsonl/);
    expect(marks()).toEqual([]);
    // The writer refuses further records: what was written may not be on the device.
    expect(() => rd.state.segments.write({ id: 'late', doc_id: 'late', index: 0, start: 0, end: 1, text: 'x', score: 1, keep: true, by: 'heuristic' })).toThrow(/segments\.jsonl/);
    rd.close();
  });

  /** Completes the held syncs every few milliseconds until `run` settles. */
  async function releasing<T>(run: Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      for (const h of held.splice(0)) h.done(null);
    }, 5);
    try {
      return await run;
    } finally {
      clearInterval(timer);
    }
  }

  it('after a failed group, settles only once the later groups\' syncs have (nothing closed under them)', async () => {
    failWith = 'EIO';
    failFile = 'segments.jsonl';
    const rd = new RunDirectory(dir);
    await rd.open();
    // Odd documents are rejected: rejected.jsonl has a sync of its own in every group, held.
    const step: Step<{ id: string }, Segment> = {
      ...store,
      run: async (d) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (Number(d.id.slice(1)) % 2 === 1) return { kind: 'reject', reasons: [{ check: 'odd', message: 'odd' }] };
        return store.run(d, { sourceText: undefined, signal: new AbortController().signal });
      },
    };
    const ids = Array.from({ length: 70 }, (_, i) => `d${i}`);
    let settled = false;
    const run = runSteps(source(ids), [step] as Step[], rd, { mode: 'test', itemConcurrency: 4 }).finally(() => {
      settled = true;
    });
    run.catch(() => undefined);
    // Group 1 (64 documents) and the last group (6) each hold the rejected file's sync; their
    // segments syncs fail. The failure is known once group 1's held sync completes.
    await vi.waitFor(() => expect(held.length).toBe(2));
    held.shift()?.done(null);
    await new Promise((resolve) => setTimeout(resolve, 30));
    // The last group's sync is still in flight: the run must not settle (its caller would close the file under it).
    expect(settled).toBe(false);
    for (const h of held.splice(0)) h.done(null);
    await expect(run).rejects.toThrow(/segments\.jsonl/);
    expect(() => rd.close()).not.toThrow();
    expect(marks()).toEqual([]);
  });

  it('on an input error, finishes what is in flight and its syncs before the error goes up', async () => {
    const rd = new RunDirectory(dir);
    await rd.open();
    async function* broken(): AsyncGenerator<SourceItem> {
      for (let i = 0; i < 80; i++) yield { kind: 'record', id: `d${i}`, record: { id: `d${i}` } };
      throw new Error('input broke');
    }
    await expect(releasing(runSteps(broken(), [store] as Step[], rd, { mode: 'test', itemConcurrency: 80 }))).rejects.toThrow(/input broke/);
    // Nothing runs on after the error: no sync starts while the caller goes on to close.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(held.length).toBe(0);
    expect(() => rd.close()).not.toThrow();
    // What finished before the error stays finished.
    expect(marks().length).toBe(80);
  });

  it('closes nothing under a sync in flight: the run returns only after its syncs settle', async () => {
    const rd = new RunDirectory(dir);
    await rd.open();
    let settled = false;
    const run = runSteps(source(['a', 'b']), [store] as Step[], rd, { mode: 'test', itemConcurrency: 2 }).then(() => {
      settled = true;
    });
    await vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    for (const h of held.splice(0)) h.done(null);
    await run;
    expect(marks().sort()).toEqual(['a', 'b']);
    rd.close();
  });
});

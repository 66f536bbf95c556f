/**
 * The adaptive item window (src/pipeline/admission.ts) and the runner limit it sets
 * (BoundedRunner.setLimit): shrink while the event loop is busy, grow back when it is idle and
 * the reader waits, never stop work already started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { minWindow, nextWindow, startAdmission, type Windowed } from '../src/pipeline/admission.js';
import { runSteps, type SourceItem } from '../src/pipeline/engine.js';
import { BoundedRunner } from '../src/pipeline/pool.js';
import { RunDirectory } from '../src/pipeline/run-dir.js';
import type { Step } from '../src/pipeline/step.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BoundedRunner.setLimit', () => {
  it('lowering the limit lets tasks in flight finish and starts no new one until below it', async () => {
    const runner = new BoundedRunner(3);
    const release: Array<() => void> = [];
    let started = 0;
    const task = (): Promise<void> => {
      started++;
      return new Promise((resolve) => release.push(resolve));
    };
    for (let i = 0; i < 3; i++) await runner.run(task);
    runner.setLimit(1);
    const fourth = runner.run(task);
    await tick();
    expect(started).toBe(3);
    expect(runner.full).toBe(true);
    release.shift()?.();
    await tick();
    expect(started).toBe(3); // two still run: above the new limit of 1
    release.shift()?.();
    release.shift()?.();
    await fourth;
    expect(started).toBe(4);
    expect(runner.full).toBe(false);
    release.shift()?.();
    await runner.drain();
  });

  it('raising the limit starts a waiting task at once', async () => {
    const runner = new BoundedRunner(1);
    const release: Array<() => void> = [];
    const task = (): Promise<void> => new Promise((resolve) => release.push(resolve));
    await runner.run(task);
    const second = runner.run(task);
    await tick();
    expect(runner.inFlight).toBe(1);
    runner.setLimit(2);
    await second;
    expect(runner.inFlight).toBe(2);
    for (const r of release.splice(0)) r();
    await runner.drain();
    expect(() => runner.setLimit(0)).toThrow(RangeError);
  });
});

describe('nextWindow', () => {
  const options = { max: 512 };
  it('halves a busy window down to the minimum and doubles an idle full one up to the maximum', () => {
    expect(minWindow(options)).toBe(16);
    expect(minWindow({ max: 8 })).toBe(8);
    expect(nextWindow(512, 0.99, true, options)).toBe(256);
    expect(nextWindow(20, 1, true, options)).toBe(16);
    expect(nextWindow(16, 1, true, options)).toBe(16);
    expect(nextWindow(16, 0.5, true, options)).toBe(32);
    expect(nextWindow(400, 0.5, true, options)).toBe(512);
  });

  it('holds between the marks, and does not grow a window the reader does not fill', () => {
    expect(nextWindow(64, 0.9, true, options)).toBe(64);
    expect(nextWindow(64, 0.5, false, options)).toBe(64);
    expect(nextWindow(64, 0.96, false, options)).toBe(32);
  });
});

describe('startAdmission', () => {
  function target(full: boolean): Windowed & { limits: number[] } {
    const t = {
      limit: 512,
      full,
      limits: [] as number[],
      setLimit(limit: number) {
        t.limit = limit;
        t.limits.push(limit);
      },
    };
    return t;
  }

  it('starts at the smallest window and doubles it while the loop idles and the window is full', async () => {
    const t = target(true);
    const stop = startAdmission(t, { max: 512 }, 20);
    expect(t.limits).toEqual([16]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    stop();
    expect(t.limit).toBeGreaterThan(16);
    expect(t.limits.slice(0, 3)).toEqual([16, 32, 64]);
  });

  it('halves the window while the loop is busy', async () => {
    // Not full: an idle interval after the busy one holds the window instead of doubling it back.
    const t = target(false);
    const stop = startAdmission(t, { max: 512 }, 20);
    t.setLimit(512);
    // Busy without a break for longer than an interval: the utilization is 1 whatever the machine's load.
    const until = performance.now() + 120;
    while (performance.now() < until) {
      // spin
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    stop();
    // The first interval after the spin halves; later ones depend on what else the worker does.
    expect(t.limits.slice(0, 3)).toEqual([16, 512, 256]);
  });
});

/** A one-step pipeline over `{ id }` documents whose step is `run`. */
function docStep(run: (d: { id: string }) => unknown): Step {
  return {
    name: 'generate',
    input: 'document',
    output: 'trajectory',
    keyOf: (d: { id: string }) => d.id,
    sourceOf: (d: { id: string }) => ({ doc_id: d.id }),
    run,
  } as unknown as Step;
}

describe('the engine with adaptiveItems', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-admission-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function startedAtOnce(adaptiveItems: boolean): Promise<number> {
    let started = 0;
    const release: Array<() => void> = [];
    const wait = docStep(async (d) => {
      started++;
      await new Promise<void>((resolve) => release.push(resolve));
      return { kind: 'out', records: [{ id: `t-${d.id}` }] };
    });
    async function* source(): AsyncGenerator<SourceItem> {
      for (let i = 0; i < 200; i++) yield { kind: 'record', id: `d${i}`, record: { id: `d${i}` } };
    }
    const rd = new RunDirectory(join(dir, String(adaptiveItems)));
    await rd.open();
    const done = runSteps(source(), [wait], rd, { mode: 'test', itemConcurrency: 128, adaptiveItems, markDone: false });
    for (let i = 0; i < 20; i++) await tick();
    const atOnce = started;
    // Let everything finish: release as the items start.
    while (started < 200 || release.length > 0) {
      for (const r of release.splice(0)) r();
      await tick();
    }
    await done;
    rd.close();
    return atOnce;
  }

  it('admits the smallest window first instead of the whole configured concurrency', async () => {
    expect(await startedAtOnce(false)).toBe(128);
    expect(await startedAtOnce(true)).toBe(16);
  });

  it('stops its timer when the input fails part-way', async () => {
    const set = vi.spyOn(globalThis, 'setInterval');
    const clear = vi.spyOn(globalThis, 'clearInterval');
    try {
      const pass = docStep((d) => ({ kind: 'out', records: [{ id: `t-${d.id}` }] }));
      async function* failing(): AsyncGenerator<SourceItem> {
        yield { kind: 'record', id: 'd0', record: { id: 'd0' } };
        throw new Error('in.jsonl:2: unreadable');
      }
      const rd = new RunDirectory(join(dir, 'failing'));
      await rd.open();
      await expect(runSteps(failing(), [pass], rd, { mode: 'test', itemConcurrency: 8, adaptiveItems: true })).rejects.toThrow('unreadable');
      rd.close();
      const timer = set.mock.results.find((r) => r.type === 'return')?.value;
      expect(timer).toBeDefined();
      expect(clear).toHaveBeenCalledWith(timer);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });
});

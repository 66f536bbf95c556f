/**
 * The engine driven directly with step lists of fake steps: no CLI, no HTTP. What one runner
 * owns for every step: rejections with reasons, retryable endpoint failures (item left
 * unfinished, retried on rerun), refusals interpreted by the step, resume from stored outputs,
 * fatal stops, drops, and the funnel counted from the step list.
 */
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FatalEndpointError, RequestRejectedError, TransientEndpointError } from '../src/llm/errors.js';
import { countSteps, formatFunnel } from '../src/pipeline/counts.js';
import { runSteps, type EngineEvent, type SourceItem } from '../src/pipeline/engine.js';
import { RunDirectory } from '../src/pipeline/run-dir.js';
import { checkChain, type Step } from '../src/pipeline/step.js';
import type { Rejection, Segment } from '../src/records.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-engine-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Doc {
  id: string;
  parts: string[];
}

/** Source of documents (and one unreadable input line). */
async function* source(docs: Doc[], bad = false): AsyncGenerator<SourceItem> {
  if (bad) yield { kind: 'rejection', rejection: { stage: 'input', id: 'in.jsonl:1', reasons: [{ check: 'input_json', message: 'bad' }] } };
  for (const doc of docs) yield { kind: 'record', id: doc.id, record: doc };
}

/** A document → one draft segment per part (pure, not stored). */
const split: Step<Doc, { id: string; doc_id: string; text: string }> = {
  name: 'segment',
  input: 'document',
  output: 'segment_draft',
  keyOf: (d) => d.id,
  sourceOf: (d) => ({ doc_id: d.id }),
  textOf: (s) => s.text,
  expand: (d) => d.parts.map((text, i) => ({ id: `${d.id}#${i}`, doc_id: d.id, text })),
  run: (d) => (d.parts.length === 0 ? { kind: 'reject', reasons: [{ check: 'segment_empty', message: 'empty' }] } : { kind: 'out', records: d.parts.map((text, i) => ({ id: `${d.id}#${i}`, doc_id: d.id, text })) }),
};

/**
 * A "model" step over drafts, stored in segments.jsonl; its behaviour per text is scripted:
 * `drop` → keep false, `bad` → rejected, `flaky` → endpoint failure (once per `failures`),
 * `refuse` → refused by the endpoint, `fatal` → the endpoint is unusable.
 */
function scoreStep(calls: string[], failures = new Map<string, number>()): Step<{ id: string; doc_id: string; text: string }, Segment> {
  return {
    name: 'filter',
    input: 'segment_draft',
    output: 'segment',
    store: 'segments',
    keyOf: (s) => s.id,
    sourceOf: (s) => ({ doc_id: s.doc_id, segment_id: s.id }),
    tally: (s) => [s.keep ? 'kept' : 'dropped'],
    async run(s) {
      calls.push(s.id);
      await Promise.resolve();
      if (s.text === 'bad') return { kind: 'reject', reasons: [{ check: 'bad_text', message: 'unusable' }, { check: 'too_short', message: 'short' }], raw: 'raw answer' };
      if (s.text === 'flaky' && (failures.get(s.id) ?? 1) > 0) {
        failures.set(s.id, (failures.get(s.id) ?? 1) - 1);
        throw new TransientEndpointError('gave up after 3 attempts', 503, 3);
      }
      if (s.text === 'refuse') throw new RequestRejectedError('prompt too long', 400, 'llm_context_length');
      if (s.text === 'fatal') throw new FatalEndpointError('401 bad key', 401, 'auth');
      return { kind: 'out', records: [{ ...s, index: 0, start: 0, end: s.text.length, score: 1, keep: s.text !== 'drop', by: 'heuristic' }] };
    },
    onRefused: (s, reason) => ({ kind: 'out', records: [{ ...s, index: 0, start: 0, end: 0, score: 0, keep: false, by: 'error', reason: reason.message }] }),
  };
}

/** Kept segments → one "trajectory-ish" record each, written to the product file. */
function finishStep(calls: string[]): Step<Segment, { id: string; text: string }> {
  return {
    name: 'finish',
    input: 'segment',
    output: 'trajectory',
    store: 'final',
    accepts: (s) => s.keep,
    keyOf: (s) => `t-${s.id}`,
    sourceOf: (s) => ({ doc_id: s.doc_id, segment_id: s.id }),
    run(s, context) {
      calls.push(s.id);
      return { kind: 'out', records: [{ id: `t-${s.id}`, text: context.sourceText ?? '(none)' }] };
    },
  };
}

function lines(file: string): Array<Record<string, unknown>> {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

async function runOnce(docs: Doc[], steps: Step[], options: { bad?: boolean; events?: EngineEvent[]; ticks?: string[] } = {}) {
  const rd = new RunDirectory(dir);
  await rd.open();
  try {
    return await runSteps(source(docs, options.bad), steps, rd, {
      mode: 'test',
      itemConcurrency: 2,
      onEvent: (e) => options.events?.push(e),
      progress: { tick: (label) => options.ticks?.push(label) },
    });
  } finally {
    rd.close();
  }
}

describe('runSteps', () => {
  it('refuses a step list whose record kinds do not chain', () => {
    const calls: string[] = [];
    expect(() => checkChain([split, finishStep(calls)] as Step[])).toThrow('step "finish" takes segment records but "segment" makes segment_draft');
    expect(() => checkChain([split, split] as Step[])).toThrow(/takes document records/);
  });

  it('takes every record through the steps: outputs stored, drops, rejections with every reason, the source text carried', async () => {
    const scored: string[] = [];
    const finished: string[] = [];
    const ticks: string[] = [];
    const steps = [split, scoreStep(scored), finishStep(finished)] as Step[];
    const result = await runOnce(
      [
        { id: 'd1', parts: ['alpha', 'drop', 'bad'] },
        { id: 'd2', parts: [] },
      ],
      steps,
      { bad: true, ticks },
    );
    expect(result).toMatchObject({ itemsSeen: 3, itemsSkipped: 0, stoppedBy: undefined, interrupted: false });
    expect(lines(join(dir, 'segments.jsonl')).map((s) => [s.id, s.keep])).toEqual([
      ['d1#0', true],
      ['d1#1', false],
    ]);
    expect(lines(join(dir, 'trajectories.jsonl'))).toEqual([{ id: 't-d1#0', text: 'alpha' }]);
    const rejected = lines(join(dir, 'rejected.jsonl')) as Rejection[];
    expect(rejected.map((r) => [r.stage, r.id, r.reasons.map((x) => x.check)])).toEqual(
      expect.arrayContaining([
        ['input', 'in.jsonl:1', ['input_json']],
        ['segment', 'd2', ['segment_empty']],
        ['filter', 'd1#2', ['bad_text', 'too_short']],
      ]),
    );
    expect(rejected.find((r) => r.id === 'd1#2')).toMatchObject({ raw: 'raw answer', source: { doc_id: 'd1', segment_id: 'd1#2' } });
    expect(lines(join(dir, 'progress.jsonl')).map((p) => p.id).sort()).toEqual(['d1', 'd2']);
    expect(ticks.filter((t) => t === 'documents')).toHaveLength(3);
    expect(ticks).toContain('filter');
    expect(ticks).toContain('finish');

    // The funnel comes from the step list: every record accounted for.
    const funnel = await countSteps(dir, steps);
    expect(funnel.steps.map((s) => [s.step, s.in, s.out, s.rejected, s.dropped, s.pending])).toEqual([
      ['segment', 2, 3, 1, 0, 0],
      ['filter', 3, 2, 1, 1, 0],
      ['finish', 1, 1, 0, 0, 0],
    ]);
    expect(funnel.balanced).toBe(true);
    expect(formatFunnel(funnel)).toContain('finish');
  });

  it('an endpoint failure is a retryable rejection: the item stays unfinished and the rerun retries only it', async () => {
    const scored: string[] = [];
    const failures = new Map<string, number>();
    const steps = (): Step[] => [split, scoreStep(scored, failures), finishStep([])] as Step[];
    await runOnce([{ id: 'd1', parts: ['alpha', 'flaky'] }, { id: 'd2', parts: ['beta'] }], steps());
    const rejected = lines(join(dir, 'rejected.jsonl')) as Rejection[];
    expect(rejected).toEqual([expect.objectContaining({ stage: 'filter', id: 'd1#1', retryable: true, reasons: [{ check: 'llm_unavailable', message: 'gave up after 3 attempts' }] })]);
    expect(lines(join(dir, 'progress.jsonl')).map((p) => p.id)).toEqual(['d2']);
    const unfinished = await countSteps(dir, steps());
    expect(unfinished.retryable).toBe(1);

    scored.length = 0;
    await runOnce([{ id: 'd1', parts: ['alpha', 'flaky'] }, { id: 'd2', parts: ['beta'] }], steps());
    // d2 was done; d1#0 is read back from segments.jsonl; only the failed segment is redone.
    expect(scored).toEqual(['d1#1']);
    expect(lines(join(dir, 'rejected.jsonl'))).toEqual([]);
    expect(lines(join(dir, 'trajectories.jsonl')).map((t) => t.id).sort()).toEqual(['t-d1#0', 't-d1#1', 't-d2#0']);
    expect((await countSteps(dir, steps())).balanced).toBe(true);
  });

  it('a refusal is interpreted by the step (dropped with the reason); without onRefused it is a final rejection', async () => {
    const scored: string[] = [];
    await runOnce([{ id: 'd1', parts: ['refuse'] }], [split, scoreStep(scored), finishStep([])] as Step[]);
    expect(lines(join(dir, 'segments.jsonl'))).toEqual([expect.objectContaining({ id: 'd1#0', keep: false, by: 'error', reason: 'prompt too long' })]);

    rmSync(dir, { recursive: true, force: true });
    const plain = { ...scoreStep(scored), onRefused: undefined };
    await runOnce([{ id: 'd1', parts: ['refuse'] }], [split, plain, finishStep([])] as Step[]);
    expect(lines(join(dir, 'rejected.jsonl'))).toEqual([expect.objectContaining({ stage: 'filter', id: 'd1#0', reasons: [{ check: 'llm_context_length', message: 'prompt too long' }] })]);
    expect(lines(join(dir, 'progress.jsonl')).map((p) => p.id)).toEqual(['d1']);
  });

  it('resume: stored outputs are read back, finished items skipped, rejected records not redone', async () => {
    const scored: string[] = [];
    const finished: string[] = [];
    const steps = (): Step[] => [split, scoreStep(scored), finishStep(finished)] as Step[];
    const docs = [{ id: 'd1', parts: ['alpha', 'bad'] }];
    await runOnce(docs, steps());
    expect(scored).toEqual(['d1#0', 'd1#1']);
    // Forget that d1 finished, as after a crash between the last write and progress.jsonl.
    rmSync(join(dir, 'progress.jsonl'));
    scored.length = 0;
    finished.length = 0;
    const events: EngineEvent[] = [];
    await runOnce(docs, steps(), { events });
    expect(scored).toEqual([]);
    expect(finished).toEqual([]);
    expect(events.filter((e) => e.type === 'output' && e.final).map((e) => (e as { resumed: boolean }).resumed)).toEqual([true]);
    expect(events.some((e) => e.type === 'rejected' && e.resumed)).toBe(true);
    // A third run skips the document by id.
    const third = await runOnce(docs, steps());
    expect(third.itemsSkipped).toBe(1);
    expect(lines(join(dir, 'trajectories.jsonl'))).toHaveLength(1);
  });

  it('a fatal endpoint error stops the run with the error; work done is kept and the item is not marked done', async () => {
    const scored: string[] = [];
    const result = await runOnce([{ id: 'd1', parts: ['alpha'] }, { id: 'd2', parts: ['fatal'] }, { id: 'd3', parts: ['gamma'] }], [split, scoreStep(scored), finishStep([])] as Step[]);
    expect(result.stoppedBy).toBeInstanceOf(FatalEndpointError);
    expect(lines(join(dir, 'progress.jsonl')).map((p) => p.id)).not.toContain('d2');
    expect(lines(join(dir, 'trajectories.jsonl')).map((t) => t.id)).toContain('t-d1#0');
  });

  it('a bug in a step (any other error) is rethrown after the work in flight settles', async () => {
    const boom: Step = { ...finishStep([]), run: () => Promise.reject(new Error('step bug')) } as Step;
    await expect(runOnce([{ id: 'd1', parts: ['alpha'] }], [split, scoreStep([]), boom] as Step[])).rejects.toThrow('step bug');
  });

  it('leaves no listener on the caller\'s stop signal, however the run ends (a step bug, an input error, a clean end)', async () => {
    const abort = new AbortController();
    const run = async (input: AsyncGenerator<SourceItem>, steps: Step[]): Promise<void> => {
      const rd = new RunDirectory(dir);
      await rd.open();
      try {
        await runSteps(input, steps, rd, { mode: 'test', itemConcurrency: 2, signal: abort.signal });
      } finally {
        rd.close();
      }
    };
    const boom: Step = { ...finishStep([]), run: () => Promise.reject(new Error('step bug')) } as Step;
    await expect(run(source([{ id: 'd1', parts: ['alpha'] }]), [split, scoreStep([]), boom] as Step[])).rejects.toThrow('step bug');
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    // An ordered step's failure leaves through the reading loop, as an input error does.
    const orderedBoom = { ...split, ordered: true, run: () => { throw new Error('ordered step bug'); } } as Step;
    await expect(run(source([{ id: 'd1', parts: ['alpha'] }]), [orderedBoom, scoreStep([]), finishStep([])] as Step[])).rejects.toThrow('ordered step bug');
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    async function* unreadable(): AsyncGenerator<SourceItem> {
      yield { kind: 'record', id: 'd2', record: { id: 'd2', parts: ['beta'] } };
      throw new Error('in.jsonl:2: cannot be read');
    }
    await expect(run(unreadable(), [split, scoreStep([]), finishStep([])] as Step[])).rejects.toThrow('cannot be read');
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    await run(source([{ id: 'd3', parts: ['gamma'] }]), [split, scoreStep([]), finishStep([])] as Step[]);
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
  });

  it('many records in flight may all listen to the stop signal without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const abort = new AbortController();
    const waiting: Step = {
      ...finishStep([]),
      accepts: undefined,
      async run(s: Segment, context) {
        // What a model call does: listen for the stop signal while the request is out.
        const onAbort = (): void => undefined;
        context.signal?.addEventListener('abort', onAbort);
        await new Promise((resolve) => setTimeout(resolve, 20));
        context.signal?.removeEventListener('abort', onAbort);
        return { kind: 'out', records: [{ id: `t-${s.id}`, text: s.text }] };
      },
    } as Step;
    const rd = new RunDirectory(dir);
    await rd.open();
    const docs = Array.from({ length: 30 }, (_, i) => ({ id: `d${i}`, parts: ['alpha'] }));
    await runSteps(source(docs), [split, scoreStep([]), waiting] as Step[], rd, { mode: 'test', itemConcurrency: 30, signal: abort.signal });
    rd.close();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(lines(join(dir, 'trajectories.jsonl'))).toHaveLength(30);
  });

  it('a step with a store that makes several records is a programming error', async () => {
    const many = { ...scoreStep([]), run: (s: { id: string; doc_id: string }) => ({ kind: 'out' as const, records: [s, s] }) } as unknown as Step;
    await expect(runOnce([{ id: 'd1', parts: ['alpha'] }], [split, many] as Step[])).rejects.toThrow('has a store and made 2 records');
  });

  it('a toy step added to a list gets rejections, resume and the funnel without other edits', async () => {
    // A "dedup" step between filter and finish: drops repeated texts as duplicates.
    const seen = new Map<string, string>();
    const dedup: Step<Segment, Segment> = {
      name: 'dedup',
      input: 'segment',
      output: 'segment',
      accepts: (s) => s.keep,
      keyOf: (s) => s.id,
      sourceOf: (s) => ({ doc_id: s.doc_id, segment_id: s.id }),
      run(s) {
        const first = seen.get(s.text);
        if (first !== undefined && first !== s.id) return { kind: 'reject', reasons: [{ check: 'duplicate_segment', message: `repeats ${first}` }] };
        seen.set(s.text, s.id);
        return { kind: 'out', records: [s] };
      },
    };
    const finish = { ...finishStep([]), accepts: undefined } as Step;
    const steps = [split, scoreStep([]), dedup, finish] as Step[];
    await runOnce([{ id: 'd1', parts: ['same text'] }, { id: 'd2', parts: ['same text', 'other'] }], steps);
    const funnel = await countSteps(dir, steps);
    expect(funnel.steps.find((s) => s.step === 'dedup')).toMatchObject({ in: 3, out: 2, rejected: 1, pending: 0 });
    expect(funnel.rejections.dedup).toEqual({ duplicate_segment: 1 });
    expect(funnel.balanced).toBe(true);
  });
});

describe('ordered steps', () => {
  it('run in input order, item by item, however slow each one is, while later steps run concurrently', async () => {
    const seenBySeg: string[] = [];
    const seenByFilter: string[] = [];
    const docs: Doc[] = Array.from({ length: 12 }, (_, i) => ({ id: `d${i}`, parts: ['a', 'b'] }));
    // The ordered "segment" step takes longest on the first documents: without the order
    // guarantee, later documents would overtake them.
    const slowSplit: Step<Doc, { id: string; doc_id: string; text: string }> = {
      ...split,
      ordered: true,
      async run(d) {
        await new Promise((r) => setTimeout(r, 12 - Number(d.id.slice(1))));
        return { kind: 'out', records: d.parts.map((text, i) => ({ id: `${d.id}#${i}`, doc_id: d.id, text })) };
      },
    };
    const orderedDedup: Step<{ id: string; doc_id: string; text: string }, { id: string; doc_id: string; text: string }> = {
      name: 'dedup',
      input: 'segment_draft',
      output: 'segment_draft',
      ordered: true,
      keyOf: (s) => s.id,
      sourceOf: (s) => ({ doc_id: s.doc_id, segment_id: s.id }),
      run: (s) => {
        seenBySeg.push(s.id);
        return { kind: 'out', records: [s] };
      },
    };
    const rd = new RunDirectory(dir);
    await rd.open();
    await runSteps(source(docs), [slowSplit, orderedDedup, scoreStep(seenByFilter)] as Step[], rd, { mode: 'filter', itemConcurrency: 8 });
    rd.close();
    expect(seenBySeg).toEqual(docs.flatMap((d) => [`${d.id}#0`, `${d.id}#1`]));
    expect(seenByFilter.sort()).toEqual([...seenBySeg].sort());
  });

  it('must come first', () => {
    const late = { ...split, name: 'late', input: 'segment_draft', output: 'segment_draft', ordered: true } as unknown as Step;
    expect(() => checkChain([split as Step, late])).toThrow(/ordered step "late" must come before/);
  });
});

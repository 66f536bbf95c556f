import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Rejection, Segment } from '../src/records.js';
import { IndexedWriter, RUN_FILES, RunDirectory } from '../src/pipeline/run-dir.js';
import { computeFunnel, formatFunnel, type Funnel } from '../src/pipeline/counts.js';
import { BoundedRunner, shardOf } from '../src/pipeline/pool.js';
import { contentId } from '../src/io/documents.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-pipe-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const jsonl = (records: unknown[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join('');
const lines = (path: string): unknown[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

function segment(id: string, keep: boolean): Segment {
  const [doc] = id.split('#') as [string];
  return { id, doc_id: doc, index: Number(id.split('#')[1] ?? 0), text: `text of ${id}`, start: 0, end: 10, score: keep ? 0.9 : 0.1, keep, by: 'heuristic' };
}

function rejection(stage: Rejection['stage'], id: string, checks: string[], extra: Partial<Rejection> = {}): Rejection {
  return { stage, id, reasons: checks.map((check) => ({ check, message: `${check} happened` })), ...extra };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
describe('RunDirectory', () => {
  it('RUN_FILES are the names DESIGN.md promises', () => {
    expect(RUN_FILES).toMatchObject({
      segments: 'segments.jsonl',
      extractions: 'extractions.jsonl',
      raw: 'trajectories.raw.jsonl',
      refined: 'trajectories.refined.jsonl',
      final: 'trajectories.jsonl',
      rejected: 'rejected.jsonl',
      runJson: 'run.json',
      cache: 'cache.sqlite',
    });
  });

  it('opens a fresh (even nested, not yet existing) directory', async () => {
    const out = join(dir, 'runs', 'a', 'b');
    const rd = new RunDirectory(out);
    expect(() => rd.state).toThrow('run directory not opened');
    expect(await rd.open()).toEqual({ resumed: false, retried: 0, repaired: 0 });
    expect(existsSync(out)).toBe(true);
    expect(rd.files.final).toBe(join(out, 'trajectories.jsonl'));
    expect(rd.state.segments.ids.size).toBe(0);
    rd.close();
  });

  it('resumes: the ids already written are loaded and not written again', async () => {
    const rd = new RunDirectory(dir);
    await rd.open();
    expect(rd.state.segments.write(segment('d1#0', true))).toBe(true);
    expect(rd.state.segments.write(segment('d1#1', false))).toBe(true);
    expect(rd.state.segments.write(segment('d1#0', true))).toBe(false); // same run
    rd.reject(rejection('extract', 'd1#0', ['extract_not_procedural']));
    rd.state.progress.write({ id: 'd1', mode: 'run' });
    rd.close();
    expect(lines(rd.files.segments)).toHaveLength(2);

    const again = new RunDirectory(dir);
    expect(await again.open()).toEqual({ resumed: true, retried: 0, repaired: 0 });
    expect(again.state.segments.has('d1#0')).toBe(true);
    expect(again.state.segments.has('d1#1')).toBe(true);
    expect(again.state.progress.has('run:d1')).toBe(true);
    expect(again.state.progress.has('filter:d1')).toBe(false);
    expect(again.rejectedAt('extract', 'd1#0')).toBe(true);
    expect(again.rejectedAt('generate', 'd1#0')).toBe(false);
    expect(again.state.segments.write(segment('d1#0', true))).toBe(false);
    expect(again.state.segments.write(segment('d2#0', true))).toBe(true);
    again.close();
    expect((lines(rd.files.segments) as Segment[]).map((s) => s.id)).toEqual(['d1#0', 'd1#1', 'd2#0']);
  });

  it('a directory with only run.json counts as resumed', async () => {
    writeFileSync(join(dir, RUN_FILES.runJson), '{}\n');
    const rd = new RunDirectory(dir);
    expect((await rd.open()).resumed).toBe(true);
    rd.close();
  });

  it('rejections are keyed by stage:id: one per stage, several stages per id', async () => {
    const rd = new RunDirectory(dir);
    await rd.open();
    rd.reject(rejection('generate', 't1', ['generate_unparseable']));
    rd.reject(rejection('generate', 't1', ['something_else'])); // same stage: ignored
    rd.reject(rejection('validate', 't1', ['unknown_tool']));
    expect([...rd.state.rejected.ids].sort()).toEqual(['generate:t1', 'validate:t1']);
    rd.close();
    expect((lines(rd.files.rejected) as Rejection[]).map((r) => [r.stage, r.reasons[0]?.check])).toEqual([
      ['generate', 'generate_unparseable'],
      ['validate', 'unknown_tool'],
    ]);
    const again = new RunDirectory(dir);
    await again.open();
    expect(again.rejectedAt('generate', 't1')).toBe(true);
    expect(again.rejectedAt('validate', 't1')).toBe(true);
    expect(again.state.rejected.has('t1')).toBe(false);
    again.close();
  });

  it('retryable rejections are removed on open, so their records are tried again', async () => {
    writeFileSync(join(dir, RUN_FILES.segments), jsonl([segment('d1#0', true), segment('d2#0', true)]));
    writeFileSync(
      join(dir, RUN_FILES.rejected),
      jsonl([
        rejection('extract', 'd1#0', ['llm_unavailable'], { retryable: true }),
        rejection('extract', 'd2#0', ['extract_not_procedural']),
        rejection('judge', 't9', ['llm_unavailable'], { retryable: true }),
        rejection('validate', 't8', ['unknown_tool'], { retryable: false }),
      ]),
    );
    const rd = new RunDirectory(dir);
    const info = await rd.open();
    expect(info).toEqual({ resumed: true, retried: 2, repaired: 0 });
    expect(rd.rejectedAt('extract', 'd1#0')).toBe(false);
    expect(rd.rejectedAt('judge', 't9')).toBe(false);
    expect(rd.rejectedAt('extract', 'd2#0')).toBe(true);
    expect(rd.rejectedAt('validate', 't8')).toBe(true);
    expect((lines(rd.files.rejected) as Rejection[]).map((r) => `${r.stage}:${r.id}`)).toEqual(['extract:d2#0', 'validate:t8']);
    // A retry that fails again is written again.
    rd.reject(rejection('extract', 'd1#0', ['llm_unavailable'], { retryable: true }));
    rd.close();
    expect(lines(rd.files.rejected)).toHaveLength(3);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('drops a torn last line on open; the torn record is not indexed and can be rewritten', async () => {
    const whole = jsonl([segment('d1#0', true)]);
    writeFileSync(join(dir, RUN_FILES.segments), `${whole}{"id":"d1#1","doc_id":"d1","ind`);
    const rd = new RunDirectory(dir);
    await rd.open();
    expect(readFileSync(rd.files.segments, 'utf8')).toBe(whole);
    expect(rd.state.segments.has('d1#1')).toBe(false);
    expect(rd.state.segments.write(segment('d1#1', false))).toBe(true);
    rd.close();
    expect((lines(rd.files.segments) as Segment[]).map((s) => s.id)).toEqual(['d1#0', 'd1#1']);
  });

  it('removes corrupt lines by rewriting the file, keeping order, and counts them as repaired', async () => {
    const a = segment('d1#0', true);
    const b = segment('d1#1', false);
    const c = segment('d2#0', true);
    writeFileSync(join(dir, RUN_FILES.segments), `${JSON.stringify(a)}\n{"id": broken\n${JSON.stringify(b)}\n42\nnull\n\n${JSON.stringify(c)}\n`);
    writeFileSync(join(dir, `${RUN_FILES.segments}.tmp`), 'stale temp file from an earlier crash\n');
    const rd = new RunDirectory(dir);
    const info = await rd.open();
    expect(info.repaired).toBe(3);
    expect(readFileSync(rd.files.segments, 'utf8')).toBe(jsonl([a, b, c]));
    expect([...rd.state.segments.ids]).toEqual(['d1#0', 'd1#1', 'd2#0']);
    expect(existsSync(join(dir, `${RUN_FILES.segments}.tmp`))).toBe(false);
    rd.close();
  });

  it('writeRunJson replaces run.json atomically; readRunJson reads it back and refuses a damaged one', async () => {
    const rd = new RunDirectory(dir);
    await rd.open();
    expect(rd.readRunJson()).toBeUndefined();
    rd.writeRunJson({ status: 'running', n: 1 });
    expect(readFileSync(rd.files.runJson, 'utf8')).toBe('{\n  "status": "running",\n  "n": 1\n}\n');
    rd.writeRunJson({ status: 'finished', n: 2 });
    expect(rd.readRunJson()).toEqual({ status: 'finished', n: 2 });
    expect(readdirSync(dir).filter((f) => f.startsWith('run.json'))).toEqual(['run.json']);
    // A damaged run.json is an error naming it: resuming past it would skip the settings check.
    writeFileSync(rd.files.runJson, '{"status": "runn');
    expect(() => rd.readRunJson()).toThrow(/run\.json: not valid JSON/);
    writeFileSync(rd.files.runJson, '{"sessions": 3}');
    expect(() => rd.readRunJson()).toThrow(/not a gemtraj run\.json \(sessions/);
    rd.close();
  });

  it('close before open and twice is harmless', async () => {
    const rd = new RunDirectory(dir);
    rd.close();
    await rd.open();
    rd.close();
    rd.close();
  });
});

describe('IndexedWriter', () => {
  it('dedupes by id and writes lazily', async () => {
    const path = join(dir, 'x.jsonl');
    const w = new IndexedWriter<{ id: string; v: number }>(path);
    expect(await w.load()).toEqual({ refused: 0, repaired: 0 });
    expect(existsSync(path)).toBe(false);
    expect(w.write({ id: 'a', v: 1 })).toBe(true);
    expect(w.write({ id: 'a', v: 2 })).toBe(false);
    expect(w.write({ id: 'b', v: 3 })).toBe(true);
    w.close();
    expect(lines(path)).toEqual([
      { id: 'a', v: 1 },
      { id: 'b', v: 3 },
    ]);
  });

  it('load counts refused records apart from repaired (torn or corrupt) lines; keep filters records out', async () => {
    const path = join(dir, 'y.jsonl');
    writeFileSync(path, `${jsonl([{ id: 'a', ok: true }, { id: 'b', ok: false }, { id: 'c', ok: true }])}not json\n{"id":"d"`);
    const w = new IndexedWriter<{ id: string }>(path);
    const res = await w.load((r) => r.ok === true);
    // One record refused by keep; one corrupt line and one torn tail repaired.
    expect(res).toEqual({ refused: 1, repaired: 2 });
    expect([...w.ids]).toEqual(['a', 'c']);
    expect(lines(path)).toEqual([
      { id: 'a', ok: true },
      { id: 'c', ok: true },
    ]);
  });

  it('uses a custom key', async () => {
    const path = join(dir, 'z.jsonl');
    const w = new IndexedWriter<{ id: string; stage: string }>(path, (r) => `${String(r.stage)}/${String(r.id)}`);
    expect(w.write({ id: '1', stage: 'a' })).toBe(true);
    expect(w.write({ id: '1', stage: 'b' })).toBe(true);
    expect(w.write({ id: '1', stage: 'a' })).toBe(false);
    w.close();
    const again = new IndexedWriter<{ id: string; stage: string }>(path, (r) => `${String(r.stage)}/${String(r.id)}`);
    await again.load();
    expect([...again.ids].sort()).toEqual(['a/1', 'b/1']);
  });
});

// ---------------------------------------------------------------------------------------------
describe('computeFunnel', () => {
  /** A finished run: every record is accounted for. */
  function writeBalancedRun(): void {
    const w = (name: string, records: unknown[]) => writeFileSync(join(dir, name), jsonl(records));
    w(RUN_FILES.segments, [segment('d1#0', true), segment('d1#1', false), segment('d2#0', true), segment('d3#0', true), segment('d6#0', true)]);
    w(RUN_FILES.extractions, [
      { id: 'd1#0', workflows: [{ name: 'w0' }, { name: 'w1' }] },
      { id: 'd2#0', workflows: [{ name: 'w0' }] },
    ]);
    w(RUN_FILES.raw, [
      { id: 't-d1-0', meta: { stage: 'generated' } },
      { id: 't-d1-1', meta: { stage: 'generated' } },
    ]);
    w(RUN_FILES.refined, [
      { id: 't-d1-0', meta: { stage: 'refined' } },
      { id: 't-d1-1', meta: { stage: 'generated', refine_fallback: [{ check: 'x', message: 'y' }] } },
    ]);
    w(RUN_FILES.final, [{ id: 't-d1-0' }]);
    w(RUN_FILES.rejected, [
      rejection('input', 'bad@in.jsonl:3', ['input_json']),
      rejection('input', 'dup@in.jsonl:9', ['duplicate_id']),
      rejection('segment', 'd4', ['segment_empty'], { source: { doc_id: 'd4' } }),
      rejection('filter', 'd1#2', ['llm_unavailable'], { retryable: true, source: { doc_id: 'd1', segment_id: 'd1#2' } }),
      rejection('extract', 'd3#0', ['extract_too_few_tools']),
      rejection('extract', 'd6#0', ['llm_unavailable'], { retryable: true }),
      rejection('generate', 't-d2-0', ['generate_unparseable']),
      rejection('validate', 't-d1-1', ['unknown_tool', 'arguments_schema', 'unknown_tool']),
    ]);
  }

  it('counts a balanced run from the files', async () => {
    writeBalancedRun();
    const f = await computeFunnel(dir);
    const { steps, ...figures } = f;
    expect(steps.map((s) => [s.step, s.in, s.out, s.rejected, s.pending])).toEqual([
      ['segment', 5, 6, 1, 0],
      ['dedup', 6, 6, 0, 0],
      ['filter', 6, 5, 1, 0],
      ['extract', 4, 2, 2, 0],
      ['workflows', 2, 3, 0, 0],
      ['generate', 3, 2, 1, 0],
      ['refine', 2, 2, 0, 0],
      ['validate', 2, 1, 1, 0],
      ['judge', 1, 1, 0, 0],
    ]);
    expect(steps.find((s) => s.step === 'filter')?.tally).toEqual({ kept: 4, dropped: 1, 'by:heuristic': 5 });
    expect(figures).toEqual({
      decided_by: { heuristic: 5 },
      documents: 5, // d1 d2 d3 d6 from segments + d4 from its segment rejection
      input_rejected: 2,
      segments: 6, // 5 lines + 1 undecided by the filter
      duplicates: 0,
      contaminated: 0,
      kept: 4,
      dropped: 1,
      filter_rejected: 1,
      extracted: 2,
      extract_rejected: 2,
      workflows: 3,
      generated: 2,
      generate_rejected: 1,
      refined: 1,
      refine_fallback: 1,
      refine_rejected: 0,
      passed: 1,
      validate_rejected: 1,
      judge_rejected: 0,
      retryable: 2,
      rejections: {
        input: { input_json: 1, duplicate_id: 1 },
        segment: { segment_empty: 1 },
        filter: { llm_unavailable: 1 },
        extract: { extract_too_few_tools: 1, llm_unavailable: 1 },
        generate: { generate_unparseable: 1 },
        validate: { unknown_tool: 2, arguments_schema: 1 },
      },
      pending: {},
      balanced: true,
    } satisfies Omit<Funnel, 'steps'>);
  });

  it('an unfinished run is unbalanced, with what is pending between stages', async () => {
    writeBalancedRun();
    // Lose the final line and the validate rejection (validation pending), and an extraction
    // rejection (extraction pending for d3#0).
    writeFileSync(join(dir, RUN_FILES.final), '');
    const rej = (lines(join(dir, RUN_FILES.rejected)) as Rejection[]).filter((r) => r.stage !== 'validate' && r.id !== 'd3#0');
    writeFileSync(join(dir, RUN_FILES.rejected), jsonl(rej));
    // And one more workflow that was never generated.
    writeFileSync(
      join(dir, RUN_FILES.extractions),
      jsonl([
        { id: 'd1#0', workflows: [{ name: 'w0' }, { name: 'w1' }] },
        { id: 'd2#0', workflows: [{ name: 'w0' }, { name: 'w1' }] },
      ]),
    );
    const f = await computeFunnel(dir);
    expect(f.pending).toEqual({ extract: 1, generate: 1, judge: 2 });
    expect(f.balanced).toBe(false);
    expect(f.passed).toBe(0);
    expect(f.validate_rejected).toBe(0);
  });

  it('judge, refine and synthesize rejections land in their columns', async () => {
    writeFileSync(join(dir, RUN_FILES.segments), jsonl([segment('d1#0', true)]));
    writeFileSync(join(dir, RUN_FILES.extractions), jsonl([{ id: 'd1#0', workflows: [{}, {}, {}] }]));
    writeFileSync(join(dir, RUN_FILES.raw), jsonl([{ id: 'a' }, { id: 'b' }, { id: 'c' }]));
    writeFileSync(join(dir, RUN_FILES.refined), jsonl([{ id: 'a' }, { id: 'c' }]));
    writeFileSync(
      join(dir, RUN_FILES.rejected),
      jsonl([rejection('judge', 'a', ['judge_R1', 'judge_R3']), rejection('refine', 'b', ['llm_unavailable'], { retryable: true }), rejection('judge', 'c', ['judge_R1'])]),
    );
    const f = await computeFunnel(dir);
    expect(f.judge_rejected).toBe(2);
    expect(f.refine_rejected).toBe(1);
    expect(f.validate_rejected).toBe(0);
    expect(f.retryable).toBe(1);
    expect(f.rejections.judge).toEqual({ judge_R1: 2, judge_R3: 1 });
    expect(f.balanced).toBe(true);
  });

  it('synthesize mode: one trajectory expected per kept segment, no extraction stage', async () => {
    writeFileSync(join(dir, RUN_FILES.segments), jsonl([segment('d1#0', true), segment('d1#1', true), segment('d2#0', false), segment('d3#0', true)]));
    writeFileSync(join(dir, RUN_FILES.raw), jsonl([{ id: 's-d1-0' }, { id: 's-d1-1' }]));
    writeFileSync(join(dir, RUN_FILES.final), jsonl([{ id: 's-d1-0' }]));
    writeFileSync(
      join(dir, RUN_FILES.rejected),
      jsonl([rejection('synthesize', 's-d3-0', ['synthesize_unparseable']), rejection('validate', 's-d1-1', ['role_order'])]),
    );
    const f = await computeFunnel(dir, 'synthesize');
    expect(f).toMatchObject({
      documents: 3,
      segments: 4,
      kept: 3,
      dropped: 1,
      extracted: 0,
      workflows: 3,
      generated: 2,
      generate_rejected: 1,
      passed: 1,
      validate_rejected: 1,
      pending: {},
      balanced: true,
    });
    expect(f.steps.map((s) => s.step)).toEqual(['segment', 'dedup', 'filter', 'synthesize', 'validate', 'judge']);
    // The same files read as a `run` are unbalanced: nothing was extracted.
    const asRun = await computeFunnel(dir, 'run');
    expect(asRun.pending.extract).toBe(3);
    expect(asRun.balanced).toBe(false);
  });

  it('an empty or new directory is all zeros and balanced; corrupt lines are not counted', async () => {
    const empty = await computeFunnel(join(dir, 'does-not-exist'));
    expect(empty.documents).toBe(0);
    expect(empty.segments).toBe(0);
    expect(empty.rejections).toEqual({});
    expect(empty.balanced).toBe(true);

    writeFileSync(join(dir, RUN_FILES.segments), `${jsonl([segment('d1#0', false)])}garbage\n{"id":"torn`);
    const f = await computeFunnel(dir);
    expect(f.segments).toBe(1);
    expect(f.dropped).toBe(1);
    expect(f.documents).toBe(1);
  });

  it('a rejection without reasons or check still counts, under "unknown"', async () => {
    writeFileSync(join(dir, RUN_FILES.rejected), jsonl([{ stage: 'input', id: 'x', reasons: [{ message: 'no check' }] }, { stage: 'input', id: 'y' }]));
    const f = await computeFunnel(dir);
    expect(f.input_rejected).toBe(2);
    expect(f.rejections).toEqual({ input: { unknown: 1 } });
  });
});

describe('formatFunnel', () => {
  it('prints one line per step of the command, the rejections by stage (most frequent first) and the balance', async () => {
    const rd = new RunDirectory(dir);
    await rd.open();
    rd.close();
    writeFileSync(join(dir, RUN_FILES.segments), jsonl([segment('d1#0', true), segment('d1#1', false)]));
    writeFileSync(join(dir, RUN_FILES.extractions), jsonl([{ id: 'd1#0', workflows: [{}, {}] }]));
    writeFileSync(join(dir, RUN_FILES.raw), jsonl([{ id: 'a' }, { id: 'b' }]));
    writeFileSync(join(dir, RUN_FILES.refined), jsonl([{ id: 'a', meta: {} }, { id: 'b', meta: { refine_fallback: [] } }]));
    writeFileSync(join(dir, RUN_FILES.final), jsonl([{ id: 'a' }]));
    writeFileSync(
      join(dir, RUN_FILES.rejected),
      jsonl([rejection('input', 'i', ['input_json']), rejection('validate', 'b', ['arguments_schema', 'unknown_tool', 'unknown_tool'])]),
    );
    const f = await computeFunnel(dir);
    const out = formatFunnel(f).split('\n');
    expect(out[0]).toBe('documents 1 (+1 input rejected)');
    expect(out.slice(1, 10).map((l) => l.trim().split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'segment 1 → 2',
      'dedup 2 → 2',
      'filter 2 → 2',
      'extract 1 → 1',
      'workflows 1 → 2',
      'generate 2 → 2',
      'refine 2 → 2',
      'validate 2 → 1',
      'judge 1 → 1',
    ]);
    expect(out[3]).toContain('(dropped 1)');
    expect(out[7]).toContain('refined 1, fallback 1');
    expect(out[8]).toContain('(rejected 1)');
    expect(out[10]).toBe('passed 1');
    expect(out).toContain('rejections by stage and reason:');
    expect(out).toContain('  input: input_json 1');
    expect(out).toContain('  validate: unknown_tool 2, arguments_schema 1');
    expect(out.at(-1)).toBe('accounting: every record is accounted for');
    expect(out.join('\n')).not.toContain('rerun');
  });

  it('mentions retryable rejections and an unbalanced run', async () => {
    writeFileSync(join(dir, RUN_FILES.segments), jsonl([segment('d1#0', true), segment('d1#1', false)]));
    writeFileSync(join(dir, RUN_FILES.rejected), jsonl([rejection('filter', 'd2#0', ['llm_unavailable'], { retryable: true, source: { doc_id: 'd2', segment_id: 'd2#0' } })]));
    const text = formatFunnel(await computeFunnel(dir));
    expect(text).toContain('rejected 1, 1 to retry');
    expect(text).toContain('1 rejection(s) were endpoint failures: rerun the same command to retry them');
    expect(text.split('\n').at(-1)).toBe('accounting: UNBALANCED {"extract":1}');
  });

  it('synthesize mode shows only its own steps: no extraction, no refinement', async () => {
    writeFileSync(join(dir, RUN_FILES.segments), jsonl([segment('d1#0', true)]));
    writeFileSync(join(dir, RUN_FILES.raw), jsonl([{ id: 's' }]));
    writeFileSync(join(dir, RUN_FILES.final), jsonl([{ id: 's' }]));
    const text = formatFunnel(await computeFunnel(dir, 'synthesize'));
    expect(text).toContain('synthesize');
    expect(text).not.toContain('extract');
    expect(text).not.toContain('refine');
    expect(text).not.toContain('rejections by stage');
  });
});

// ---------------------------------------------------------------------------------------------
describe('BoundedRunner', () => {
  it('refuses a limit that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedRunner(bad)).toThrow(RangeError);
  });

  it('never runs more than `limit` tasks at once and runs them all', async () => {
    const runner = new BoundedRunner(3);
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    for (let i = 0; i < 20; i++) {
      await runner.run(async () => {
        active++;
        peak = Math.max(peak, active);
        expect(runner.inFlight).toBeLessThanOrEqual(3);
        await sleep(1 + (i % 4));
        active--;
        done.push(i);
      });
      expect(runner.inFlight).toBeLessThanOrEqual(3);
    }
    await runner.drain();
    expect(peak).toBe(3);
    expect(runner.inFlight).toBe(0);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(runner.error).toBeUndefined();
  });

  it('run() resolves when the task has started, and waits for a free slot (backpressure)', async () => {
    const runner = new BoundedRunner(1);
    let release!: () => void;
    const started: string[] = [];
    await runner.run(async () => {
      started.push('a');
      await new Promise<void>((r) => (release = r));
    });
    expect(started).toEqual(['a']);
    let secondStarted = false;
    const second = runner.run(async () => {
      started.push('b');
    }).then(() => {
      secondStarted = true;
    });
    await sleep(10);
    expect(secondStarted).toBe(false);
    expect(started).toEqual(['a']);
    release();
    await second;
    expect(started).toEqual(['a', 'b']);
    await runner.drain();
  });

  it('keeps the first error and still settles the other tasks', async () => {
    const runner = new BoundedRunner(2);
    const finished: string[] = [];
    await runner.run(async () => {
      await sleep(5);
      throw new Error('first');
    });
    await runner.run(async () => {
      await sleep(15);
      finished.push('slow');
    });
    await runner.run(async () => {
      await sleep(1);
      throw new Error('second');
    });
    await runner.drain();
    expect((runner.error as Error).message).toBe('first');
    expect(finished).toEqual(['slow']);
    expect(runner.inFlight).toBe(0);
  });

  it('drain resolves at once when idle, and waits for every task otherwise', async () => {
    const runner = new BoundedRunner(4);
    await runner.drain();
    let finished = 0;
    for (let i = 0; i < 4; i++) {
      await runner.run(async () => {
        await sleep(5 * (i + 1));
        finished++;
      });
    }
    expect(finished).toBe(0);
    const [a, b] = [runner.drain(), runner.drain()];
    await Promise.all([a, b]);
    expect(finished).toBe(4);
    // reusable after drain
    await runner.run(async () => {
      finished++;
    });
    await runner.drain();
    expect(finished).toBe(5);
  });
});

describe('shardOf', () => {
  it('is FNV-1a (32 bit) of the id modulo the count', () => {
    // Published FNV-1a 32-bit test vectors.
    expect(shardOf('', 2 ** 32)).toBe(0x811c9dc5);
    expect(shardOf('a', 2 ** 32)).toBe(0xe40c292c);
    expect(shardOf('foobar', 2 ** 32)).toBe(0xbf9cf968);
    expect(shardOf('a', 1000)).toBe(0xe40c292c % 1000);
  });

  it('is stable and within range', () => {
    for (const id of ['doc_1', 'guide.md', 'sub/c.md', '日本語', 'x'.repeat(1000)]) {
      for (const n of [1, 2, 3, 16]) {
        const s = shardOf(id, n);
        expect(s).toBe(shardOf(id, n));
        expect(Number.isInteger(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(n);
      }
    }
    expect(shardOf('anything', 1)).toBe(0);
  });

  it.each([2, 4, 7, 16])('spreads 10k ids roughly uniformly over %i shards', (n) => {
    for (const makeId of [(i: number) => `doc-${i}`, (i: number) => contentId(`text number ${i}`), (i: number) => `${i}`]) {
      const counts = new Array<number>(n).fill(0);
      for (let i = 0; i < 10_000; i++) counts[shardOf(makeId(i), n)]!++;
      const expected = 10_000 / n;
      for (const c of counts) {
        expect(c).toBeGreaterThan(expected * 0.85);
        expect(c).toBeLessThan(expected * 1.15);
      }
      // chi-square well under a generous bound for n-1 degrees of freedom
      const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
      expect(chi2).toBeLessThan(3 * n + 20);
    }
  });

  it('every id lands in exactly one shard of a split', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `id-${i}`);
    const n = 5;
    const byShard = Array.from({ length: n }, (_, k) => ids.filter((id) => shardOf(id, n) === k));
    expect(byShard.flat().sort()).toEqual([...ids].sort());
  });
});

describe('fixed accounting', () => {
  it('a task that throws synchronously still frees its slot', async () => {
    const runner = new BoundedRunner(1);
    await runner.run((() => {
      throw new Error('sync');
    }) as unknown as () => Promise<void>);
    await runner.drain();
    expect(runner.inFlight).toBe(0);
    expect((runner.error as Error).message).toBe('sync');
    let ran = false;
    await runner.run(async () => {
      ran = true;
    });
    await runner.drain();
    expect(ran).toBe(true);
  });

  it('counts the document of a filter-stage rejection', async () => {
    writeFileSync(join(dir, RUN_FILES.segments), jsonl([segment('d1#0', false)]));
    writeFileSync(join(dir, RUN_FILES.rejected), jsonl([rejection('filter', 'd2#0', ['llm_unavailable'], { source: { doc_id: 'd2', segment_id: 'd2#0' }, retryable: true })]));
    const f = await computeFunnel(dir);
    expect(f.documents).toBe(2);
    expect(f.segments).toBe(2);
    expect(f.balanced).toBe(true);
  });

  it('open() counts retried and repaired lines apart', async () => {
    writeFileSync(join(dir, RUN_FILES.segments), '{"id":"a"}\n{"id":"b"');
    writeFileSync(
      join(dir, RUN_FILES.rejected),
      `${jsonl([rejection('extract', 'x', ['llm_unavailable'], { retryable: true })])}not json\n{"stage":"x","id":"torn`,
    );
    const info = await new RunDirectory(dir).open();
    expect(info).toEqual({ resumed: true, retried: 1, repaired: 3 });
  });
});

describe('records read back by position', () => {
  it('readJsonlLocated gives byte offsets that readRecordAt reads back (BOM, CRLF, multibyte, blank lines)', async () => {
    const path = join(dir, 'located.jsonl');
    writeFileSync(path, '\uFEFF{"id":"a","t":"é€"}\r\n\n{"id":"b","t":"ü"}\nnot json\n{"id":"c"}');
    const { readJsonlLocated, readRecordAt } = await import('../src/io/jsonl.js');
    const seen: Array<{ line: number; value: unknown }> = [];
    for await (const e of readJsonlLocated(path)) {
      if (e.error !== undefined) {
        expect(e.line).toBe(4);
        continue;
      }
      expect(readRecordAt(path, e.offset, e.length)).toEqual(e.value);
      seen.push({ line: e.line, value: e.value });
    }
    expect(seen.map((s) => s.line)).toEqual([1, 3, 5]);
  });

  it('IndexedWriter.get reads records written now and found on load, after a repair rewrite too', async () => {
    const path = join(dir, 'get.jsonl');
    writeFileSync(path, `${jsonl([{ id: 'a', v: 1 }])}garbage\n${jsonl([{ id: 'b', v: 2 }])}`);
    const w = new IndexedWriter<{ id: string; v: number }>(path, undefined, true);
    expect(await w.load()).toEqual({ refused: 0, repaired: 1 });
    expect(w.get('a')).toEqual({ id: 'a', v: 1 });
    expect(w.get('b')).toEqual({ id: 'b', v: 2 });
    w.write({ id: 'c', v: 3 });
    expect(w.get('c')).toEqual({ id: 'c', v: 3 });
    expect(w.get('zzz')).toBeUndefined();
    w.close();
    // Not located: get() has nothing to read.
    const plain = new IndexedWriter<{ id: string; v: number }>(path);
    await plain.load();
    expect(plain.has('c')).toBe(true);
    expect(plain.get('c')).toBeUndefined();
  });
});

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { executeStats, registerStats } from '../src/cli/stats.js';
import { runValidate } from '../src/cli/validate.js';
import { formatFunnel } from '../src/pipeline/counts.js';
import { SHARED_DATA } from './helpers/shared-data.js';
import { compareRuns, formatComparison } from '../src/report/compare.js';
import { analyzeRun, ReportError } from '../src/report/run-analysis.js';
import { writeSampleRun } from '../src/report/sample-run.js';
import { computeStats, IntDistribution, PAPER_REFERENCE, trajectoryShape } from '../src/report/stats.js';
import type { Trajectory } from '../src/records.js';

let root: string;
let runDir: string;
let synthDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gemtraj-stats-'));
  runDir = join(root, 'run');
  synthDir = join(root, 'synth');
  writeSampleRun(runDir);
  writeSampleRun(synthDir, { variant: 'synthesize' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('IntDistribution', () => {
  it('gives type-7 quantiles, mean and max', () => {
    const d = new IntDistribution();
    for (const v of [1, 2, 3, 4]) d.add(v);
    expect(d.summary()).toEqual({ mean: 2.5, median: 2.5, p10: 1.3, p90: expect.closeTo(3.7, 10), min: 1, max: 4 });
    d.add(10, 3); // counts, not values: 1 2 3 4 10 10 10
    expect(d.quantile(0.5)).toBe(4);
    expect(d.summary().max).toBe(10);
  });

  it('is all zeros when empty', () => {
    expect(new IntDistribution().summary()).toEqual({ mean: 0, median: 0, p10: 0, p90: 0, min: 0, max: 0 });
  });
});

describe('computeStats', () => {
  it('computes exact shape figures from a trajectories file', async () => {
    const s = await computeStats(join(runDir, 'trajectories.jsonl'));
    expect(s.count).toBe(3);
    expect(s.invalid).toBe(0);
    // messages 10 / 5 / 13
    expect(s.shape.messages.mean).toBeCloseTo(28 / 3, 10);
    expect(s.shape.messages.median).toBe(10);
    expect(s.shape.messages.p10).toBeCloseTo(6, 10);
    expect(s.shape.messages.p90).toBeCloseTo(12.4, 10);
    expect(s.shape.messages.max).toBe(13);
    // distinct tools 3 / 1 / 3, tool calls 3 / 1 / 4
    expect(s.shape.distinct_tools).toEqual({ mean: 7 / 3, median: 3, p10: expect.closeTo(1.4, 10), p90: 3, min: 1, max: 3 });
    expect(s.shape.tool_calls.mean).toBeCloseTo(8 / 3, 10);
    expect(s.shape.tool_calls.p90).toBeCloseTo(3.8, 10);
    expect(s.shape.tools_defined.mean).toBe(3);
    expect(s.shape.user_turns.mean).toBeCloseTo(5 / 3, 10);
    expect(s.shape.assistant_turns.max).toBe(6);
    expect(s.shape.parallel_call_turns).toMatchObject({ mean: 1 / 3, max: 1 });
    expect(s.histograms.messages).toEqual([[5, 1], [10, 1], [13, 1]]);
    expect(s.domains).toEqual({ shopping: 2, travel: 1 });
    // Without the extraction index only the explicit meta.task_category is known.
    expect(s.tasks).toEqual({ unknown: 2, travel_and_transportation: 1 });
    expect(s.patterns).toEqual({ clarification: 2, error_recovery: 1, multi_hop_reasoning: 1 });
    expect(s.stages).toEqual({ refined: 2, generated: 1 });
    expect(s.warnings).toMatchObject({ with_any: 1, provenance: 1, provenance_share: 1 / 3, by_check: { argument_provenance: 1 } });
    expect(s.judge.judged).toBe(3);
    expect(s.judge.rubrics.R1).toEqual({ pass: 3, fail: 0, pass_rate: 1 });
    expect(s.refine_fallback).toEqual({ count: 1, rate: 1 / 3 });
  });

  it('accepts an async iterable and counts unreadable lines of a file', async () => {
    const t: Trajectory = { id: 't', source: { doc_id: 'd' }, tools: [], messages: [{ role: 'user', content: 'hi' }] };
    async function* one(): AsyncGenerator<Trajectory> {
      yield t;
    }
    expect((await computeStats(one())).count).toBe(1);
    const file = join(root, 'mixed.jsonl');
    writeFileSync(file, `${JSON.stringify(t)}\nnot json\n{"id":"x"}\n`);
    const s = await computeStats(file);
    expect(s).toMatchObject({ count: 1, invalid: 2 });
    expect(trajectoryShape(t).messages).toBe(1);
  });
});

describe('analyzeRun', () => {
  it('reads funnel, tasks from extractions, raw shape and judge rates', async () => {
    const a = await analyzeRun(runDir);
    expect(a.mode).toBe('run');
    expect(a.funnel).toMatchObject({ documents: 3, segments: 4, kept: 3, extracted: 2, workflows: 5, generated: 4, refined: 3, refine_fallback: 1, passed: 3, judge_rejected: 1, balanced: true });
    expect(a.stats.tasks).toEqual({ customer_support: 2, travel_and_transportation: 1 });
    expect(a.rawStats?.count).toBe(4);
    expect(a.rawStats?.shape.messages.mean).toBe(5.5);
    expect(a.judge).toMatchObject({ judged: 4, passed: 3, rejected: 1, pass_rate: 0.75 });
    expect(a.judge.rubrics.R1).toEqual({ pass: 3, fail: 1, pass_rate: 0.75 });
    expect(a.judge.rubrics.R2).toEqual({ pass: 4, fail: 0, pass_rate: 1 });
    expect(a.usage?.totals.calls).toBe(12);
    expect(a.duration_s).toBe(30);
  });

  it('balances a filter-only run (segments, no trajectories)', async () => {
    const dir = join(root, 'filter-run');
    writeSampleRun(dir);
    for (const f of ['extractions.jsonl', 'trajectories.raw.jsonl', 'trajectories.refined.jsonl', 'trajectories.jsonl', 'rejected.jsonl']) rmSync(join(dir, f));
    const runJson = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { command: string };
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...runJson, command: 'filter' }));
    const a = await analyzeRun(dir);
    expect(a.mode).toBe('filter');
    expect(a.funnel).toMatchObject({ segments: 4, kept: 3, passed: 0, balanced: true });
    expect(a.stats.count).toBe(0);
  });

  it('counts a validate folder with the validate steps (no false UNBALANCED), with and without the judge', async () => {
    const input = join(root, 'six.json');
    const all = JSON.parse(readFileSync(join(SHARED_DATA, 'tool-use/glaive-toolcall-en-demo.sharegpt.json'), 'utf8')) as unknown[];
    writeFileSync(input, JSON.stringify(all.slice(0, 6)));
    const out = join(root, 'validated');
    const summary = await runValidate(input, { out, from: 'auto', judge: false, minToolCalls: 1 });
    expect(summary).toMatchObject({ read: 6, passed: 2, rejected: 4 });
    const a = await analyzeRun(out);
    expect(a.mode).toBe('validate');
    expect(a.funnel.steps.map((s) => [s.step, s.in, s.out, s.rejected])).toEqual([['validate', 6, 2, 4]]);
    expect(a.funnel).toMatchObject({ passed: 2, validate_rejected: 4, balanced: true });
    expect(formatFunnel(a.funnel)).not.toMatch(/UNBALANCED/);

    // The judge ran (verdicts on passed records, judge rejections): validate then judge.
    const judged = join(root, 'validated-judged');
    const passed = readFileSync(join(out, 'trajectories.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Trajectory);
    mkdirSync(judged);
    writeFileSync(join(judged, 'trajectories.jsonl'), `${JSON.stringify({ ...passed[0], meta: { ...passed[0]?.meta, judge: { R1: 1 } } })}\n`);
    const rejected = readFileSync(join(out, 'rejected.jsonl'), 'utf8');
    writeFileSync(join(judged, 'rejected.jsonl'), `${rejected}${JSON.stringify({ stage: 'judge', id: 'x', reasons: [{ check: 'judge_R1', message: 'no' }] })}\n`);
    const b = await analyzeRun(judged);
    expect(b.funnel.steps.map((s) => [s.step, s.in, s.out, s.rejected])).toEqual([['validate', 6, 2, 4], ['judge', 2, 1, 1]]);
    expect(b.funnel.balanced).toBe(true);
  });

  it('says clearly when a directory is not a run', async () => {
    const empty = mkdtempSync(join(root, 'empty-'));
    await expect(analyzeRun(empty)).rejects.toThrow(/not a run directory/);
    await expect(analyzeRun(join(root, 'nope'))).rejects.toBeInstanceOf(ReportError);
  });
});

describe('stats --compare', () => {
  it('puts a full run and a synthesizer run side by side per kept trajectory', async () => {
    const c = compareRuns(await analyzeRun(runDir), await analyzeRun(synthDir));
    const row = (key: string) => c.rows.find((r) => r.key === key)!;
    expect(c.a.command).toBe('run');
    expect(c.b.command).toBe('synthesize');
    expect(row('passed')).toMatchObject({ a: 3, b: 2 });
    expect(row('calls_per_trajectory')).toMatchObject({ a: 4, b: 2.5, ratio: 0.625 });
    expect(row('prompt_tokens_per_trajectory')).toMatchObject({ a: 2000, b: 1000 });
    expect(row('completion_tokens_per_trajectory')).toMatchObject({ a: 1000, b: 500 });
    expect(row('cost_per_trajectory').a).toBeCloseTo(0.02, 12);
    expect(row('cost_per_trajectory').b).toBeCloseTo(0.005, 12);
    expect(row('wall_time_per_trajectory')).toMatchObject({ a: 10, b: 5 });
    expect(row('pass_rate_generated')).toMatchObject({ a: 0.75, b: 2 / 3 });
    expect(row('pass_rate_kept')).toMatchObject({ a: 1, b: 2 / 3 });
    expect(row('messages_mean').a).toBeCloseTo(28 / 3, 10);
    expect(row('messages_mean').b).toBe(7.5); // synth_1 10 messages, synth_2 5
    expect(row('distinct_tools_median')).toMatchObject({ a: 3, b: 2 });
    expect(row('tool_calls_mean')).toMatchObject({ b: 2 });
    const text = formatComparison(c);
    expect(text).toMatch(/calls \(paid\) \/ trajectory\s+4\s+2\.50\s+0\.63×/);
    expect(text).toContain('passed / kept segments');
  });
});

describe('gemtraj stats (command)', () => {
  async function runCli(args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerStats(program);
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['stats', ...args], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    return chunks.join('');
  }

  it('prints shape, paper reference, funnel and usage for a run dir', async () => {
    const text = await runCli([runDir]);
    expect(text).toContain('trajectories 3');
    expect(text).toMatch(/messages\s+9\.33\s+10\s+6\s+12\.4\s+13/);
    expect(text).toContain(String(PAPER_REFERENCE.refined.messages.mean));
    expect(text).toContain('passed 3');
    expect(text).toContain('accounting: every record is accounted for');
    expect(text).toContain('calls 12 paid + 2 cached');
    expect(text).toContain('judge: 4 judged, 3 passed (75.0%)');
  });

  it('prints JSON for a file, a run dir and a comparison', async () => {
    const file = JSON.parse(await runCli([join(runDir, 'trajectories.jsonl'), '--json'])) as { kind: string; stats: { count: number }; paper: Array<{ figure: string; paper_mean: number }> };
    expect(file.kind).toBe('trajectories');
    expect(file.stats.count).toBe(3);
    expect(file.paper[0]).toMatchObject({ figure: 'messages', paper_mean: 46.1, paper_before_mean: 30.05 });
    const run = JSON.parse(await runCli([runDir, '--json'])) as { kind: string; funnel: { passed: number }; usage: { totals: { cost_usd: number } } };
    expect(run).toMatchObject({ kind: 'run', funnel: { passed: 3 }, usage: { totals: { cost_usd: 0.06 } } });
    const cmp = JSON.parse(await runCli(['--compare', runDir, synthDir, '--json'])) as { kind: string; rows: Array<{ key: string; a: number }> };
    expect(cmp.kind).toBe('compare');
    expect(cmp.rows.find((r) => r.key === 'calls_per_trajectory')?.a).toBe(4);
  });

  it('rejects bad arguments with a clear error', async () => {
    await expect(executeStats(undefined, {}, () => undefined)).rejects.toThrow(/needs a trajectories JSONL file or a run directory/);
    await expect(executeStats(undefined, { compare: [runDir] }, () => undefined)).rejects.toThrow(/--compare takes two run directories/);
    await expect(executeStats(join(root, 'missing.jsonl'), {}, () => undefined)).rejects.toThrow(/no such file/);
  });
});

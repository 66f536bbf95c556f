/**
 * `gemtraj synthesize` against a mock Trajectory Synthesizer that makes each slip of a small
 * fine-tuned model, and cuts answers at the token limit (finish_reason "length") inside a
 * message, inside a call and between turns. Cut answers never reach the dataset; every repair
 * is a warning on its trajectory, counted by `stats`, shown in the report and the viewer, the
 * same as for `validate --from sft-pairs` on the same answers. `--repaired-calls reject`
 * rejects repaired calls. The funnel has the steps of synthesize mode only.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { startViewer } from '../src/report/viewer.js';
import { SYNTHESIZER_INSTRUCTION } from '../src/prompts/synthesize.js';
import { CALL_SLIPS, CUTS, synthesizerAnswer, synthesizerHandler, type SynthMarker } from './helpers/mock-synthesizer.js';
import { PROCEDURE, readLines, runCli } from './helpers/cli.js';

const SLIPS = Object.keys(CALL_SLIPS) as SynthMarker[];
const CUT = Object.keys(CUTS) as SynthMarker[];
const DOCS: SynthMarker[] = ['clean', ...SLIPS, 'slip-tags', ...CUT];

interface StatsJson {
  funnel: { steps: Array<{ step: string }>; passed: number; balanced: boolean; rejections: Record<string, Record<string, number>> };
  stats: { count: number; tasks: Record<string, number>; warnings: { with_any: number; by_check: Record<string, number> } };
}

describe('gemtraj synthesize: cut answers and repairs', () => {
  let server: MockServer;
  let dir: string;
  const out = (name: string): string => join(dir, name);
  let warnRun: { code: number; stderr: string };
  let rejectRun: { code: number; stderr: string };

  beforeAll(async () => {
    server = await startMockServer({ handler: synthesizerHandler() });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-synth-slips-'));
    const lines = DOCS.map((id) => JSON.stringify({ id, text: `${PROCEDURE}\n\n[[${id}]]` }));
    writeFileSync(join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
    // The corpus repeats one procedure on purpose: deduplication would keep one document.
    const common = ['--base-url', server.url, '--model', 'synth-8b', '--no-judge', '--filter', 'llm', '--no-cache', '--dedup', 'off'];
    warnRun = await runCli(['synthesize', join(dir, 'corpus.jsonl'), '--out', out('warn'), ...common]);
    rejectRun = await runCli(['synthesize', join(dir, 'corpus.jsonl'), '--out', out('reject'), ...common, '--repaired-calls', 'reject']);
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const docOf = (t: Record<string, unknown>): string => (t.source as { doc_id: string }).doc_id;

  it('cut answers are rejected as synthesize_truncated and are in no trajectory file', () => {
    expect(warnRun.code).toBe(0);
    for (const run of ['warn', 'reject']) {
      const rejected = readLines(join(out(run), 'rejected.jsonl'));
      const truncated = rejected.filter((r) => (r.reasons as Array<{ check: string }>)[0]?.check === 'synthesize_truncated');
      expect(truncated.map(docOf).sort()).toEqual([...CUT].sort());
      for (const file of ['trajectories.jsonl', 'trajectories.raw.jsonl']) {
        const ids = existsSync(join(out(run), file)) ? readLines(join(out(run), file)).map(docOf) : [];
        for (const cut of CUT) expect(ids, `${run}/${file}`).not.toContain(cut);
      }
    }
  });

  it('warn mode: every repair is a warning on its trajectory with the message index', () => {
    const passed = readLines(join(out('warn'), 'trajectories.jsonl'));
    expect(passed.map(docOf).sort()).toEqual(['clean', ...SLIPS, 'slip-tags'].sort());
    for (const t of passed) {
      const warnings = ((t.meta as { warnings?: Array<{ check: string; path?: string }> }).warnings ?? []).filter((w) => w.check.startsWith('synthesizer_'));
      const doc = docOf(t);
      if (doc === 'clean') expect(warnings).toEqual([]);
      else if (doc === 'slip-tags') expect(warnings).toEqual([expect.objectContaining({ check: 'synthesizer_tags', path: 'messages[1]' })]);
      else {
        expect(warnings, doc).toEqual([expect.objectContaining({ check: 'synthesizer_call_repaired', path: 'messages[7].tool_calls[0]' })]);
        const m = (t.messages as Array<{ tool_calls?: Array<{ function: { name: string } }> }>)[7];
        expect(m?.tool_calls?.[0]?.function.name).toBe('refund');
      }
      // The filter labelled the segment; the trajectory keeps its task category.
      expect((t.meta as { task_category?: string }).task_category).toBe('ecommerce_and_retail');
    }
  });

  it('reject mode: repaired calls are rejected, the rest as in warn mode, and the accounting balances', () => {
    expect(rejectRun.code).toBe(0);
    const passed = readLines(join(out('reject'), 'trajectories.jsonl')).map(docOf).sort();
    expect(passed).toEqual(['clean', 'slip-tags']);
    const rejected = readLines(join(out('reject'), 'rejected.jsonl')).filter((r) => (r.reasons as Array<{ check: string }>)[0]?.check === 'synthesize_repaired_call');
    expect(rejected.map(docOf).sort()).toEqual([...SLIPS].sort());
    for (const r of rejected) {
      expect(r.stage).toBe('synthesize');
      expect((r.reasons as Array<{ path: string }>)[0]?.path).toBe('messages[7].tool_calls[0]');
    }
    const runJson = JSON.parse(readFileSync(join(out('reject'), 'run.json'), 'utf8')) as { counts: { balanced: boolean }; fingerprint: Record<string, unknown> };
    expect(runJson.counts.balanced).toBe(true);
    expect(runJson.fingerprint.synthesize).toEqual({ repaired_calls: 'reject' });
  });

  it('resuming with the other repaired_calls setting is refused (it is in the fingerprint)', async () => {
    const r = await runCli(['synthesize', join(dir, 'corpus.jsonl'), '--out', out('warn'), '--base-url', server.url, '--model', 'synth-8b', '--no-judge', '--filter', 'llm', '--dedup', 'off', '--repaired-calls', 'reject']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/synthesize differ/);
  });

  it('stats counts the warnings and the task category; the funnel has the steps of synthesize mode only', async () => {
    const json = JSON.parse((await runCli(['stats', out('warn'), '--json'])).stdout) as StatsJson;
    expect(json.stats.warnings.by_check.synthesizer_call_repaired).toBe(SLIPS.length);
    expect(json.stats.warnings.by_check.synthesizer_tags).toBe(1);
    expect(json.stats.tasks).toEqual({ ecommerce_and_retail: json.stats.count });
    expect(json.funnel.steps.map((s) => s.step)).toEqual(['segment', 'filter', 'synthesize', 'validate']);
    expect(json.funnel.rejections.synthesize).toEqual({ synthesize_truncated: CUT.length });

    const text = (await runCli(['stats', out('warn')])).stdout;
    expect(text).toMatch(/by check: .*synthesizer_call_repaired 4/);
    expect(text).toMatch(/tasks: ecommerce_and_retail/);
    // No figure of a step synthesize mode does not have (the paper's refined figures are the target).
    expect(text).not.toMatch(/refine fallback|ours before|refined \d|extract|generat/i);
    expect(warnRun.stderr).not.toMatch(/refine|extract|generat/i);
    expect(warnRun.stderr).toMatch(/^\s+synthesize\s+\d+ →\s+\d+\s+\(rejected 3\)$/m);
  });

  it('the report and the viewer show the warnings; the report has no refine figures', async () => {
    expect((await runCli(['report', out('warn')])).code).toBe(0);
    const html = readFileSync(join(out('warn'), 'report.html'), 'utf8');
    expect(html).toContain('warning: synthesizer_call_repaired');
    expect(html).not.toMatch(/refine fell back|before refine/);
    const viewer = await startViewer({ dir: out('warn'), port: 0 });
    try {
      const list = (await (await fetch(new URL('/api/trajectories?status=passed', viewer.url))).json()) as { items: Array<{ doc_id: string; checks: string[] }> };
      const slipped = list.items.filter((i) => SLIPS.includes(i.doc_id as SynthMarker));
      expect(slipped).toHaveLength(SLIPS.length);
      for (const i of slipped) expect(i.checks).toContain('synthesizer_call_repaired');
    } finally {
      await viewer.close();
    }
  });

  it('validate --from sft-pairs on the same answers stores and counts the same warnings', async () => {
    const pairs = [...SLIPS, 'slip-tags' as const].map((m) =>
      JSON.stringify({ messages: [{ role: 'user', content: `${SYNTHESIZER_INSTRUCTION}\n\n${PROCEDURE}` }, { role: 'assistant', content: synthesizerAnswer(m).text }] }),
    );
    writeFileSync(join(dir, 'pairs.jsonl'), `${pairs.join('\n')}\n`);
    const v = await runCli(['validate', join(dir, 'pairs.jsonl'), '--from', 'sft-pairs', '--no-judge', '--out', out('validate')]);
    expect(v.code).toBe(0);
    const json = JSON.parse((await runCli(['stats', join(out('validate'), 'trajectories.jsonl'), '--json'])).stdout) as { stats: StatsJson['stats'] };
    expect(json.stats.count).toBe(SLIPS.length + 1);
    expect(json.stats.warnings.by_check.synthesizer_call_repaired).toBe(SLIPS.length);
    expect(json.stats.warnings.by_check.synthesizer_tags).toBe(1);
  });
});

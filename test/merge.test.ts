import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFunnel } from '../src/pipeline/counts.js';
import { checkShards, mergeRuns } from '../src/report/merge.js';
import { writeSampleRun } from '../src/report/sample-run.js';

let root: string;
let n = 0;
const fresh = (name: string): string => join(root, `${name}-${++n}`);

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gemtraj-merge-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('merge', () => {
  it('combines two shards that cover the corpus exactly once', async () => {
    const s0 = fresh('s0');
    const s1 = fresh('s1');
    writeSampleRun(s0, { prefix: 'a-', shard: '0/2' });
    writeSampleRun(s1, { prefix: 'b-', shard: '1/2' });
    const out = fresh('merged');
    // Argument order does not matter: the output is in shard order.
    const result = await mergeRuns([s1, s0], out);
    expect(result.shards.map((s) => s.index)).toEqual([0, 1]);
    expect(result.warnings).toEqual([]);
    expect(result.lines).toMatchObject({ segments: 8, extractions: 4, raw: 8, refined: 8, final: 6, rejected: 6, progress: 6 });
    const final = lines(join(out, 'trajectories.jsonl')).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(final).toEqual(['a-traj_a', 'a-traj_b', 'a-traj_c', 'b-traj_a', 'b-traj_b', 'b-traj_c']);

    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      command: string;
      config: { shard?: string };
      sessions: unknown[];
      duration_s: number;
      usage: { totals: { cost_usd: number }; by_stage: { extract: { teacher: { calls: number } } } };
      filter: Record<string, number>;
      merged_from: unknown[];
      counts: unknown;
    };
    expect(runJson.command).toBe('run');
    expect(runJson.config.shard).toBeUndefined();
    expect(runJson.sessions).toHaveLength(2);
    expect(runJson.duration_s).toBe(60);
    expect(runJson.usage.totals).toMatchObject({ calls: 24, cached_calls: 4, prompt_tokens: 12000, completion_tokens: 6000 });
    expect(runJson.usage.totals.cost_usd).toBeCloseTo(0.12, 12);
    expect(runJson.usage.by_stage.extract.teacher.calls).toBe(6);
    expect(runJson.filter).toEqual({ llm_calls_saved: 8 });
    expect(runJson.merged_from).toEqual([
      { dir: s0, shard: '0/2', status: 'finished', duration_s: 30 },
      { dir: s1, shard: '1/2', status: 'finished', duration_s: 30 },
    ]);
    expect(runJson.counts).toEqual(await computeFunnel(out));
    expect(runJson.counts).toMatchObject({ documents: 6, segments: 8, kept: 6, passed: 6, judge_rejected: 2, balanced: true });
    // No temp files left behind.
    expect(readdirSync(out).filter((f) => f.endsWith('.merging') || f.endsWith('.tmp'))).toEqual([]);
  });

  it('drops a torn last line instead of copying it', async () => {
    const s0 = fresh('s0');
    const s1 = fresh('s1');
    writeSampleRun(s0, { prefix: 'a-', shard: '0/2' });
    writeSampleRun(s1, { prefix: 'b-', shard: '1/2' });
    writeFileSync(join(s1, 'trajectories.jsonl'), `${readFileSync(join(s1, 'trajectories.jsonl'), 'utf8')}{"id":"torn`);
    const out = fresh('merged');
    const result = await mergeRuns([s0, s1], out);
    expect(result.lines.final).toBe(6);
    expect(result.skipped).toBe(1);
    expect(result.warnings.join('\n')).toContain('1 unreadable line');
  });

  it('fails on a missing shard, naming what is missing', () => {
    const s0 = fresh('s0');
    writeSampleRun(s0, { shard: '0/3' });
    const s2 = fresh('s2');
    writeSampleRun(s2, { prefix: 'c-', shard: '2/3' });
    expect(() => checkShards([s0, s2])).toThrow(/missing shard\(s\) 1\/3/);
  });

  it('fails on a duplicate shard and on mismatched n, naming the directories', () => {
    const a = fresh('a');
    const b = fresh('b');
    const c = fresh('c');
    writeSampleRun(a, { prefix: 'a-', shard: '0/2' });
    writeSampleRun(b, { prefix: 'b-', shard: '0/2' });
    writeSampleRun(c, { prefix: 'c-', shard: '1/3' });
    expect(() => checkShards([a, b])).toThrow(new RegExp(`duplicate shard 0/2: ${a} and ${b}`));
    expect(() => checkShards([a, c])).toThrow(new RegExp(`mismatched shard count: ${a} is shard 0/2 but ${c} is shard 1/3`));
  });

  it('fails on a run that was not sharded, a different input, or no run.json', () => {
    const a = fresh('a');
    const b = fresh('b');
    const plain = fresh('plain');
    writeSampleRun(a, { prefix: 'a-', shard: '0/2' });
    writeSampleRun(b, { prefix: 'b-', shard: '1/2', input: 'other.jsonl' });
    writeSampleRun(plain);
    expect(() => checkShards([a, plain])).toThrow(new RegExp(`${plain}: run.json has no config.shard`));
    expect(() => checkShards([a, b])).toThrow(/mismatched input/);
    const bare = fresh('bare');
    mkdirSync(bare);
    expect(() => checkShards([a, bare])).toThrow(new RegExp(`${bare}: no run.json`));
  });

  it('fails on an id held by two shards, and leaves no output behind', async () => {
    const s0 = fresh('s0');
    const s1 = fresh('s1');
    // Same prefix: the two shards hold the same documents, so they overlap.
    writeSampleRun(s0, { shard: '0/2' });
    writeSampleRun(s1, { shard: '1/2' });
    const out = fresh('merged');
    await expect(mergeRuns([s0, s1], out)).rejects.toThrow(new RegExp(`duplicate id "d1#0" in segments.jsonl: held by ${s0} and ${s1}`));
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a non-empty --out', async () => {
    const s0 = fresh('s0');
    writeSampleRun(s0, { shard: '0/1' });
    const out = fresh('out');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'x');
    await expect(mergeRuns([s0], out)).rejects.toThrow(/not empty/);
    // A single shard 0/1 is a complete set.
    const result = await mergeRuns([s0], fresh('single'));
    expect(result.lines.final).toBe(3);
  });
});

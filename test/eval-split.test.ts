/** `gemtraj split`: by source document, stratified by domain, deterministic by seed. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseTestDocuments, type SplitSummary } from '../src/eval/split.js';
import type { Trajectory } from '../src/records.js';
import { readLines, runCli } from './helpers/cli.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const DOMAINS = ['retail', 'airline', 'banking', 'telecom'];

function trajectory(doc: number, k: number, domain: string): Trajectory {
  return {
    id: `traj_${doc}_${k}`,
    source: { doc_id: `doc${doc}`, segment_id: `doc${doc}#${k}` },
    domain,
    tools: [],
    messages: [
      { role: 'user', content: `question ${doc}.${k}` },
      { role: 'assistant', content: 'answer' },
    ],
  };
}

let work: string;
let input: string;
const all: Trajectory[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'gemtraj-split-'));
  // 400 documents, 1-3 trajectories each; domains of unequal size (retail 40%, airline 30%, …).
  for (let doc = 0; doc < 400; doc++) {
    const domain = DOMAINS[doc % 10 < 4 ? 0 : doc % 10 < 7 ? 1 : doc % 10 < 9 ? 2 : 3] as string;
    for (let k = 0; k < 1 + (doc % 3); k++) all.push(trajectory(doc, k, domain));
  }
  input = join(work, 'trajectories.jsonl');
  writeFileSync(input, `${all.map((t) => JSON.stringify(t)).join('\n')}\n{"broken": \n`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function split(out: string, ...extra: string[]): Promise<{ summary: SplitSummary; train: Trajectory[]; test: Trajectory[] }> {
  const r = await runCli(['split', input, '--out', out, '--json', ...extra]);
  expect(r.code).toBe(0);
  return {
    summary: JSON.parse(r.stdout) as SplitSummary,
    train: readLines(join(out, 'train.jsonl')) as unknown as Trajectory[],
    test: readLines(join(out, 'test.jsonl')) as unknown as Trajectory[],
  };
}

describe('gemtraj split', () => {
  it('keeps every document on one side and every record somewhere', async () => {
    const { summary, train, test } = await split(join(work, 's1'), '--test', '0.1');
    expect(train.length + test.length).toBe(all.length);
    const trainDocs = new Set(train.map((t) => t.source.doc_id));
    expect(test.filter((t) => trainDocs.has(t.source.doc_id))).toEqual([]);
    expect(summary.rejected).toBe(1);
    expect(readLines(join(work, 's1', 'rejected.jsonl'))).toEqual([expect.objectContaining({ stage: 'import' })]);
    expect(summary.train.trajectories + summary.test.trajectories).toBe(all.length);
    expect(summary.test.trajectories).toBe(test.length);
  });

  it('takes the share asked for, per domain', async () => {
    const { summary, test } = await split(join(work, 's2'), '--test', '0.1');
    expect(test.length).toBeGreaterThanOrEqual(all.length * 0.1 - 3);
    expect(test.length).toBeLessThanOrEqual(all.length * 0.1 + 3);
    for (const domain of DOMAINS) {
      const d = summary.by_domain[domain] as { train: number; test: number };
      const share = d.test / (d.train + d.test);
      expect(share, domain).toBeGreaterThan(0.06);
      expect(share, domain).toBeLessThan(0.14);
    }
  });

  it('is the same for the same seed and another for another seed', async () => {
    const a = await split(join(work, 's3'), '--seed', '7');
    const b = await split(join(work, 's4'), '--seed', '7');
    const c = await split(join(work, 's5'), '--seed', '8');
    expect(readFileSync(join(work, 's3', 'test.jsonl'), 'utf8')).toBe(readFileSync(join(work, 's4', 'test.jsonl'), 'utf8'));
    expect(a.test.map((t) => t.id)).toEqual(b.test.map((t) => t.id));
    expect(c.test.map((t) => t.id)).not.toEqual(a.test.map((t) => t.id));
    expect(a.summary.test_fraction).toBe(0.05);
  });

  it('takes a number of trajectories', async () => {
    const { test } = await split(join(work, 's6'), '--test', '40');
    expect(Math.abs(test.length - 40)).toBeLessThanOrEqual(2);
  });

  it('refuses a share that is neither in (0, 1) nor a whole number', async () => {
    expect((await runCli(['split', input, '--out', join(work, 's7'), '--test', '1.5'])).code).toBe(2);
    expect((await runCli(['split', input, '--out', join(work, 's7'), '--test', '0'])).code).toBe(2);
  });

  it('splits a foreign dataset (tau-bench logs), one document per record', async () => {
    const file = join(SHARED_DATA, 'tool-use/taubench-airline-gpt4o.json');
    const out = join(work, 's8');
    const r = await runCli(['split', file, '--out', out, '--test', '0.1', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as SplitSummary;
    expect(s.train.trajectories + s.test.trajectories).toBe(200);
    expect(s.test.trajectories).toBe(20);
  });
});

describe('chooseTestDocuments', () => {
  it('gives many one-document domains their share overall', () => {
    const docs = new Map(Array.from({ length: 1000 }, (_, i) => [`d${i}`, { trajectories: 1, domain: `domain ${i}` }]));
    const test = chooseTestDocuments(docs, 0.05, 0);
    expect(test.size).toBe(50);
  });

  it('picks nothing for a share too small for the data', () => {
    const docs = new Map([['a', { trajectories: 1, domain: 'x' }]]);
    expect(chooseTestDocuments(docs, 0.05, 0).size).toBe(0);
  });
});

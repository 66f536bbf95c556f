/**
 * Shards: `--shard 0/3`, `1/3` and `2/3` into three directories partition the documents
 * exactly (union = every document, pairwise disjoint), input rejections included; merged,
 * they give the same dataset and the same funnel as one unsharded run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { computeFunnel, type Funnel } from '../src/pipeline/counts.js';
import { shardOf } from '../src/pipeline/pool.js';
import { mergeRuns } from '../src/report/merge.js';
import { runMain } from '../src/testing/cli-harness.js';
import { corpusLines, generateCorpus, type CorpusOptions } from '../src/testing/corpus.js';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { contentById, documentOutcomes, duplicateProblems, readRunFiles, unaccounted, type RunFiles } from '../src/testing/run-files.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const CORPUS: CorpusOptions = { count: 30, seed: 3, narrative: 0.1, markers: { '[[judge-fail]]': 0.1, '[[malformed]]': 0.05 } };
const DOC_IDS = [...generateCorpus(CORPUS)].map((d) => d.id);
const N = 3;
const MERGE_REGISTERED = (await buildProgram()).commands.some((c) => c.name() === 'merge');

/** Ids of the input documents a run directory covers: segmented, or rejected at input/segment. */
function coveredDocs(files: RunFiles): Set<string> {
  const ids = new Set<string>(files.segments.map((s) => String(s.doc_id)));
  for (const r of files.rejected) if (r.stage === 'input' || r.stage === 'segment') ids.add(String(r.id));
  for (const r of files.rejected) if (r.stage === 'filter') ids.add(String(r.source?.doc_id));
  return ids;
}

describe('--shard i/n', () => {
  let server: MockServer;
  let dir: string;
  let corpus: string;
  let inputRejectedIds: string[] = [];
  const shardDirs: string[] = [];
  let whole: string;

  const args = (out: string, extra: string[] = []) => [
    'run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--concurrency', '8', '--quiet', ...extra,
  ];

  beforeAll(async () => {
    server = await startMockServer({ handler: scriptedTeacher(), recordRequests: false });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-shards-'));
    corpus = join(dir, 'corpus.jsonl');
    // Two bad input lines: input rejections are sharded too.
    writeFileSync(corpus, `${[...corpusLines(CORPUS), '{"id": "torn", "text": ', JSON.stringify({ id: 'no-text', body: 'x' })].join('\n')}\n`);
    for (let i = 0; i < N; i++) {
      const out = join(dir, `shard-${i}`);
      const result = await runMain(args(out, ['--shard', `${i}/${N}`]));
      expect(result.stderr).not.toMatch(/^gemtraj: /m);
      expect(result.code).toBe(0);
      shardDirs.push(out);
    }
    whole = join(dir, 'whole');
    const result = await runMain(args(whole));
    expect(result.code).toBe(0);
    inputRejectedIds = readRunFiles(whole).rejected.filter((r) => r.stage === 'input').map((r) => String(r.id));
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('partitions the documents exactly: union is every document, shards pairwise disjoint', () => {
    expect(inputRejectedIds).toHaveLength(2);
    const covered = shardDirs.map((d) => coveredDocs(readRunFiles(d)));
    const all = [...DOC_IDS, ...inputRejectedIds].sort();
    expect(covered.flatMap((s) => [...s]).sort()).toEqual(all);
    for (let i = 0; i < N; i++) {
      for (let j = i + 1; j < N; j++) expect([...covered[i]!].filter((id) => covered[j]!.has(id)), `shards ${i} and ${j}`).toEqual([]);
      // Each document is where the stable hash says, and every shard got some work.
      for (const id of covered[i]!) expect(shardOf(id, N), id).toBe(i);
      expect(covered[i]!.size).toBeGreaterThan(0);
    }
    for (let i = 0; i < N; i++) {
      const files = readRunFiles(shardDirs[i]!);
      expect(duplicateProblems(files)).toEqual([]);
      expect(unaccounted(documentOutcomes(files, [...covered[i]!].filter((id) => DOC_IDS.includes(id))))).toEqual([]);
    }
  });

  it('merged shards hold the same records and funnel as one unsharded run (library merge)', async () => {
    const merged = join(dir, 'merged-lib');
    const result = await mergeRuns(shardDirs, merged);
    expect(result.warnings).toEqual([]);
    await expectSameAsWhole(merged);
  });

  it.skipIf(!MERGE_REGISTERED)('`gemtraj merge` gives the same records and funnel as one unsharded run', async () => {
    const merged = join(dir, 'merged-cli');
    const result = await runMain(['merge', ...shardDirs, '--out', merged, '--quiet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await expectSameAsWhole(merged);
  });
  if (!MERGE_REGISTERED) console.warn('shards.test.ts: `gemtraj merge` is not registered in src/cli/main.ts yet: CLI merge check skipped (library merge still tested).');

  async function expectSameAsWhole(merged: string): Promise<void> {
    const a = readRunFiles(whole);
    const b = readRunFiles(merged);
    expect(duplicateProblems(b)).toEqual([]);
    for (const key of ['segments', 'extractions', 'final', 'progress'] as const) {
      expect(contentById(b[key]), key).toEqual(contentById(a[key]));
    }
    const byStageId = (r: Record<string, unknown>) => `${String(r.stage)}:${String(r.id)}`;
    expect(contentById(b.rejected, byStageId)).toEqual(contentById(a.rejected, byStageId));
    const counts = (d: string) => (JSON.parse(readFileSync(join(d, 'run.json'), 'utf8')) as { counts: Funnel }).counts;
    expect(counts(merged)).toEqual(counts(whole));
    expect(await computeFunnel(merged)).toEqual(await computeFunnel(whole));
    expect(counts(merged)).toMatchObject({ balanced: true, input_rejected: 2 });
    expect(counts(merged).documents).toBe(DOC_IDS.length);
  }
});

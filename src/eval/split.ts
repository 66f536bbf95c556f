/**
 * `gemtraj split`: a train/test split by source document — a document's trajectories all land
 * on one side, so the test set never holds a paraphrase of a training conversation's text —
 * proportional per domain, and the same on every run with the same seed.
 *
 * How: documents are ordered by domain, then by a seeded hash within the domain (domains
 * themselves in seeded order), and taken into the test set by systematic sampling over that
 * order (a document goes to test when that brings the test count closer to the running
 * target). Each domain thus gets its share even when domains are small and many — gemtraj's
 * domains are free text, often one per document — and a seed picks a different sample.
 *
 * Two passes over the input: the first reads ids, documents and domains; the second writes
 * the records. Memory grows with the number of documents, not with the data.
 */
import { createHash } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { makeOutputDir } from '../io/durable.js';
import { join } from 'node:path';
import { readForeign } from '../formats/detect.js';
import type { FormatName } from '../formats/types.js';
import { InputError } from '../io/documents.js';
import { JsonlWriter } from '../io/jsonl.js';
import type { Rejection, Trajectory } from '../records.js';
import { NONE_LABEL } from './turns.js';

export const SPLIT_FILES = { train: 'train.jsonl', test: 'test.jsonl', summary: 'split.json', rejected: 'rejected.jsonl' } as const;

export interface SplitOptions {
  input: string;
  from: FormatName | 'auto';
  out: string;
  /** Share of trajectories for the test set in (0, 1), or a number of trajectories (≥ 1). */
  test: number;
  /** @default 0 */
  seed?: number | undefined;
}

export interface SideCounts {
  documents: number;
  trajectories: number;
}

export interface SplitSummary {
  input: string;
  seed: number;
  /** The test share asked for, as a fraction of the trajectories read. */
  test_fraction: number;
  train: SideCounts;
  test: SideCounts;
  /** Trajectories per domain on each side. */
  by_domain: Record<string, { train: number; test: number }>;
  /** Input records that could not be read (see rejected.jsonl). */
  rejected: number;
  files: { train: string; test: string; rejected: string };
}

interface DocInfo {
  trajectories: number;
  domains: Map<string, number>;
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

const domainOf = (t: Trajectory): string => (t.domain !== undefined && t.domain !== '' ? t.domain : NONE_LABEL);

/** The document's domain: the one most of its trajectories have (ties: alphabetical). */
function mainDomain(doc: DocInfo): string {
  return [...doc.domains.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? NONE_LABEL;
}

/** The documents that go to the test set. Pure: exported for tests. */
export function chooseTestDocuments(docs: ReadonlyMap<string, { trajectories: number; domain: string }>, fraction: number, seed: number): Set<string> {
  const order = [...docs.entries()]
    .map(([id, d]) => ({ id, n: d.trajectories, domainKey: hash(`${seed}\u0000domain\u0000${d.domain}`), docKey: hash(`${seed}\u0000doc\u0000${id}`) }))
    .sort((a, b) => a.domainKey.localeCompare(b.domainKey) || a.docKey.localeCompare(b.docKey));
  const test = new Set<string>();
  let target = 0;
  let taken = 0;
  for (const doc of order) {
    target += doc.n * fraction;
    if (Math.abs(taken + doc.n - target) < Math.abs(taken - target)) {
      test.add(doc.id);
      taken += doc.n;
    }
  }
  return test;
}

export async function splitTrajectories(options: SplitOptions): Promise<SplitSummary> {
  const seed = options.seed ?? 0;
  if (!(options.test > 0)) throw new InputError('--test must be a share in (0, 1) or a number of trajectories ≥ 1');
  // Pass 1: documents and domains.
  const docs = new Map<string, DocInfo>();
  let read = 0;
  for await (const record of readForeign(options.input, options.from)) {
    if (!record.result.ok) continue;
    const t = record.result.trajectory;
    read++;
    const doc = docs.get(t.source.doc_id) ?? { trajectories: 0, domains: new Map<string, number>() };
    doc.trajectories++;
    doc.domains.set(domainOf(t), (doc.domains.get(domainOf(t)) ?? 0) + 1);
    docs.set(t.source.doc_id, doc);
  }
  if (read === 0) throw new InputError(`${options.input}: no trajectory could be read`);
  const fraction = options.test < 1 ? options.test : Math.min(1, options.test / read);
  const summaryDocs = new Map([...docs].map(([id, d]) => [id, { trajectories: d.trajectories, domain: mainDomain(d) }]));
  const testDocs = chooseTestDocuments(summaryDocs, fraction, seed);

  // Pass 2: write. Files are rewritten whole: a split is cheap and must match its summary.
  makeOutputDir(options.out);
  const files = { train: join(options.out, SPLIT_FILES.train), test: join(options.out, SPLIT_FILES.test), rejected: join(options.out, SPLIT_FILES.rejected) };
  for (const file of Object.values(files)) rmSync(file, { force: true });
  const train = new JsonlWriter(files.train);
  const test = new JsonlWriter(files.test);
  let rejectedWriter: JsonlWriter | undefined;
  const byDomain: SplitSummary['by_domain'] = {};
  let rejected = 0;
  try {
    for await (const record of readForeign(options.input, options.from)) {
      if (!record.result.ok) {
        rejected++;
        const where = `${options.input}:${record.line}`;
        const rejection: Rejection = { stage: 'import', id: where, reasons: [{ check: 'import', message: `${where}: ${record.result.error}` }] };
        (rejectedWriter ??= new JsonlWriter(files.rejected)).write(rejection);
        continue;
      }
      const t = record.result.trajectory;
      const side = testDocs.has(t.source.doc_id) ? 'test' : 'train';
      (side === 'test' ? test : train).write(t);
      const d = (byDomain[domainOf(t)] ??= { train: 0, test: 0 });
      d[side]++;
    }
  } finally {
    train.close();
    test.close();
    rejectedWriter?.close();
  }
  const side = (inTest: boolean): SideCounts => {
    let documents = 0;
    let trajectories = 0;
    for (const [id, d] of docs) {
      if (testDocs.has(id) !== inTest) continue;
      documents++;
      trajectories += d.trajectories;
    }
    return { documents, trajectories };
  };
  const summary: SplitSummary = {
    input: options.input,
    seed,
    test_fraction: fraction,
    train: side(false),
    test: side(true),
    by_domain: Object.fromEntries(Object.entries(byDomain).sort((a, b) => b[1].train + b[1].test - (a[1].train + a[1].test) || a[0].localeCompare(b[0]))),
    rejected,
    files,
  };
  const tmp = join(options.out, `${SPLIT_FILES.summary}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(summary, null, 2)}\n`);
  renameSync(tmp, join(options.out, SPLIT_FILES.summary));
  return summary;
}

export function formatSplit(s: SplitSummary): string {
  const lines = [
    `${s.train.trajectories + s.test.trajectories} trajectories from ${s.train.documents + s.test.documents} documents of ${s.input} (seed ${s.seed}):`,
    `  train  ${s.train.trajectories} trajectories, ${s.train.documents} documents → ${s.files.train}`,
    `  test   ${s.test.trajectories} trajectories, ${s.test.documents} documents → ${s.files.test}`,
  ];
  if (s.rejected > 0) lines.push(`  ${s.rejected} record(s) could not be read → ${s.files.rejected}`);
  if (s.test.trajectories === 0) lines.push('  the test set is empty: too few documents for this share (raise --test)');
  return lines.join('\n');
}

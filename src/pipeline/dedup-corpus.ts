/**
 * `gemtraj dedup <input> --out <dir>`: one deduplication pass over a whole corpus, before it is
 * split into shards (each shard's own dedup step only sees its shard). Documents are segmented
 * as a run would; segments are checked in input order against one index (the first of a group
 * is kept, see dedup/segment-index.ts); duplicate segments are cut out of their document's
 * text. Writes, in `<dir>`:
 *
 * - `documents.jsonl`: the corpus without its duplicate segments (`id_field`/`text_field` as
 *   configured, so the same config reads it); documents with nothing left are left out;
 * - `rejected.jsonl`: one rejection per duplicate segment (check `duplicate_segment`, `ref` the
 *   kept segment) and per unreadable input record;
 * - `dedup.json`: the figures; `dedup.sqlite`: the index.
 *
 * A pass always starts afresh (it calls no model), so rerunning it gives the same files. The two
 * JSONL files are written as `<name>.partial` and renamed when the pass is complete.
 */
import { readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { makeOutputDir } from '../io/durable.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import { SegmentIndex } from '../dedup/segment-index.js';
import { someEntries } from './run-dir.js';
import { InputError, readDocuments, type InputWarning } from '../io/documents.js';
import { JsonlWriter } from '../io/jsonl.js';
import type { Rejection } from '../records.js';
import { segmentDocument } from '../stages/segment.js';
import { duplicateReason } from './steps/dedup.js';
import { stepOptions } from './steps/options.js';

export const DEDUP_FILES = { documents: 'documents.jsonl', rejected: 'rejected.jsonl', summary: 'dedup.json', index: 'dedup.sqlite' } as const;

export interface DedupCorpusSummary {
  input: string;
  mode: 'exact' | 'near';
  documents: number;
  /** Documents written (some segment left). */
  documents_kept: number;
  /** Input records that were not documents (bad JSON, no text). */
  input_rejected: number;
  segments: number;
  duplicates: number;
  exact_duplicates: number;
  near_duplicates: number;
  /** Characters of text cut out. */
  chars_removed: number;
  /** Input problems that did not reject a record (invalid UTF-8): messages, in input order. */
  input_warnings: string[];
  files: Record<keyof typeof DEDUP_FILES, string>;
}

/**
 * Refuses an `--out` that holds the input (the pass would delete or overwrite it before reading
 * it) or lies inside an input folder (the pass would read its own outputs as documents).
 */
function checkOverlap(input: string, out: string): void {
  if (input === '-') return;
  const real = (path: string): string => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  };
  const inside = (child: string, parent: string): boolean => {
    const rel = relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  const from = real(input);
  const to = real(out);
  if (inside(from, to)) throw new InputError(`--out ${out} holds the input ${input}: a pass would replace it before reading it; give another --out`);
  if (inside(to, from)) throw new InputError(`--out ${out} is inside the input ${input}: a pass would read its own outputs as documents; give another --out`);
}

/** Where an output is written until the pass is complete. */
const partial = (file: string): string => `${file}.partial`;

/** Refuses an `--out` holding files a pass does not write (a run directory): it would replace its rejected.jsonl and index. */
function checkForeign(out: string): void {
  let entries: string[];
  try {
    entries = readdirSync(out);
  } catch {
    return; // absent (created next) or not a folder (named by makeOutputDir)
  }
  const ours = new Set<string>([
    ...Object.values(DEDUP_FILES),
    ...['-bands', '-wal', '-shm'].map((s) => `${DEDUP_FILES.index}${s}`),
    partial(DEDUP_FILES.documents),
    partial(DEDUP_FILES.rejected),
  ]);
  const foreign = entries.filter((name) => !ours.has(name));
  if (foreign.length === 0) return;
  throw new InputError(`--out ${out} is not empty and is not a gemtraj dedup folder (it holds ${someEntries(foreign)}): give a new or empty folder`);
}

export async function dedupCorpus(input: string, out: string, config: Config, onDocument?: () => void): Promise<DedupCorpusSummary> {
  const settings = stepOptions(config).dedup;
  if (settings === undefined) throw new ConfigError('gemtraj dedup: dedup.mode is off; use --dedup exact or --dedup near');
  checkOverlap(input, out);
  checkForeign(out);
  makeOutputDir(out);
  const files = Object.fromEntries(Object.entries(DEDUP_FILES).map(([k, v]) => [k, join(out, v)])) as DedupCorpusSummary['files'];
  // The index first: its lock refuses a second pass on the same folder before anything is touched.
  const index = new SegmentIndex(files.index, settings, { reset: true });
  let documents: JsonlWriter;
  let rejected: JsonlWriter;
  try {
    for (const f of [files.documents, files.rejected, files.summary, partial(files.documents), partial(files.rejected)]) rmSync(f, { force: true });
    documents = new JsonlWriter(partial(files.documents));
    rejected = new JsonlWriter(partial(files.rejected));
  } catch (error) {
    index.close();
    throw error;
  }
  const summary: DedupCorpusSummary = {
    input,
    mode: settings.mode,
    documents: 0,
    documents_kept: 0,
    input_rejected: 0,
    segments: 0,
    duplicates: 0,
    exact_duplicates: 0,
    near_duplicates: 0,
    chars_removed: 0,
    input_warnings: [],
    files,
  };
  const segmentOptions = stepOptions(config).segment;
  try {
    const onWarning = (warning: InputWarning): void => void summary.input_warnings.push(warning.message);
    for await (const item of readDocuments(input, { textField: config.text_field, idField: config.id_field, onWarning })) {
      onDocument?.();
      if (item.kind === 'rejection') {
        summary.input_rejected++;
        rejected.write({ stage: 'input', id: item.id, source: { doc_id: item.id }, reasons: item.reasons } satisfies Rejection);
        continue;
      }
      const doc = item.document;
      summary.documents++;
      const cuts: Array<[number, number]> = [];
      const drafts = segmentDocument(doc, segmentOptions);
      for (const draft of drafts) {
        summary.segments++;
        const verdict = index.check(draft.id, draft.text);
        if (!verdict.duplicate) continue;
        summary.duplicates++;
        if (verdict.kind === 'exact') summary.exact_duplicates++;
        else summary.near_duplicates++;
        cuts.push([draft.start, draft.end]);
        rejected.write({ stage: 'dedup', id: draft.id, source: { doc_id: doc.id, segment_id: draft.id }, reasons: [duplicateReason(verdict, settings.threshold)] } satisfies Rejection);
      }
      if (drafts.length > 0 && cuts.length === drafts.length) continue;
      // The text between duplicate segments, one blank line where each was.
      const pieces: string[] = [];
      let at = 0;
      for (const [start, end] of cuts.sort((a, b) => a[0] - b[0])) {
        pieces.push(doc.text.slice(at, start));
        summary.chars_removed += end - Math.max(start, at);
        at = Math.max(at, end);
      }
      pieces.push(doc.text.slice(at));
      const text = cuts.length === 0 ? doc.text : pieces.map((p) => p.trim()).filter((p) => p !== '').join('\n\n');
      // The markup the input declared (a `.md` or `.html` file) stays declared for the next read.
      documents.write({ ...(doc.markup !== undefined ? { format: doc.markup } : {}), [config.id_field]: doc.id, [config.text_field]: text });
      summary.documents_kept++;
    }
  } finally {
    documents.close();
    rejected.close();
    index.close();
  }
  // Named once complete: a pass killed part way leaves no documents.jsonl that looks whole.
  for (const f of [files.documents, files.rejected]) renameSync(partial(f), f);
  writeFileSync(files.summary, `${JSON.stringify({ ...summary, settings }, null, 2)}\n`);
  return summary;
}

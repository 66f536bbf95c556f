/**
 * Checks on a finished run directory, for the fault, resume and shard tests: read the JSONL
 * files, find ids written twice, and trace every input document to its outcome (dataset,
 * rejection with a reason, or a segment the filter dropped), so that "nothing is silently
 * lost" is asserted per document and not only by the counts of `run.json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILES } from '../pipeline/run-dir.js';
import { trajectoryId } from '../records.js';

export type RunRecord = Record<string, any>;

/** The records of a JSONL file (blank lines skipped; throws on a line that is not JSON). */
export function readRecords(file: string): RunRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as RunRecord;
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON: ${line.slice(0, 120)}`);
      }
    });
}

export interface RunFiles {
  segments: RunRecord[];
  extractions: RunRecord[];
  raw: RunRecord[];
  refined: RunRecord[];
  final: RunRecord[];
  rejected: RunRecord[];
  progress: RunRecord[];
}

export function readRunFiles(dir: string): RunFiles {
  return {
    segments: readRecords(join(dir, RUN_FILES.segments)),
    extractions: readRecords(join(dir, RUN_FILES.extractions)),
    raw: readRecords(join(dir, RUN_FILES.raw)),
    refined: readRecords(join(dir, RUN_FILES.refined)),
    final: readRecords(join(dir, RUN_FILES.final)),
    rejected: readRecords(join(dir, RUN_FILES.rejected)),
    progress: readRecords(join(dir, RUN_FILES.progress)),
  };
}

function duplicates(keys: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const key of keys) (seen.has(key) ? dup : seen).add(key);
  return [...dup];
}

/**
 * Every way an id can be written twice: within a file (rejections by `stage:id`, and by id
 * alone, since a record has one final outcome), and a trajectory both in the dataset and
 * rejected. Returns human-readable problems; empty when clean.
 */
export function duplicateProblems(files: RunFiles): string[] {
  const problems: string[] = [];
  for (const key of ['segments', 'extractions', 'raw', 'refined', 'final', 'progress'] as const) {
    const dup = duplicates(files[key].map((r) => String(r.id)));
    if (dup.length > 0) problems.push(`${key}: ids written twice: ${dup.slice(0, 5).join(', ')}`);
  }
  const rejectedIds = files.rejected.map((r) => String(r.id));
  const dupStage = duplicates(files.rejected.map((r) => `${String(r.stage)}:${String(r.id)}`));
  if (dupStage.length > 0) problems.push(`rejected: stage:id written twice: ${dupStage.slice(0, 5).join(', ')}`);
  const dupId = duplicates(rejectedIds);
  if (dupId.length > 0) problems.push(`rejected: id rejected at two stages: ${dupId.slice(0, 5).join(', ')}`);
  const finalIds = new Set(files.final.map((r) => String(r.id)));
  const both = rejectedIds.filter((id) => finalIds.has(id));
  if (both.length > 0) problems.push(`ids both in the dataset and rejected: ${both.slice(0, 5).join(', ')}`);
  return problems;
}

/** Where one input document ended up. */
export interface DocumentOutcome {
  doc_id: string;
  /** Trajectory ids in the dataset. */
  passed: string[];
  /** Rejections (stage, check ids) that belong to the document. */
  rejected: Array<{ stage: string; id: string; checks: string[]; messages: string[]; retryable: boolean }>;
  /** Segments the filter dropped, with who decided (`heuristic`, `llm`, `error`…) and why. */
  dropped: Array<{ id: string; by: string; reason: string | undefined }>;
  /** Records of the document with no outcome: empty when the document is fully accounted for. */
  unaccounted: string[];
  /** The document is listed in progress.jsonl (its work is complete). */
  done: boolean;
}

/**
 * Traces each document: input/segment rejection, or segments → (dropped | extraction or
 * extract rejection) → each workflow's trajectory in the dataset or rejected at some stage.
 */
export function documentOutcomes(files: RunFiles, docIds: Iterable<string>): Map<string, DocumentOutcome> {
  const out = new Map<string, DocumentOutcome>();
  const rejectionsById = new Map<string, RunRecord[]>();
  for (const r of files.rejected) {
    const list = rejectionsById.get(String(r.id)) ?? [];
    list.push(r);
    rejectionsById.set(String(r.id), list);
  }
  const finalIds = new Set(files.final.map((r) => String(r.id)));
  const extractionBySegment = new Map(files.extractions.map((e) => [String(e.id), e]));
  const segmentsByDoc = new Map<string, RunRecord[]>();
  for (const s of files.segments) {
    const list = segmentsByDoc.get(String(s.doc_id)) ?? [];
    list.push(s);
    segmentsByDoc.set(String(s.doc_id), list);
  }
  const done = new Set(files.progress.map((r) => String(r.id)));
  const filterRejectedByDoc = new Map<string, RunRecord[]>();
  for (const r of files.rejected) {
    if (r.stage !== 'filter') continue;
    const doc = String(r.source?.doc_id);
    filterRejectedByDoc.set(doc, [...(filterRejectedByDoc.get(doc) ?? []), r]);
  }

  for (const docId of docIds) {
    const o: DocumentOutcome = { doc_id: docId, passed: [], rejected: [], dropped: [], unaccounted: [], done: done.has(docId) };
    const note = (r: RunRecord): void => {
      o.rejected.push({
        stage: String(r.stage),
        id: String(r.id),
        checks: Array.isArray(r.reasons) ? r.reasons.map((x: RunRecord) => String(x.check)) : [],
        messages: Array.isArray(r.reasons) ? r.reasons.map((x: RunRecord) => String(x.message ?? '')) : [],
        retryable: r.retryable === true,
      });
    };
    const docRejections = (rejectionsById.get(docId) ?? []).filter((r) => r.stage === 'input' || r.stage === 'segment');
    docRejections.forEach(note);
    const segments = segmentsByDoc.get(docId) ?? [];
    const filterRejected = filterRejectedByDoc.get(docId) ?? [];
    filterRejected.forEach(note);
    if (docRejections.length === 0 && segments.length === 0 && filterRejected.length === 0) o.unaccounted.push(`document ${docId}: no segment and no rejection`);
    for (const segment of segments) {
      const segId = String(segment.id);
      if (segment.keep !== true) {
        o.dropped.push({ id: segId, by: String(segment.by), reason: typeof segment.reason === 'string' ? segment.reason : undefined });
        continue;
      }
      const extractRejections = (rejectionsById.get(segId) ?? []).filter((r) => r.stage === 'extract');
      extractRejections.forEach(note);
      const extraction = extractionBySegment.get(segId);
      if (extraction === undefined) {
        if (extractRejections.length === 0) o.unaccounted.push(`segment ${segId}: kept, but no extraction and no rejection`);
        continue;
      }
      const workflows = Array.isArray(extraction.workflows) ? extraction.workflows.length : 0;
      for (let k = 0; k < workflows; k++) {
        const id = trajectoryId(segId, k);
        const rejections = rejectionsById.get(id) ?? [];
        rejections.forEach(note);
        if (finalIds.has(id)) o.passed.push(id);
        else if (rejections.length === 0) o.unaccounted.push(`trajectory ${id}: neither in the dataset nor rejected`);
      }
    }
    for (const r of o.rejected) if (r.checks.length === 0) o.unaccounted.push(`rejection ${r.stage}:${r.id} has no reason`);
    out.set(docId, o);
  }
  return out;
}

/** Problems of {@link documentOutcomes}, flattened; empty when every document is accounted for. */
export function unaccounted(outcomes: Map<string, DocumentOutcome>): string[] {
  return [...outcomes.values()].flatMap((o) => o.unaccounted);
}

/** The records of a file as a map id → canonical JSON text, for comparing two runs. */
export function contentById(records: RunRecord[], key: (r: RunRecord) => string = (r) => String(r.id)): Map<string, string> {
  return new Map(records.map((r) => [key(r), JSON.stringify(r)]));
}

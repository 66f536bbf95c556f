/**
 * The accounting invariant (DESIGN.md §1), computed from the files of a run directory rather
 * than from counters in memory: what is on disk is what the user gets, and the figures stay
 * right across crashes, resumes and merges.
 *
 *   documents → segments → kept → extracted → (workflows) → generated → refined → passed
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonl } from '../io/jsonl.js';
import { RUN_FILES } from './run-dir.js';

export interface Funnel {
  /** Documents that reached segmentation (some segment, or a segment-stage rejection). */
  documents: number;
  /** Input records that never became documents (bad JSON, no text, empty, duplicate id). */
  input_rejected: number;
  /** Segments cut from documents: kept + dropped + filter_rejected. */
  segments: number;
  kept: number;
  dropped: number;
  /** Segments the filter could not decide (endpoint failure); retried on rerun. */
  filter_rejected: number;
  /** Segments with an extraction (run) — in synthesize mode, always 0. */
  extracted: number;
  extract_rejected: number;
  /** Trajectories expected: workflows of extractions (run) or kept segments (synthesize). */
  workflows: number;
  generated: number;
  generate_rejected: number;
  /** Lines in trajectories.refined.jsonl that are a successful rewrite. */
  refined: number;
  /** Lines in trajectories.refined.jsonl that kept the original because the rewrite failed. */
  refine_fallback: number;
  passed: number;
  /** Rejections at the refine stage (endpoint failures; the single-stage command's missing sources). */
  refine_rejected: number;
  validate_rejected: number;
  judge_rejected: number;
  /** Rejections caused by the endpoint, not the data: a rerun tries these records again. */
  retryable: number;
  /** Segments by what decided them (`heuristic`, `model`, `llm`, `cascade-low`, `cascade-high`, `error`). */
  decided_by: Record<string, number>;
  /** Count of rejections by stage and check id. */
  rejections: Record<string, Record<string, number>>;
  /** Records between stages (non-zero only for an unfinished run). */
  pending: { extract: number; generate: number; validate: number };
  /** True when every record is accounted for. */
  balanced: boolean;
}

async function* records(file: string): AsyncGenerator<Record<string, unknown>> {
  if (!existsSync(file)) return;
  for await (const entry of readJsonl(file)) {
    if (entry.error === undefined && entry.value !== null && typeof entry.value === 'object') yield entry.value as Record<string, unknown>;
  }
}

/** Which stages a run had: `filter` runs stop after segments.jsonl. */
export type FunnelMode = 'run' | 'synthesize' | 'filter';

export async function computeFunnel(dir: string, mode: FunnelMode = 'run'): Promise<Funnel> {
  const f: Funnel = {
    documents: 0,
    input_rejected: 0,
    segments: 0,
    kept: 0,
    dropped: 0,
    filter_rejected: 0,
    extracted: 0,
    extract_rejected: 0,
    workflows: 0,
    generated: 0,
    generate_rejected: 0,
    refined: 0,
    refine_fallback: 0,
    passed: 0,
    refine_rejected: 0,
    validate_rejected: 0,
    judge_rejected: 0,
    retryable: 0,
    decided_by: {},
    rejections: {},
    pending: { extract: 0, generate: 0, validate: 0 },
    balanced: true,
  };
  const docs = new Set<string>();
  for await (const s of records(join(dir, RUN_FILES.segments))) {
    f.segments++;
    if (typeof s.doc_id === 'string') docs.add(s.doc_id);
    const by = String(s.by ?? 'unknown');
    f.decided_by[by] = (f.decided_by[by] ?? 0) + 1;
    if (s.keep === true) f.kept++;
    else f.dropped++;
  }
  for await (const e of records(join(dir, RUN_FILES.extractions))) {
    f.extracted++;
    f.workflows += Array.isArray(e.workflows) ? e.workflows.length : 0;
  }
  for await (const _ of records(join(dir, RUN_FILES.raw))) f.generated++;
  for await (const r of records(join(dir, RUN_FILES.refined))) {
    const meta = (r.meta ?? {}) as Record<string, unknown>;
    if (meta.refine_fallback !== undefined) f.refine_fallback++;
    else f.refined++;
  }
  for await (const _ of records(join(dir, RUN_FILES.final))) f.passed++;
  for await (const r of records(join(dir, RUN_FILES.rejected))) {
    const stage = String(r.stage);
    const reasons = Array.isArray(r.reasons) ? (r.reasons as Array<{ check?: unknown }>) : [];
    const byCheck = (f.rejections[stage] ??= {});
    for (const reason of reasons) {
      const check = String(reason.check ?? 'unknown');
      byCheck[check] = (byCheck[check] ?? 0) + 1;
    }
    if (r.retryable === true) f.retryable++;
    switch (stage) {
      case 'input':
        f.input_rejected++;
        break;
      case 'segment':
        if (typeof r.id === 'string') docs.add(r.id);
        break;
      case 'filter': {
        f.filter_rejected++;
        f.segments++;
        const doc = (r.source as { doc_id?: unknown } | undefined)?.doc_id;
        if (typeof doc === 'string') docs.add(doc);
        break;
      }
      case 'extract':
        f.extract_rejected++;
        break;
      case 'generate':
      case 'synthesize':
        f.generate_rejected++;
        break;
      case 'refine':
        f.refine_rejected++;
        break;
      case 'validate':
        f.validate_rejected++;
        break;
      case 'judge':
        f.judge_rejected++;
        break;
    }
  }
  f.documents = docs.size;
  if (mode === 'synthesize') f.workflows = f.kept;
  f.pending.extract = mode === 'run' ? f.kept - f.extracted - f.extract_rejected : 0;
  f.pending.generate = mode === 'filter' ? 0 : f.workflows - f.generated - f.generate_rejected;
  f.pending.validate = mode === 'filter' ? 0 : f.generated - f.passed - f.refine_rejected - f.validate_rejected - f.judge_rejected;
  f.balanced =
    f.segments === f.kept + f.dropped + f.filter_rejected &&
    f.pending.extract === 0 &&
    f.pending.generate === 0 &&
    f.pending.validate === 0;
  return f;
}

/** The funnel as the lines printed at the end of a run. */
export function formatFunnel(f: Funnel, mode: FunnelMode = 'run'): string {
  const lines = [
    `documents ${f.documents} (+${f.input_rejected} input rejected) → segments ${f.segments} → kept ${f.kept} (dropped ${f.dropped}${f.filter_rejected > 0 ? `, undecided ${f.filter_rejected}` : ''})`,
  ];
  if (mode !== 'filter') {
    lines.push(
      mode === 'run'
      ? `→ extracted ${f.extracted} (rejected ${f.extract_rejected}) → workflows ${f.workflows} → generated ${f.generated} (rejected ${f.generate_rejected})`
        : `→ synthesized ${f.generated} (rejected ${f.generate_rejected})`,
      `→ refined ${f.refined} (kept original ${f.refine_fallback}) → passed ${f.passed} (validate rejected ${f.validate_rejected}, judge rejected ${f.judge_rejected})`,
    );
  }
  const rej = Object.entries(f.rejections)
    .map(([stage, checks]) => `  ${stage}: ${Object.entries(checks).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`)
    .join('\n');
  if (rej !== '') lines.push(`rejections by stage and reason:\n${rej}`);
  const filterErrors = f.decided_by.error ?? 0;
  if (filterErrors > 0) lines.push(`${filterErrors} segment(s) dropped because the relevance judge's answer was unusable (by "error" in segments.jsonl)`);
  if (f.retryable > 0) lines.push(`${f.retryable} rejection(s) were endpoint failures: rerun the same command to retry them`);
  lines.push(f.balanced ? 'accounting: every record is accounted for' : `accounting: UNBALANCED ${JSON.stringify(f.pending)}`);
  return lines.join('\n');
}

/** Decisions the filter made without a model call, from the segments on disk. */
export function filterCallsSaved(f: Funnel): number {
  const d = f.decided_by;
  return (d.heuristic ?? 0) + (d.model ?? 0) + (d['cascade-low'] ?? 0) + (d['cascade-high'] ?? 0);
}

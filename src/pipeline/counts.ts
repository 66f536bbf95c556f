/**
 * The accounting invariant (DESIGN.md §1), computed from the files of a run directory and the
 * command's step list rather than from counters in memory: what is on disk is what the user
 * gets, and the figures stay right across crashes, resumes and merges. A new step appears in
 * the funnel by being in its list.
 *
 * Per step: records in, records out, rejected (retryable included), pending (in − out −
 * rejected: non-zero only for an unfinished run), and its outputs by label.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigSchema, type Config } from '../config.js';
import { readJsonl } from '../io/jsonl.js';
import { buildPipeline, type CorpusMode } from './pipelines.js';
import { RUN_FILES } from './run-dir.js';
import type { Step } from './step.js';

/** One step's figures. */
export interface StepCount {
  step: string;
  /** Records that reached the step and were work for it. */
  in: number;
  /** Records it made (for a stored step: lines in its file). */
  out: number;
  /** Records it rejected, retryable ones included. */
  rejected: number;
  /** Of `rejected`, endpoint failures a rerun retries. */
  retryable: number;
  /** Records that reached the step and have no outcome yet (an unfinished run). */
  pending: number;
  /** Outputs the next step does not take (the filter's dropped segments). */
  dropped: number;
  /** Outputs by the step's labels (`kept`, `dropped`, `by:heuristic`, `refined`, `fallback`). */
  tally: Record<string, number>;
}

export interface Funnel {
  /** Every step of the command, in order. */
  steps: StepCount[];
  /** Documents that reached segmentation (some segment, or a rejection of theirs). */
  documents: number;
  /** Input records that never became records for the first step (bad JSON, no text, …). */
  input_rejected: number;
  /** Segments cut from documents: kept + dropped + filter_rejected + duplicates + segments contaminated. */
  segments: number;
  /** Segments rejected as repeats of a kept one (step `dedup`, check `duplicate_segment`). */
  duplicates: number;
  /** Records rejected for sharing text with a benchmark (check `contaminated`), segments and trajectories. */
  contaminated: number;
  kept: number;
  dropped: number;
  /** Segments the filter could not decide (endpoint failure); retried on rerun. */
  filter_rejected: number;
  extracted: number;
  extract_rejected: number;
  /** Trajectories expected: workflows of extractions (run) or kept segments (synthesize). */
  workflows: number;
  generated: number;
  generate_rejected: number;
  /** Successful rewrites in trajectories.refined.jsonl. */
  refined: number;
  /** Lines of trajectories.refined.jsonl that kept the original because the rewrite failed. */
  refine_fallback: number;
  passed: number;
  refine_rejected: number;
  validate_rejected: number;
  judge_rejected: number;
  /** Rejections caused by the endpoint, not the data: a rerun tries these records again. */
  retryable: number;
  /** Segments by what decided them (`heuristic`, `model`, `llm`, `cascade-low`, `cascade-high`, `error`). */
  decided_by: Record<string, number>;
  /** Count of rejections by stage and check id. */
  rejections: Record<string, Record<string, number>>;
  /** Records waiting at each step (non-zero only for an unfinished run); empty when balanced. */
  pending: Record<string, number>;
  /** True when every record is accounted for. */
  balanced: boolean;
}

/** Which step list a run directory was made with. */
export type FunnelMode = CorpusMode | 'validate';

async function* records(file: string): AsyncGenerator<Record<string, unknown>> {
  if (!existsSync(file)) return;
  for await (const entry of readJsonl(file)) {
    if (entry.error === undefined && entry.value !== null && typeof entry.value === 'object') yield entry.value as Record<string, unknown>;
  }
}

/** The config a run directory was made with (run.json), or the defaults. */
export function runConfig(dir: string): Config {
  const file = join(dir, RUN_FILES.runJson);
  if (existsSync(file)) {
    try {
      const saved = (JSON.parse(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> }).config;
      // base_urls are written with credentials removed and are not needed for counting.
      const parsed = ConfigSchema.safeParse({ ...saved, base_urls: [] });
      if (parsed.success) return parsed.data;
    } catch {
      // unreadable run.json: count with the defaults
    }
  }
  return ConfigSchema.parse({});
}

interface RejectionTally {
  total: number;
  retryable: number;
  byCheck: Record<string, number>;
  docIds: Set<string>;
}

export async function computeFunnel(dir: string, mode: FunnelMode = 'run', config: Config = runConfig(dir)): Promise<Funnel> {
  // A validate folder has no run.json: whether the judge ran is read from its records.
  const used = mode === 'validate' ? { ...config, judge: await judgeRan(dir) } : config;
  return countSteps(dir, buildPipeline(mode, { config: used }));
}

/** A verdict on the first passed record, or any judge rejection. */
async function judgeRan(dir: string): Promise<boolean> {
  for await (const t of records(join(dir, RUN_FILES.final))) return (t.meta as { judge?: unknown } | undefined)?.judge !== undefined;
  for await (const r of records(join(dir, RUN_FILES.rejected))) if (r.stage === 'judge') return true;
  return false;
}

/** The funnel of any step list over a run directory. */
export async function countSteps(dir: string, steps: readonly Step[]): Promise<Funnel> {
  const byStage = new Map<string, RejectionTally>();
  for await (const r of records(join(dir, RUN_FILES.rejected))) {
    const stage = String(r.stage);
    const t = byStage.get(stage) ?? { total: 0, retryable: 0, byCheck: {}, docIds: new Set<string>() };
    byStage.set(stage, t);
    t.total++;
    if (r.retryable === true) t.retryable++;
    for (const reason of Array.isArray(r.reasons) ? (r.reasons as Array<{ check?: unknown }>) : []) {
      const check = String(reason.check ?? 'unknown');
      t.byCheck[check] = (t.byCheck[check] ?? 0) + 1;
    }
    const doc = (r.source as { doc_id?: unknown } | undefined)?.doc_id ?? (stage === 'segment' ? r.id : undefined);
    if (typeof doc === 'string') t.docIds.add(doc);
  }
  const counts: StepCount[] = steps.map((s) => ({
    step: s.name,
    in: 0,
    out: 0,
    rejected: byStage.get(s.name)?.total ?? 0,
    retryable: byStage.get(s.name)?.retryable ?? 0,
    pending: 0,
    dropped: 0,
    tally: {},
  }));
  const fed = steps.map(() => false);
  const docs = new Set<string>();
  let firstStored = -1;

  /** Takes an output of step i on through the pure steps after it, counting what reaches each. */
  const propagate = (i: number, record: unknown): void => {
    const next = steps[i + 1];
    const count = counts[i + 1];
    if (next === undefined || count === undefined) return;
    fed[i + 1] = true;
    if (next.accepts !== undefined && !next.accepts(record as never)) {
      (counts[i] as StepCount).dropped++;
      return;
    }
    count.in++;
    if (next.store !== undefined || next.expand === undefined) return;
    const outs = next.expand(record as never);
    count.out += outs.length;
    for (const out of outs) propagate(i + 1, out);
  };

  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as Step;
    const count = counts[i] as StepCount;
    if (step.store !== undefined) {
      if (firstStored < 0) firstStored = i;
      for await (const record of records(join(dir, RUN_FILES[step.store]))) {
        count.out++;
        for (const label of step.tally?.(record as never) ?? []) count.tally[label] = (count.tally[label] ?? 0) + 1;
        if (i === firstStored && typeof record.doc_id === 'string') docs.add(record.doc_id);
        propagate(i, record);
      }
      // Nothing upstream is on disk (the first stored step): what reached it is what it decided.
      if (!fed[i]) count.in = count.out + count.rejected;
      count.pending = count.in - count.out - count.rejected;
    } else if (step.expand === undefined || i === 0) {
      // A pure pass-through (validate before the judge), or a first step whose input is not on
      // disk: everything that reached it and was not rejected went on.
      if (fed[i]) {
        count.out = count.in - count.rejected;
        const next = counts[i + 1];
        if (next !== undefined) {
          next.in += count.out;
          fed[i + 1] = true;
        }
      }
    }
  }
  // Leading steps before the first stored one (segment): their figures come from what follows.
  for (let i = firstStored - 1; i >= 0; i--) {
    const count = counts[i] as StepCount;
    count.out = (counts[i + 1] as StepCount).in;
    if (steps[i]?.input !== 'document') count.in = count.out + count.rejected;
  }
  if (steps[0]?.input === 'document') {
    for (let i = 0; i <= Math.max(firstStored, 0); i++) for (const id of byStage.get(steps[i]?.name ?? '')?.docIds ?? []) docs.add(id);
    const first = counts[0] as StepCount;
    if (steps[0]?.store === undefined) first.in = docs.size;
  }
  return legacyFigures(counts, byStage, docs.size);
}

/** The named figures of the standard steps (what stats, reports and compare read). */
function legacyFigures(steps: StepCount[], byStage: Map<string, RejectionTally>, documents: number): Funnel {
  const at = (name: string): StepCount | undefined => steps.find((s) => s.step === name);
  const n = (name: string, key: 'in' | 'out' | 'rejected'): number => at(name)?.[key] ?? 0;
  const tally = (name: string, label: string): number => at(name)?.tally[label] ?? 0;
  const maker = at('generate') !== undefined ? 'generate' : 'synthesize';
  const filter = at('filter');
  const decidedBy: Record<string, number> = {};
  for (const [label, v] of Object.entries(filter?.tally ?? {})) if (label.startsWith('by:')) decidedBy[label.slice(3)] = v;
  const rejections: Record<string, Record<string, number>> = {};
  let retryable = 0;
  for (const [stage, t] of byStage) {
    rejections[stage] = t.byCheck;
    retryable += t.retryable;
  }
  const pending: Record<string, number> = {};
  for (const s of steps) if (s.pending !== 0) pending[s.step] = s.pending;
  const last = steps.at(-1);
  return {
    steps,
    documents,
    input_rejected: (byStage.get('input')?.total ?? 0) + (byStage.get('import')?.total ?? 0),
    segments: at('segment')?.out ?? filter?.in ?? 0,
    duplicates: n('dedup', 'rejected'),
    contaminated: Object.values(rejections).reduce((sum, checks) => sum + (checks.contaminated ?? 0), 0),
    kept: tally('filter', 'kept'),
    dropped: tally('filter', 'dropped'),
    filter_rejected: n('filter', 'rejected'),
    extracted: n('extract', 'out'),
    extract_rejected: n('extract', 'rejected'),
    workflows: n(maker, 'in'),
    generated: n(maker, 'out'),
    generate_rejected: n(maker, 'rejected'),
    refined: tally('refine', 'refined'),
    refine_fallback: tally('refine', 'fallback'),
    passed: last !== undefined && (last.step === 'validate' || last.step === 'judge') ? last.out : 0,
    refine_rejected: n('refine', 'rejected'),
    validate_rejected: n('validate', 'rejected'),
    judge_rejected: n('judge', 'rejected'),
    retryable,
    decided_by: decidedBy,
    rejections,
    pending,
    balanced: Object.keys(pending).length === 0,
  };
}

/** The funnel as the lines printed at the end of a run: one line per step. */
export function formatFunnel(f: Funnel): string {
  const lines = [`documents ${f.documents}${f.input_rejected > 0 ? ` (+${f.input_rejected} input rejected)` : ''}`];
  for (const s of f.steps) {
    const parts: string[] = [];
    if (s.rejected > 0) parts.push(`rejected ${s.rejected}${s.retryable > 0 ? `, ${s.retryable} to retry` : ''}`);
    if (s.dropped > 0) parts.push(`dropped ${s.dropped}`);
    if (s.pending > 0) parts.push(`pending ${s.pending}`);
    const labels = Object.entries(s.tally).filter(([k]) => !k.startsWith('by:') && k !== 'kept' && k !== 'dropped');
    for (const [k, v] of labels) parts.push(`${k} ${v}`);
    lines.push(`  ${s.step.padEnd(10)} ${String(s.in).padStart(7)} → ${String(s.out).padStart(7)}${parts.length > 0 ? `  (${parts.join(', ')})` : ''}`);
  }
  const last = f.steps.at(-1);
  if (last !== undefined && (last.step === 'validate' || last.step === 'judge')) lines.push(`passed ${f.passed}`);
  else if (last?.step === 'filter') lines.push(`kept ${f.kept}, dropped ${f.dropped}`);
  const rej = Object.entries(f.rejections)
    .map(([stage, checks]) => `  ${stage}: ${Object.entries(checks).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`)
    .join('\n');
  if (rej !== '') lines.push(`rejections by stage and reason:\n${rej}`);
  const cleaned = [f.duplicates > 0 ? `${f.duplicates} duplicate segment(s) removed` : '', f.contaminated > 0 ? `${f.contaminated} record(s) sharing text with a benchmark rejected` : ''].filter(Boolean);
  if (cleaned.length > 0) lines.push(cleaned.join(', '));
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

/**
 * Everything `stats`, `report` and `view` say about a run directory, read from its files:
 * the funnel (recomputed, not trusted from run.json), the shape figures of the dataset and
 * of the unrefined trajectories, judge verdict rates over every judged trajectory, and the
 * usage and wall time recorded in run.json.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../io/documents.js';
import { readJsonl } from '../io/jsonl.js';
import { formatCost, formatSaved, type UsageFigures, type UsageReport } from '../llm/usage.js';
import { computeFunnel, type Funnel, type FunnelMode } from '../pipeline/counts.js';
import { readSettledRunJson, RUN_FILES } from '../pipeline/run-dir.js';
import type { RunJsonOnDisk } from '../pipeline/run-json.js';

export { readSettledRunJson, type RunJsonOnDisk };
import { computeStats, type RubricRate, type TrajectoryStats } from './stats.js';

export class ReportError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Why `path` (not a directory) cannot be read as a run directory, with the way to get one from a file. */
export function notRunDirectory(path: string): ReportError {
  if (!existsSync(path)) return new ReportError(`${path}: no such directory`);
  return new ReportError(
    `${path}: a file, not a run directory; this command reads the folder of a run or of gemtraj validate (for a file of trajectories: gemtraj validate ${path} --no-judge --out DIR, then give DIR)`,
  );
}

/**
 * The funnel's mode: run.json's command when it names one ('filter' runs stop after
 * segments.jsonl); otherwise 'validate' for trajectories with no earlier stage's file, 'synthesize' when
 * there are trajectories but no extraction step.
 */
export function runMode(dir: string, runJson: RunJsonOnDisk | undefined): FunnelMode {
  if (runJson?.command === 'synthesize' || runJson?.command === 'filter') return runJson.command;
  if (runJson?.command !== undefined) return 'run';
  // `validate` writes no run.json, only its product and rejections.
  const has = (f: string): boolean => existsSync(join(dir, f));
  if (!has(RUN_FILES.segments) && !has(RUN_FILES.extractions) && !has(RUN_FILES.raw) && (has(RUN_FILES.final) || has(RUN_FILES.rejected))) return 'validate';
  return !existsSync(join(dir, RUN_FILES.extractions)) && existsSync(join(dir, RUN_FILES.raw)) ? 'synthesize' : 'run';
}

/** segment id → task category, from extractions.jsonl (one small entry per kept segment). */
export async function taskIndex(dir: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const file = join(dir, RUN_FILES.extractions);
  if (!existsSync(file)) return map;
  for await (const entry of readJsonl(file)) {
    if (entry.error !== undefined || entry.value === null || typeof entry.value !== 'object') continue;
    const e = entry.value as { id?: unknown; task_category?: unknown };
    if (typeof e.id === 'string' && typeof e.task_category === 'string') map.set(e.id, e.task_category);
  }
  return map;
}

export interface JudgeRates {
  /** Trajectories the judge saw: passed ones with a verdict + judge rejections. */
  judged: number;
  passed: number;
  rejected: number;
  /** Share of judged trajectories the judge let through. */
  pass_rate: number;
  /**
   * Per rubric over every judged trajectory. A rejection names the rubrics it failed; the
   * rubrics it does not name count as passed.
   */
  rubrics: Record<string, RubricRate>;
}

export interface RunAnalysis {
  dir: string;
  command: string;
  mode: FunnelMode;
  runJson: RunJsonOnDisk | undefined;
  funnel: Funnel;
  /** Shape of the dataset (trajectories.jsonl). */
  stats: TrajectoryStats;
  /** Shape before refinement (trajectories.raw.jsonl), when that file exists. */
  rawStats: TrajectoryStats | undefined;
  judge: JudgeRates;
  usage: UsageReport | undefined;
  /** Wall time over all sessions, seconds (sum over shards for a merged run). */
  duration_s: number | undefined;
}

function judgeRates(stats: TrajectoryStats, funnel: Funnel): JudgeRates {
  const rubrics = new Map<string, RubricRate>();
  for (const [name, r] of Object.entries(stats.judge.rubrics)) rubrics.set(name, { ...r });
  const failed = funnel.rejections.judge ?? {};
  const rejected = funnel.judge_rejected;
  for (const [check, n] of Object.entries(failed)) {
    const m = /^judge_(.+)$/.exec(check);
    if (m?.[1] === undefined) continue;
    const r = rubrics.get(m[1]) ?? { pass: 0, fail: 0, pass_rate: 0 };
    r.fail += n;
    rubrics.set(m[1], r);
  }
  for (const [name, r] of rubrics) r.pass += Math.max(0, rejected - (failed[`judge_${name}`] ?? 0));
  for (const r of rubrics.values()) r.pass_rate = r.pass + r.fail === 0 ? 0 : r.pass / (r.pass + r.fail);
  const judged = stats.judge.judged + rejected;
  return {
    judged,
    passed: stats.judge.judged,
    rejected,
    pass_rate: judged === 0 ? 0 : stats.judge.judged / judged,
    rubrics: Object.fromEntries([...rubrics.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
  };
}

/** Reads a run directory once, streaming each file. */
export async function analyzeRun(dir: string): Promise<RunAnalysis> {
  if (!isDirectory(dir)) throw notRunDirectory(dir);
  const runJson = readSettledRunJson(dir);
  const hasData = [RUN_FILES.segments, RUN_FILES.final, RUN_FILES.raw, RUN_FILES.rejected].some((f) => existsSync(join(dir, f)));
  if (runJson === undefined && !hasData) throw new ReportError(`${dir}: not a run directory (no run.json, segments.jsonl or trajectories.jsonl)`);
  const mode = runMode(dir, runJson);
  const funnel = await computeFunnel(dir, mode);
  const tasks = await taskIndex(dir);
  const taskOf = (t: { source: { segment_id?: string | undefined } }): string | undefined =>
    t.source.segment_id === undefined ? undefined : tasks.get(t.source.segment_id);
  const finalFile = join(dir, RUN_FILES.final);
  const rawFile = join(dir, RUN_FILES.raw);
  const stats = await computeStats(existsSync(finalFile) ? finalFile : emptySource(), { taskOf });
  const rawStats = mode === 'run' && existsSync(rawFile) ? await computeStats(rawFile, { taskOf }) : undefined;
  return {
    dir,
    command: runJson?.command ?? mode,
    mode,
    runJson,
    funnel,
    stats,
    rawStats,
    judge: judgeRates(stats, funnel),
    usage: runJson?.usage ?? undefined,
    duration_s: typeof runJson?.duration_s === 'number' ? runJson.duration_s : undefined,
  };
}

async function* emptySource(): AsyncGenerator<never> {}

// ---------------------------------------------------------------------------------------------
// Text

export function formatUsage(usage: UsageReport | undefined, duration: number | undefined): string {
  if (usage === undefined) return `usage: not recorded (no run.json usage)${duration !== undefined ? `; wall time ${formatDuration(duration)}` : ''}`;
  const t = usage.totals;
  const lines = [
    `calls ${t.calls} paid + ${t.cached_calls} cached (${t.failed_calls} failed, ${t.retries} retries${(t.unconfirmed_calls ?? 0) > 0 ? `, ${t.unconfirmed_calls} unconfirmed: in flight when a process died` : ''}); tokens ${t.prompt_tokens} prompt + ${t.completion_tokens} completion; cost ${formatCost(t)} (cache saved ${formatSaved(t)}); wall time ${duration !== undefined ? formatDuration(duration) : '-'}`,
  ];
  for (const [stage, models] of Object.entries(usage.by_stage)) {
    for (const [model, f] of Object.entries(models ?? {})) lines.push(`  ${stage} ${model}: ${figuresLine(f)}`);
  }
  if (usage.unpriced_models.length > 0) lines.push(`  no price for ${usage.unpriced_models.join(', ')} (their cost is unknown)`);
  return lines.join('\n');
}

function figuresLine(f: UsageFigures): string {
  const saved = f.cached_calls > 0 ? ` (cache saved ${formatSaved(f)})` : '';
  return `${f.calls} calls + ${f.cached_calls} cached, ${f.prompt_tokens} + ${f.completion_tokens} tokens, ${formatCost(f)}${saved}`;
}

export function formatDuration(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = Math.round(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s` : `${m}m${String(r).padStart(2, '0')}s`;
}

export function formatJudge(j: JudgeRates): string {
  if (j.judged === 0) return 'judge: no verdicts';
  const rubrics = Object.entries(j.rubrics).map(([r, v]) => `${r} ${(v.pass_rate * 100).toFixed(1)}%`);
  return `judge: ${j.judged} judged, ${j.passed} passed (${(j.pass_rate * 100).toFixed(1)}%)${rubrics.length > 0 ? `; per rubric: ${rubrics.join(', ')}` : ''}`;
}

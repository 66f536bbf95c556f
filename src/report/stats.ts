/**
 * Shape statistics of a trajectory dataset, streamed: each figure is an integer per
 * trajectory, so a count map per figure gives exact means and quantiles in memory that
 * grows with the number of distinct values, not with the number of trajectories.
 */
import { readRecordFile } from '../io/record-file.js';
import { TrajectorySchema, type Trajectory } from '../records.js';
import { NEAR_TRAJECTORY_THRESHOLD, NearTrajectoryFinder, type NearTrajectory } from '../dedup/near-trajectories.js';

/** mean / median / p10 / p90 / max of one figure over the trajectories. */
export interface Summary {
  mean: number;
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
}

/**
 * A multiset of integers kept as value → count. Quantiles are the linear interpolation
 * between order statistics (NumPy's default, "type 7"), so the median of an even count is
 * the mean of the two middle values.
 */
export class IntDistribution {
  private readonly counts = new Map<number, number>();
  private sorted: Array<[number, number]> | undefined;
  n = 0;
  sum = 0;

  add(value: number, times = 1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + times);
    this.n += times;
    this.sum += value * times;
    this.sorted = undefined;
  }

  /** Sorted `[value, count]` pairs: the histogram. */
  entries(): Array<[number, number]> {
    this.sorted ??= [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
    return this.sorted;
  }

  /** The k-th smallest value (0-based). */
  private nth(k: number): number {
    let seen = 0;
    for (const [value, count] of this.entries()) {
      seen += count;
      if (k < seen) return value;
    }
    return this.entries().at(-1)?.[0] ?? 0;
  }

  quantile(q: number): number {
    if (this.n === 0) return 0;
    const h = (this.n - 1) * q;
    const lo = Math.floor(h);
    const a = this.nth(lo);
    if (h === lo) return a;
    return a + (h - lo) * (this.nth(lo + 1) - a);
  }

  summary(): Summary {
    const entries = this.entries();
    return {
      mean: this.n === 0 ? 0 : this.sum / this.n,
      median: this.quantile(0.5),
      p10: this.quantile(0.1),
      p90: this.quantile(0.9),
      min: entries[0]?.[0] ?? 0,
      max: entries.at(-1)?.[0] ?? 0,
    };
  }
}

export const SHAPE_KEYS = [
  'messages',
  'distinct_tools',
  'tools_defined',
  'tool_calls',
  'user_turns',
  'assistant_turns',
  'parallel_call_turns',
] as const;
export type ShapeKey = (typeof SHAPE_KEYS)[number];

export const SHAPE_LABELS: Record<ShapeKey, string> = {
  messages: 'messages',
  distinct_tools: 'distinct tools called',
  tools_defined: 'tools defined',
  tool_calls: 'tool calls',
  user_turns: 'user turns',
  assistant_turns: 'assistant turns',
  parallel_call_turns: 'parallel-call turns',
};

/** The per-trajectory figures. `messages` counts every message, the system prompt included. */
export function trajectoryShape(t: Trajectory): Record<ShapeKey, number> {
  const called = new Set<string>();
  let toolCalls = 0;
  let user = 0;
  let assistant = 0;
  let parallel = 0;
  for (const m of t.messages) {
    if (m.role === 'user') user++;
    else if (m.role === 'assistant') {
      assistant++;
      const calls = m.tool_calls ?? [];
      toolCalls += calls.length;
      if (calls.length > 1) parallel++;
      for (const c of calls) called.add(c.function.name);
    }
  }
  return {
    messages: t.messages.length,
    distinct_tools: called.size,
    tools_defined: t.tools.length,
    tool_calls: toolCalls,
    user_turns: user,
    assistant_turns: assistant,
    parallel_call_turns: parallel,
  };
}

export interface RubricRate {
  pass: number;
  fail: number;
  /** pass / (pass + fail). */
  pass_rate: number;
}

export interface TrajectoryStats {
  count: number;
  /** Lines that were not JSON or not a trajectory (skipped). */
  invalid: number;
  shape: Record<ShapeKey, Summary>;
  /** `[value, trajectories]` pairs per figure, for charts. */
  histograms: Record<ShapeKey, Array<[number, number]>>;
  /** Trajectories per domain / task category / stage, largest first. */
  domains: Record<string, number>;
  tasks: Record<string, number>;
  stages: Record<string, number>;
  /** Trajectories that declare each interaction pattern (`meta.patterns`). */
  patterns: Record<string, number>;
  warnings: {
    /** Trajectories with at least one warning, and their share. */
    with_any: number;
    share: number;
    /** Trajectories with an `argument_provenance` warning (a value not traceable to the context). */
    provenance: number;
    provenance_share: number;
    /** Trajectories with a warning of each check id. */
    by_check: Record<string, number>;
  };
  judge: { judged: number; rubrics: Record<string, RubricRate> };
  refine_fallback: { count: number; rate: number };
  /**
   * Trajectories that nearly repeat an earlier one (same tools, user turns ≥ 0.8 similar): a
   * warning, with the first pairs as examples.
   */
  near_identical: { count: number; examples: NearTrajectory[] };
}

/** Near-identical pairs listed as examples. */
const NEAR_EXAMPLES = 10;

export interface StatsOptions {
  /** Task category of a trajectory when `meta.task_category` is absent (e.g. from extractions.jsonl). */
  taskOf?: ((t: Trajectory) => string | undefined) | undefined;
}

/** Keys of a count map sorted by count (descending), then name: stable output. */
export function sortCounts(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Parseable trajectories of a JSONL file (or JSON array, compressed, Parquet); `onInvalid` counts the records that are not. */
export async function* readTrajectories(file: string, onInvalid?: () => void): AsyncGenerator<Trajectory> {
  for await (const entry of readRecordFile(file)) {
    const parsed = entry.error === undefined ? TrajectorySchema.safeParse(entry.value) : undefined;
    if (parsed?.success === true) yield parsed.data;
    else onInvalid?.();
  }
}

/** Streams the trajectories once and returns every figure. */
export async function computeStats(input: AsyncIterable<Trajectory> | string, options: StatsOptions = {}): Promise<TrajectoryStats> {
  let invalid = 0;
  const source = typeof input === 'string' ? readTrajectories(input, () => invalid++) : input;
  const dists = Object.fromEntries(SHAPE_KEYS.map((k) => [k, new IntDistribution()])) as Record<ShapeKey, IntDistribution>;
  const domains = new Map<string, number>();
  const tasks = new Map<string, number>();
  const stages = new Map<string, number>();
  const patterns = new Map<string, number>();
  const warnChecks = new Map<string, number>();
  const rubrics = new Map<string, RubricRate>();
  let count = 0;
  let withWarnings = 0;
  let provenance = 0;
  let judged = 0;
  let fallback = 0;
  const near = new NearTrajectoryFinder();
  const nearIdentical: TrajectoryStats['near_identical'] = { count: 0, examples: [] };

  for await (const t of source) {
    count++;
    const repeat = near.add(t);
    if (repeat !== undefined) {
      nearIdentical.count++;
      if (nearIdentical.examples.length < NEAR_EXAMPLES) nearIdentical.examples.push(repeat);
    }
    const shape = trajectoryShape(t);
    for (const k of SHAPE_KEYS) dists[k].add(shape[k]);
    const meta: Record<string, unknown> = t.meta ?? {};
    bump(domains, stringOf(t.domain) ?? 'unknown');
    bump(tasks, stringOf(meta.task_category) ?? options.taskOf?.(t) ?? 'unknown');
    bump(stages, stringOf(meta.stage) ?? 'unknown');
    if (Array.isArray(meta.patterns)) {
      // A pattern declared twice in one trajectory counts once: the figure is a share of trajectories.
      for (const p of new Set(meta.patterns.filter((x): x is string => typeof x === 'string'))) bump(patterns, p);
    }
    const warnings = t.meta?.warnings ?? [];
    if (warnings.length > 0) withWarnings++;
    const checks = new Set(warnings.map((w) => w.check));
    for (const c of checks) bump(warnChecks, c);
    if (checks.has('argument_provenance')) provenance++;
    const judge = t.meta?.judge;
    if (judge !== undefined && Object.keys(judge).length > 0) {
      judged++;
      for (const [rubric, verdict] of Object.entries(judge)) {
        const r = rubrics.get(rubric) ?? { pass: 0, fail: 0, pass_rate: 0 };
        if (verdict === 1) r.pass++;
        else r.fail++;
        rubrics.set(rubric, r);
      }
    }
    if (meta.refine_fallback !== undefined) fallback++;
  }

  for (const r of rubrics.values()) r.pass_rate = r.pass / (r.pass + r.fail);
  const share = (n: number): number => (count === 0 ? 0 : n / count);
  return {
    count,
    invalid,
    shape: Object.fromEntries(SHAPE_KEYS.map((k) => [k, dists[k].summary()])) as Record<ShapeKey, Summary>,
    histograms: Object.fromEntries(SHAPE_KEYS.map((k) => [k, dists[k].entries()])) as Record<ShapeKey, Array<[number, number]>>,
    domains: sortCounts(domains),
    tasks: sortCounts(tasks),
    stages: sortCounts(stages),
    patterns: sortCounts(patterns),
    warnings: {
      with_any: withWarnings,
      share: share(withWarnings),
      provenance,
      provenance_share: share(provenance),
      by_check: sortCounts(warnChecks),
    },
    judge: {
      judged,
      rubrics: Object.fromEntries([...rubrics.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    },
    refine_fallback: { count: fallback, rate: share(fallback) },
    near_identical: nearIdentical,
  };
}

// ---------------------------------------------------------------------------------------------
// The paper's figures (GEM, arXiv 2601.10355 v1, Table 5 and "Data & synthesizer")

export interface ReferenceFigure {
  mean: number;
  median?: number | undefined;
}

export const PAPER_REFERENCE: {
  refined: Record<'messages' | 'distinct_tools' | 'tool_calls', ReferenceFigure>;
  before_refinement: Record<'messages' | 'distinct_tools' | 'tool_calls', ReferenceFigure>;
} = {
  refined: {
    messages: { mean: 46.1, median: 41 },
    distinct_tools: { mean: 8.6, median: 8 },
    tool_calls: { mean: 16.3, median: 13 },
  },
  before_refinement: {
    messages: { mean: 30.05 },
    distinct_tools: { mean: 5.01 },
    tool_calls: { mean: 7.83 },
  },
};

export interface PaperComparisonRow {
  figure: 'messages' | 'distinct_tools' | 'tool_calls';
  mean: number;
  median: number;
  /** Our mean of the trajectories before refinement (raw file), when known. */
  before_mean: number | undefined;
  paper_mean: number;
  paper_median: number | undefined;
  paper_before_mean: number;
}

/** Our figures next to the paper's; `before` is the stats of the unrefined trajectories, when known. */
export function compareToPaper(stats: TrajectoryStats, before?: TrajectoryStats): PaperComparisonRow[] {
  return (['messages', 'distinct_tools', 'tool_calls'] as const).map((figure) => ({
    figure,
    mean: stats.shape[figure].mean,
    median: stats.shape[figure].median,
    before_mean: before !== undefined && before.count > 0 ? before.shape[figure].mean : undefined,
    paper_mean: PAPER_REFERENCE.refined[figure].mean,
    paper_median: PAPER_REFERENCE.refined[figure].median,
    paper_before_mean: PAPER_REFERENCE.before_refinement[figure].mean,
  }));
}

// ---------------------------------------------------------------------------------------------
// Text output

/** A number for a table: integers as is, others with `digits` decimals; '-' when absent. */
export function fmt(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function pct(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return `${(value * 100).toFixed(1)}%`;
}

/** Left-aligned first column, right-aligned others. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n');
}

function topCounts(map: Record<string, number>, total: number, limit = 12): string {
  const entries = Object.entries(map);
  const shown = entries.slice(0, limit).map(([k, n]) => `${k} ${n} (${pct(total === 0 ? 0 : n / total)})`);
  if (entries.length > limit) shown.push(`… ${entries.length - limit} more`);
  return shown.join(', ');
}

export interface FormatStatsOptions {
  /** false: leave out the verdicts of these trajectories (a run directory prints rates over every judged trajectory instead, rejections included). */
  judge?: boolean | undefined;
  /**
   * Whether the data went through a refine step: false leaves out the before-refinement
   * columns and the refine-fallback line (synthesize mode has no refine step). Unset: shown
   * for trajectories that carry refine figures, or when `before` is given.
   */
  refine?: boolean | undefined;
}

/** The figures as text; `before` adds the unrefined means next to the paper's. */
export function formatStats(stats: TrajectoryStats, before?: TrajectoryStats, options: FormatStatsOptions = {}): string {
  const refine = options.refine ?? (before !== undefined || stats.refine_fallback.count > 0 || stats.stages.refined !== undefined);
  const lines: string[] = [];
  lines.push(`trajectories ${stats.count}${stats.invalid > 0 ? ` (${stats.invalid} unreadable line(s) skipped)` : ''}`);
  if (stats.count === 0) return lines.join('\n');
  lines.push(
    table([
      ['per trajectory', 'mean', 'median', 'p10', 'p90', 'max'],
      ...SHAPE_KEYS.map((k) => {
        const s = stats.shape[k];
        return [SHAPE_LABELS[k], fmt(s.mean), fmt(s.median, 1), fmt(s.p10, 1), fmt(s.p90, 1), fmt(s.max)];
      }),
    ]),
  );
  lines.push('', refine ? 'against the paper (GEM refined; before refinement):' : 'against the paper (GEM refined):');
  lines.push(
    table([
      ['', 'mean', 'median', 'paper mean', 'paper median', ...(refine ? ['ours before', 'paper before'] : [])],
      ...compareToPaper(stats, before).map((r) => [
        SHAPE_LABELS[r.figure],
        fmt(r.mean),
        fmt(r.median, 1),
        fmt(r.paper_mean),
        fmt(r.paper_median),
        ...(refine ? [fmt(r.before_mean), fmt(r.paper_before_mean)] : []),
      ]),
    ]),
  );
  lines.push('');
  lines.push(`domains: ${topCounts(stats.domains, stats.count)}`);
  lines.push(`tasks: ${topCounts(stats.tasks, stats.count)}`);
  if (Object.keys(stats.patterns).length > 0) lines.push(`patterns: ${topCounts(stats.patterns, stats.count)}`);
  lines.push(`stages: ${topCounts(stats.stages, stats.count)}`);
  lines.push(
    `warnings: ${stats.warnings.with_any} (${pct(stats.warnings.share)}) with any; provenance warnings ${stats.warnings.provenance} (${pct(stats.warnings.provenance_share)})` +
      (Object.keys(stats.warnings.by_check).length > 0 ? `; by check: ${topCounts(stats.warnings.by_check, stats.count)}` : ''),
  );
  const rubrics = Object.entries(stats.judge.rubrics);
  if (options.judge !== false) lines.push(
    rubrics.length === 0
      ? 'judge: no verdicts'
      : `judge verdicts on these trajectories: ${stats.judge.judged} judged; pass rate ${rubrics.map(([r, v]) => `${r} ${pct(v.pass_rate)}`).join(', ')}`,
  );
  if (refine) lines.push(`refine fallback (original kept): ${stats.refine_fallback.count} (${pct(stats.refine_fallback.rate)})`);
  const near = stats.near_identical;
  if (near.count > 0) {
    lines.push(
      `warning: ${near.count} near-identical trajectory(ies) (same tools, user turns ≥ ${NEAR_TRAJECTORY_THRESHOLD} similar to an earlier one), e.g. ` +
        near.examples.slice(0, 3).map((e) => `${e.id} ≈ ${e.of} (${e.similarity.toFixed(2)})`).join(', '),
    );
  }
  return lines.join('\n');
}

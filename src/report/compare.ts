/**
 * `stats --compare`: two runs side by side, normalised per kept (passed) trajectory, so that
 * a full pipeline run (extract → generate → refine → judge) and a synthesizer run (one call
 * per segment) can be weighed on what one dataset line costs and what it looks like.
 * Usage figures are the paid ones: cache hits were paid for by an earlier session or run.
 */
import type { RunAnalysis } from './run-analysis.js';
import { fmt, pct, table } from './stats.js';

export type CompareFormat = 'count' | 'number' | 'usd' | 'seconds' | 'rate';

export interface CompareRow {
  key: string;
  label: string;
  a: number | null;
  b: number | null;
  /** b / a, when both are known and a is not 0. */
  ratio: number | null;
  format: CompareFormat;
}

export interface RunComparison {
  a: { dir: string; command: string };
  b: { dir: string; command: string };
  rows: CompareRow[];
}

function perPassed(value: number | undefined, passed: number): number | null {
  if (value === undefined || passed === 0) return null;
  return value / passed;
}

function rate(num: number, den: number): number | null {
  return den === 0 ? null : num / den;
}

type Figure = (r: RunAnalysis) => number | null;

const FIGURES: Array<[key: string, label: string, format: CompareFormat, figure: Figure]> = [
  ['passed', 'trajectories passed', 'count', (r) => r.funnel.passed],
  ['generated', 'trajectories generated', 'count', (r) => r.funnel.generated],
  ['kept', 'kept segments', 'count', (r) => r.funnel.kept],
  ['calls_per_trajectory', 'calls (paid) / trajectory', 'number', (r) => perPassed(r.usage?.totals.calls, r.funnel.passed)],
  ['cached_calls_per_trajectory', 'cached calls / trajectory', 'number', (r) => perPassed(r.usage?.totals.cached_calls, r.funnel.passed)],
  ['prompt_tokens_per_trajectory', 'prompt tokens / trajectory', 'number', (r) => perPassed(r.usage?.totals.prompt_tokens, r.funnel.passed)],
  ['completion_tokens_per_trajectory', 'completion tokens / trajectory', 'number', (r) => perPassed(r.usage?.totals.completion_tokens, r.funnel.passed)],
  // Unknown (not $0) when some calls had no price.
  ['cost_per_trajectory', 'cost / trajectory', 'usd', (r) => ((r.usage?.totals.unpriced_calls ?? 0) > 0 ? null : perPassed(r.usage?.totals.cost_usd, r.funnel.passed))],
  ['wall_time_per_trajectory', 'wall time / trajectory', 'seconds', (r) => perPassed(r.duration_s, r.funnel.passed)],
  ['pass_rate_generated', 'passed / generated', 'rate', (r) => rate(r.funnel.passed, r.funnel.generated)],
  ['pass_rate_kept', 'passed / kept segments', 'rate', (r) => rate(r.funnel.passed, r.funnel.kept)],
  ['messages_mean', 'messages mean', 'number', (r) => (r.stats.count === 0 ? null : r.stats.shape.messages.mean)],
  ['messages_median', 'messages median', 'number', (r) => (r.stats.count === 0 ? null : r.stats.shape.messages.median)],
  ['distinct_tools_mean', 'distinct tools mean', 'number', (r) => (r.stats.count === 0 ? null : r.stats.shape.distinct_tools.mean)],
  ['distinct_tools_median', 'distinct tools median', 'number', (r) => (r.stats.count === 0 ? null : r.stats.shape.distinct_tools.median)],
  ['tool_calls_mean', 'tool calls mean', 'number', (r) => (r.stats.count === 0 ? null : r.stats.shape.tool_calls.mean)],
  ['tool_calls_median', 'tool calls median', 'number', (r) => (r.stats.count === 0 ? null : r.stats.shape.tool_calls.median)],
];

export function compareRuns(a: RunAnalysis, b: RunAnalysis): RunComparison {
  return {
    a: { dir: a.dir, command: a.command },
    b: { dir: b.dir, command: b.command },
    rows: FIGURES.map(([key, label, format, figure]) => {
      const va = figure(a);
      const vb = figure(b);
      return { key, label, format, a: va, b: vb, ratio: va !== null && vb !== null && va !== 0 ? vb / va : null };
    }),
  };
}

function cell(value: number | null, format: CompareFormat): string {
  if (value === null) return '-';
  switch (format) {
    case 'count':
      return String(value);
    case 'usd':
      return `$${value.toFixed(value < 0.01 && value > 0 ? 6 : 4)}`;
    case 'seconds':
      return `${value.toFixed(2)}s`;
    case 'rate':
      return pct(value);
    case 'number':
      return fmt(value);
  }
}

export function formatComparison(c: RunComparison): string {
  const header = ['', `A: ${c.a.command} ${c.a.dir}`, `B: ${c.b.command} ${c.b.dir}`, 'B / A'];
  const notes = [
    'usage figures are paid calls and tokens (cache hits are listed apart); per trajectory = per passed trajectory',
  ];
  return `${table([header, ...c.rows.map((r) => [r.label, cell(r.a, r.format), cell(r.b, r.format), r.ratio === null ? '-' : `${r.ratio.toFixed(2)}×`])])}\n${notes.join('\n')}`;
}

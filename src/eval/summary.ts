/**
 * Figures of an evaluation from its scored turns: overall, per turn kind, per domain and per
 * interaction pattern (a turn counts under every pattern its trajectory declares), plus the
 * share of trajectories with every turn right. Counts are kept next to the accuracies so that
 * a reader (or a test) can check every figure against the turns.
 */
import type { TurnScore } from './score.js';
import { TURN_KINDS } from './turns.js';

export interface Counts {
  turns: number;
  correct: number;
  decision_ok: number;
  /** Turns where the reference calls (single or parallel). */
  call_turns: number;
  name_ok: number;
  call_ok: number;
  ask_turns: number;
  ask_ok: number;
}

/** Counts and their ratios; a ratio is `null` when nothing was counted under it. */
export interface Figures extends Counts {
  turn_accuracy: number | null;
  decision_accuracy: number | null;
  name_accuracy: number | null;
  call_accuracy: number | null;
  ask_accuracy: number | null;
}

export interface EvalSummary {
  /** The evaluated model, input file and scoring settings. */
  model: string;
  input: string;
  /** Turns of the input that have a score (pending ones are endpoint failures to retry). */
  turns_total: number;
  turns_scored: number;
  turns_pending: number;
  /** Turns the endpoint refused (scored wrong). */
  turns_refused: number;
  trajectories: { total: number; complete: number; all_right: number; all_right_share: number | null };
  overall: Figures;
  by_kind: Record<string, Figures>;
  by_domain: Record<string, Figures>;
  by_pattern: Record<string, Figures>;
  /** Decision errors by direction. */
  confusion: { text_for_call: number; call_for_text: number };
}

function emptyCounts(): Counts {
  return { turns: 0, correct: 0, decision_ok: 0, call_turns: 0, name_ok: 0, call_ok: 0, ask_turns: 0, ask_ok: 0 };
}

function add(c: Counts, s: TurnScore): void {
  c.turns++;
  if (s.correct) c.correct++;
  if (s.decision_ok) c.decision_ok++;
  if (s.kind === 'call' || s.kind === 'parallel') {
    c.call_turns++;
    if (s.name_ok === true) c.name_ok++;
    if (s.call_ok === true) c.call_ok++;
  }
  if (s.kind === 'ask') {
    c.ask_turns++;
    if (s.ask_ok === true) c.ask_ok++;
  }
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);

export function figures(c: Counts): Figures {
  return {
    ...c,
    turn_accuracy: ratio(c.correct, c.turns),
    decision_accuracy: ratio(c.decision_ok, c.turns),
    name_accuracy: ratio(c.name_ok, c.call_turns),
    call_accuracy: ratio(c.call_ok, c.call_turns),
    ask_accuracy: ratio(c.ask_ok, c.ask_turns),
  };
}

function sortedFigures(map: Map<string, Counts>, order?: readonly string[]): Record<string, Figures> {
  const keys = [...map.keys()].sort((a, b) => (order !== undefined ? order.indexOf(a) - order.indexOf(b) : (map.get(b)?.turns ?? 0) - (map.get(a)?.turns ?? 0) || a.localeCompare(b)));
  return Object.fromEntries(keys.map((k) => [k, figures(map.get(k) ?? emptyCounts())]));
}

export interface SummaryInput {
  model: string;
  input: string;
  /** Number of turns of each trajectory of the input. */
  turnsPerTrajectory: ReadonlyMap<string, number>;
}

export function summarize(scores: Iterable<TurnScore>, context: SummaryInput): EvalSummary {
  const overall = emptyCounts();
  const byKind = new Map<string, Counts>();
  const byDomain = new Map<string, Counts>();
  const byPattern = new Map<string, Counts>();
  const perTrajectory = new Map<string, { scored: number; right: number }>();
  const confusion = { text_for_call: 0, call_for_text: 0 };
  let refused = 0;
  const bucket = (map: Map<string, Counts>, key: string): Counts => {
    let c = map.get(key);
    if (c === undefined) map.set(key, (c = emptyCounts()));
    return c;
  };
  for (const s of scores) {
    add(overall, s);
    add(bucket(byKind, s.kind), s);
    add(bucket(byDomain, s.domain), s);
    for (const p of s.patterns) add(bucket(byPattern, p), s);
    const t = perTrajectory.get(s.trajectory_id) ?? { scored: 0, right: 0 };
    t.scored++;
    if (s.correct) t.right++;
    perTrajectory.set(s.trajectory_id, t);
    if (!s.decision_ok) {
      if (s.kind === 'call' || s.kind === 'parallel') confusion.text_for_call++;
      else if (s.answered === 'call') confusion.call_for_text++;
    }
    if (s.problem?.startsWith('the endpoint refused') === true) refused++;
  }
  let total = 0;
  let complete = 0;
  let allRight = 0;
  for (const [id, n] of context.turnsPerTrajectory) {
    total += n;
    const t = perTrajectory.get(id);
    if (t === undefined || t.scored < n) continue;
    complete++;
    if (t.right === n) allRight++;
  }
  return {
    model: context.model,
    input: context.input,
    turns_total: total,
    turns_scored: overall.turns,
    turns_pending: Math.max(0, total - overall.turns),
    turns_refused: refused,
    trajectories: { total: context.turnsPerTrajectory.size, complete, all_right: allRight, all_right_share: ratio(allRight, complete) },
    overall: figures(overall),
    by_kind: sortedFigures(byKind, TURN_KINDS),
    by_domain: sortedFigures(byDomain),
    by_pattern: sortedFigures(byPattern),
    confusion,
  };
}

// ---------------------------------------------------------------------------------------------
// Text

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

const COLUMNS: ReadonlyArray<readonly [string, (f: Figures) => string]> = [
  ['turns', (f) => String(f.turns)],
  ['turn', (f) => pct(f.turn_accuracy)],
  ['decision', (f) => pct(f.decision_accuracy)],
  ['name', (f) => pct(f.name_accuracy)],
  ['call', (f) => pct(f.call_accuracy)],
  ['ask', (f) => pct(f.ask_accuracy)],
];

function table(title: string, rows: Record<string, Figures>, width: number): string[] {
  const labels = Object.keys(rows);
  if (labels.length === 0) return [];
  const head = `${title.padEnd(width)}${COLUMNS.map(([name]) => name.padStart(10)).join('')}`;
  return ['', head, ...labels.map((l) => `${`  ${l}`.padEnd(width)}${COLUMNS.map(([, cell]) => cell(rows[l] as Figures).padStart(10)).join('')}`)];
}

export function formatSummary(s: EvalSummary): string {
  const lines: string[] = [
    `${s.model} on ${s.input}: ${s.turns_scored}/${s.turns_total} turn(s) scored` +
      `${s.turns_pending > 0 ? `, ${s.turns_pending} pending (endpoint failures: rerun to retry)` : ''}` +
      `${s.turns_refused > 0 ? `, ${s.turns_refused} refused by the endpoint (scored wrong)` : ''}`,
    `trajectories with every turn right: ${s.trajectories.all_right}/${s.trajectories.complete} (${pct(s.trajectories.all_right_share)})`,
    `decision errors: ${s.confusion.text_for_call} text where a call was due, ${s.confusion.call_for_text} call where text was due`,
  ];
  const groups: Array<[string, Record<string, Figures>]> = [
    ['overall', { all: s.overall }],
    ['turn kind', s.by_kind],
    ['domain', s.by_domain],
    ['pattern', s.by_pattern],
  ];
  // One label column for every table, so the figures line up down the page.
  const width = Math.max(...groups.flatMap(([title, rows]) => [title.length, ...Object.keys(rows).map((l) => l.length + 2)])) + 2;
  for (const [title, rows] of groups) lines.push(...table(title, rows, width));
  return lines.join('\n');
}

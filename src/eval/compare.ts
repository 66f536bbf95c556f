/**
 * `gemtraj eval --compare A B`: two evaluation directories side by side — each figure of A and
 * B with the difference, and on the turns both scored, how many each got right that the
 * other got wrong (the paired view: what changed between two checkpoints, turn by turn).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../io/documents.js';
import { EVAL_FILES, readTurnScores } from './session.js';
import type { EvalSummary, Figures } from './summary.js';

export interface PairedTurns {
  /** Turns scored in both directories. */
  common: number;
  both_right: number;
  only_a: number;
  only_b: number;
  both_wrong: number;
  /**
   * Exact two-sided McNemar p-value on the turns only one got right: how likely a split this
   * uneven is if A and B were equally good. Turns of one trajectory are not independent, so
   * read it as a guide, not a guarantee. `null` when no turn differs.
   */
  mcnemar_p: number | null;
}

/** Two-sided exact binomial test of `k` successes in `n` at p = 1/2 (McNemar's exact test). */
export function mcnemarP(onlyA: number, onlyB: number): number | null {
  const n = onlyA + onlyB;
  if (n === 0) return null;
  const k = Math.min(onlyA, onlyB);
  // Sum C(n, i) / 2^n for i ≤ k in log space: n can be thousands of turns.
  let logC = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface EvalComparison {
  a: { dir: string; summary: EvalSummary };
  b: { dir: string; summary: EvalSummary };
  paired: PairedTurns;
}

function readSummary(dir: string): EvalSummary {
  const file = join(dir, EVAL_FILES.summary);
  if (!existsSync(file)) throw new InputError(`${dir}: no ${EVAL_FILES.summary} (not a gemtraj eval directory, or the evaluation never finished a session)`);
  return JSON.parse(readFileSync(file, 'utf8')) as EvalSummary;
}

export async function compareEvals(dirA: string, dirB: string): Promise<EvalComparison> {
  const a = readSummary(dirA);
  const b = readSummary(dirB);
  const right = new Map((await readTurnScores(join(dirA, EVAL_FILES.turns))).map((s) => [s.id, s.correct]));
  const paired: PairedTurns = { common: 0, both_right: 0, only_a: 0, only_b: 0, both_wrong: 0, mcnemar_p: null };
  for (const s of await readTurnScores(join(dirB, EVAL_FILES.turns))) {
    const ra = right.get(s.id);
    if (ra === undefined) continue;
    paired.common++;
    if (ra && s.correct) paired.both_right++;
    else if (ra) paired.only_a++;
    else if (s.correct) paired.only_b++;
    else paired.both_wrong++;
  }
  paired.mcnemar_p = mcnemarP(paired.only_a, paired.only_b);
  return { a: { dir: dirA, summary: a }, b: { dir: dirB, summary: b }, paired };
}

const METRICS: ReadonlyArray<readonly [string, keyof Figures]> = [
  ['turn accuracy', 'turn_accuracy'],
  ['decision accuracy', 'decision_accuracy'],
  ['name accuracy', 'name_accuracy'],
  ['call accuracy', 'call_accuracy'],
  ['ask accuracy', 'ask_accuracy'],
];

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
const delta = (a: number | null | undefined, b: number | null | undefined): string =>
  a === null || a === undefined || b === null || b === undefined ? '-' : `${b >= a ? '+' : ''}${(100 * (b - a)).toFixed(1)}`;

function rows(title: string, fa: Figures | undefined, fb: Figures | undefined, width: number): string[] {
  const out = [`${title}  (turns ${fa?.turns ?? 0} / ${fb?.turns ?? 0})`];
  for (const [label, key] of METRICS) {
    const va = fa?.[key] as number | null | undefined;
    const vb = fb?.[key] as number | null | undefined;
    if ((va ?? null) === null && (vb ?? null) === null) continue;
    out.push(`  ${label.padEnd(width)}${pct(va).padStart(9)}${pct(vb).padStart(9)}${delta(va, vb).padStart(9)}`);
  }
  return out;
}

export function formatComparison(c: EvalComparison): string {
  const width = 20;
  const { a, b } = c;
  const lines = [
    `A: ${a.dir} (${a.summary.model})`,
    `B: ${b.dir} (${b.summary.model})`,
    `${''.padEnd(width + 2)}${'A'.padStart(9)}${'B'.padStart(9)}${'B-A'.padStart(9)}`,
    ...rows('overall', a.summary.overall, b.summary.overall, width),
    `  ${'all turns right'.padEnd(width)}${pct(a.summary.trajectories.all_right_share).padStart(9)}${pct(b.summary.trajectories.all_right_share).padStart(9)}${delta(a.summary.trajectories.all_right_share, b.summary.trajectories.all_right_share).padStart(9)}`,
  ];
  const groups: ReadonlyArray<readonly [string, 'by_kind' | 'by_domain' | 'by_pattern']> = [
    ['kind', 'by_kind'],
    ['domain', 'by_domain'],
    ['pattern', 'by_pattern'],
  ];
  for (const [name, key] of groups) {
    const labels = [...new Set([...Object.keys(a.summary[key]), ...Object.keys(b.summary[key])])];
    for (const label of labels) lines.push(...rows(`${name} ${label}`, a.summary[key][label], b.summary[key][label], width));
  }
  const p = c.paired;
  lines.push(
    `turns scored in both: ${p.common}: both right ${p.both_right}, only A right ${p.only_a}, only B right ${p.only_b}, both wrong ${p.both_wrong}` +
      `${p.mcnemar_p === null ? '' : ` (McNemar exact p = ${p.mcnemar_p < 0.001 ? p.mcnemar_p.toExponential(1) : p.mcnemar_p.toFixed(3)})`}`,
  );
  if (a.summary.input !== b.summary.input) lines.push(`note: the two evaluations read different inputs (${a.summary.input} vs ${b.summary.input})`);
  return lines.join('\n');
}

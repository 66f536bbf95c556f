/**
 * Binary classifier figures for the relevance filter: precision, recall, F1 at a threshold,
 * ROC AUC (ties count one half, the Mann-Whitney form), and the threshold with the best F1.
 */

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface Evaluation {
  /** Number of scored examples. */
  n: number;
  /** Number of positive labels. */
  positives: number;
  /** Threshold the figures below were computed at (`score >= threshold` is positive). */
  threshold: number;
  /** tp / (tp + fp); 0 when nothing was predicted positive. */
  precision: number;
  /** tp / (tp + fn); 0 when there are no positives. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
  accuracy: number;
  /** Area under the ROC curve; ties between a positive and a negative count 1/2. NaN when one class is empty. */
  rocAuc: number;
  confusion: Confusion;
  /** Threshold (one of the scores) giving the best F1; ties go to the higher threshold. */
  bestThreshold: number;
  bestF1: number;
}

/** Confusion counts at `threshold` (`score >= threshold` predicts positive). */
export function confusionAt(scores: readonly number[], labels: readonly boolean[], threshold: number): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const predicted = (scores[i] as number) >= threshold;
    if (labels[i] === true) predicted ? c.tp++ : c.fn++;
    else predicted ? c.fp++ : c.tn++;
  }
  return c;
}

function prf(c: Confusion): { precision: number; recall: number; f1: number } {
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/**
 * ROC AUC by ranks: the probability that a random positive scores above a random negative,
 * with ties counting one half. O(n log n).
 */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let pos = 0;
  let neg = 0;
  for (const l of labels) l ? pos++ : neg++;
  if (pos === 0 || neg === 0) return Number.NaN;
  // Sum of positive ranks, with tied scores sharing their mean rank.
  let rankSum = 0;
  let i = 0;
  while (i < order.length) {
    let j = i;
    const s = scores[order[i] as number] as number;
    while (j + 1 < order.length && scores[order[j + 1] as number] === s) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k] as number] === true) rankSum += meanRank;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** All figures at `threshold`, plus AUC and the best-F1 threshold. */
export function evaluate(scores: readonly number[], labels: readonly boolean[], threshold = 0.5): Evaluation {
  if (scores.length !== labels.length) throw new Error(`evaluate: ${scores.length} scores but ${labels.length} labels`);
  const confusion = confusionAt(scores, labels, threshold);
  const { precision, recall, f1 } = prf(confusion);
  let bestThreshold = threshold;
  let bestF1 = -1;
  const candidates = [...new Set(scores)].sort((a, b) => b - a);
  for (const t of candidates) {
    const value = prf(confusionAt(scores, labels, t)).f1;
    if (value > bestF1) {
      bestF1 = value;
      bestThreshold = t;
    }
  }
  if (bestF1 < 0) bestF1 = 0;
  const positives = labels.filter((l) => l).length;
  return {
    n: scores.length,
    positives,
    threshold,
    precision,
    recall,
    f1,
    accuracy: scores.length === 0 ? 0 : (confusion.tp + confusion.tn) / scores.length,
    rocAuc: rocAuc(scores, labels),
    confusion,
    bestThreshold,
    bestF1,
  };
}

/** A plain-text report of an {@link Evaluation}, for the CLI. */
export function formatEvaluation(e: Evaluation, title = 'filter'): string {
  const pct = (x: number): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  const c = e.confusion;
  return [
    `${title}: ${e.n} examples, ${e.positives} positive, threshold ${e.threshold}`,
    `  precision ${pct(e.precision)}  recall ${pct(e.recall)}  F1 ${pct(e.f1)}  accuracy ${pct(e.accuracy)}  ROC AUC ${pct(e.rocAuc)}`,
    `  confusion          predicted+  predicted-`,
    `    actual+          ${String(c.tp).padStart(10)}  ${String(c.fn).padStart(10)}`,
    `    actual-          ${String(c.fp).padStart(10)}  ${String(c.tn).padStart(10)}`,
    `  best F1 ${pct(e.bestF1)} at threshold ${e.bestThreshold.toFixed(4)}`,
  ].join('\n');
}

/** Where the cascade sends labelled examples, by label. */
export interface CascadeRoute {
  /** Local score below `low`: dropped without a call. */
  dropped: number;
  /** Score in [low, high): sent to the judge. */
  judged: number;
  /** Score at or above `high`: kept without a call. */
  kept: number;
}

/**
 * Figures of the cascade's local decisions (`filter.mode: cascade`). A positive is safe when it
 * is not dropped locally (the judge may still keep it); a negative is saved a call when dropped.
 */
export interface CascadeFigures {
  n: number;
  low: number;
  high: number;
  positives: CascadeRoute;
  negatives: CascadeRoute;
  /** Positives not dropped locally / positives (1 when there are none). */
  recall: number;
  /** Positives among the examples not dropped locally (1 when nothing passes). */
  precision: number;
  /** Negatives dropped without a call / negatives (0 when there are none). */
  negativesDropped: number;
  /** Examples decided without a call (dropped or kept locally) / n. */
  decidedLocally: number;
}

/** Routes every score through the cascade bands [low, high) and counts by label. */
export function cascadeFigures(scores: readonly number[], labels: readonly boolean[], low: number, high: number): CascadeFigures {
  if (scores.length !== labels.length) throw new Error(`cascadeFigures: ${scores.length} scores but ${labels.length} labels`);
  const positives: CascadeRoute = { dropped: 0, judged: 0, kept: 0 };
  const negatives: CascadeRoute = { dropped: 0, judged: 0, kept: 0 };
  scores.forEach((score, i) => {
    const route = labels[i] === true ? positives : negatives;
    if (score < low) route.dropped++;
    else if (score >= high) route.kept++;
    else route.judged++;
  });
  const total = (r: CascadeRoute): number => r.dropped + r.judged + r.kept;
  const passedPositives = positives.judged + positives.kept;
  const passed = passedPositives + negatives.judged + negatives.kept;
  return {
    n: scores.length,
    low,
    high,
    positives,
    negatives,
    recall: total(positives) === 0 ? 1 : passedPositives / total(positives),
    precision: passed === 0 ? 1 : passedPositives / passed,
    negativesDropped: total(negatives) === 0 ? 0 : negatives.dropped / total(negatives),
    decidedLocally: scores.length === 0 ? 0 : (positives.dropped + positives.kept + negatives.dropped + negatives.kept) / scores.length,
  };
}

/** A plain-text report of {@link CascadeFigures}, for the CLI. */
export function formatCascade(f: CascadeFigures): string {
  const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
  const route = (r: CascadeRoute): string => `${r.dropped} dropped / ${r.judged} judged / ${r.kept} kept`;
  return [
    `cascade (drop below ${f.low}, keep at or above ${f.high}): recall ${pct(f.recall)} (positives not dropped), precision ${pct(f.precision)}, negatives dropped ${pct(f.negativesDropped)}, decided without a call ${pct(f.decidedLocally)}`,
    `  positives: ${route(f.positives)}`,
    `  negatives: ${route(f.negatives)}`,
  ].join('\n');
}

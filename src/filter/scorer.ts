/**
 * The local scorer abstraction: something that maps a text to a relevance score in [0, 1]
 * without a model call. `heuristic` is the built-in feature scorer; `model:PATH` loads a model
 * trained with `gemtraj filter train`.
 */
import { explainHeuristic, heuristicScore } from './heuristic.js';
import { loadModel, scoreWithModel, type FilterModel } from './model.js';

export interface Scorer {
  /** What decided, for `Segment.by` when the scorer decides alone. */
  readonly kind: 'heuristic' | 'model';
  /** The spec it was created from (`heuristic`, `model:path/to/model.json`). */
  readonly name: string;
  /** Threshold this scorer suggests for a keep/drop decision (`score >= threshold` keeps). */
  readonly threshold: number;
  score(text: string): number;
  /** One sentence on why the score is what it is, for `Segment.reason`. */
  explain(text: string): string;
}

/** The built-in feature scorer (see `heuristic.ts`). */
export function heuristicScorer(): Scorer {
  return {
    kind: 'heuristic',
    name: 'heuristic',
    threshold: 0.5,
    score: heuristicScore,
    explain(text: string): string {
      const e = explainHeuristic(text);
      const parts = Object.entries(e.contributions)
        .filter(([, v]) => Math.abs(v) >= 0.3)
        .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
        .slice(0, 4)
        .map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v.toFixed(2)}`);
      // The baseline is part of every score: a low score is as much "not enough evidence" as
      // any negative feature, and the reason should say so.
      const terms = [`baseline ${e.baseline.toFixed(2)}`, ...parts].join(', ');
      const where = e.window === undefined ? '' : `; best window chars ${e.window.start}-${e.window.end} of ${text.length}`;
      return `heuristic score ${e.score.toFixed(3)} (${terms}${where})`;
    },
  };
}

/** A scorer around an already loaded model. */
export function modelScorer(model: FilterModel, name = 'model'): Scorer {
  return {
    kind: 'model',
    name,
    threshold: model.threshold,
    score: (text: string) => scoreWithModel(model, text),
    explain: (text: string) => `model score ${scoreWithModel(model, text).toFixed(3)}`,
  };
}

/**
 * Builds a scorer from a spec: `heuristic`, or `model:PATH` (a file written by
 * `gemtraj filter train`). Throws with a clear message for an unknown spec or a bad file.
 */
export function createScorer(spec: string): Scorer {
  if (spec === 'heuristic') return heuristicScorer();
  if (spec.startsWith('model:')) {
    const file = spec.slice('model:'.length);
    if (file === '') throw new Error('scorer "model:" needs a file: model:PATH');
    return modelScorer(loadModel(file), spec);
  }
  throw new Error(`unknown scorer "${spec}": use "heuristic" or "model:PATH"`);
}

/**
 * Trainable local filter: logistic regression over hashed features (word unigrams and
 * bigrams, character n-grams of the lower-cased text), trained by SGD with L2 regularisation
 * and a seeded shuffle, so the same examples and options give the same model. It is meant to
 * be trained on the LLM judge's own decisions (`segments.jsonl` lines with `by: "llm"`) so the
 * cheap local scorer learns the judge's taste on the user's corpus.
 *
 * Feature hashing: each feature string is hashed (FNV-1a, per-kind seed) onto one of
 * 2^hashBits slots, with a sign taken from a high bit so that collisions cancel on average.
 * Values are ln(1 + count), and each kind's vector is L2-normalised, so long and short texts
 * weigh the same.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { sigmoid } from './heuristic.js';

export interface TrainOptions {
  /** Feature space size as a power of two: 2^hashBits slots. Minimum 10, maximum 24. @default 18 */
  hashBits?: number | undefined;
  /** Passes over the examples. Minimum 1. @default 20 */
  epochs?: number | undefined;
  /** Initial SGD step size (decays as 1/(1 + lr·l2·t)). Greater than 0. @default 0.5 */
  learningRate?: number | undefined;
  /** L2 penalty per example step (weight decay). Minimum 0. @default 1e-4 */
  l2?: number | undefined;
  /** Seed of the shuffle; the same seed gives the same model. @default 1 */
  seed?: number | undefined;
  /** Character n-gram lengths [min, max]; [0, 0] turns them off. Each 0..8. @default [3, 5] */
  charNgrams?: readonly [number, number] | undefined;
  /** Weight classes inversely to their frequency, so a rare positive class is not ignored. @default true */
  balanced?: boolean | undefined;
  /** Weights with a smaller magnitude are dropped when saving. Minimum 0. @default 1e-5 */
  pruneBelow?: number | undefined;
}

/** Defaults of the {@link TrainOptions} that `gemtraj filter train` exposes as flags (help text reads them). */
export const TRAIN_DEFAULTS = { hashBits: 18, epochs: 20, l2: 1e-4, seed: 1 } as const;

export interface LabelledText {
  text: string;
  label: boolean;
}

/** A trained model, ready to score. */
export interface FilterModel {
  hashBits: number;
  charNgrams: readonly [number, number];
  bias: number;
  /** Dense weights, length 2^hashBits. */
  weights: Float32Array;
  /** Decision threshold stored with the model (`score >= threshold` keeps). @default 0.5 */
  threshold: number;
  /** Number of examples it was trained on, for reports. */
  trainedOn: number;
}

const SEED_WORD = 0x1b873593;
const SEED_BIGRAM = 0x85ebca6b;
const SEED_CHAR = 0xc2b2ae35;

function mix(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193) >>> 0;
}

function isTokenCode(c: number): boolean {
  const l = c | 32;
  if (l >= 97 && l <= 122) return true;
  if (c >= 48 && c <= 57) return true;
  return c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && !(c >= 0x2000 && c <= 0x2bff) && !(c >= 0x3000 && c <= 0x303f);
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Sparse feature vector: parallel arrays of slot indexes and values. */
export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

/**
 * Scratch space for one featurization: dense signed counts per kind plus the list of touched
 * slots, reused across calls (cleared through the touched list), so no Map per text.
 */
class Scratch {
  readonly counts: Float64Array;
  readonly mark: Uint8Array;
  touched: Int32Array;
  size = 0;
  constructor(dims: number) {
    this.counts = new Float64Array(dims);
    this.mark = new Uint8Array(dims);
    this.touched = new Int32Array(1024);
  }
  add(slot: number, sign: number): void {
    if (this.mark[slot] === 0) {
      this.mark[slot] = 1;
      if (this.size === this.touched.length) {
        const grown = new Int32Array(this.touched.length * 2);
        grown.set(this.touched);
        this.touched = grown;
      }
      this.touched[this.size++] = slot;
    }
    this.counts[slot] = (this.counts[slot] as number) + sign;
  }
}

const scratchByBits = new Map<number, [Scratch, Scratch]>();

/**
 * Hashes `text` into a sparse vector of 2^hashBits slots. One pass over the characters, no
 * substring or Map per token.
 */
export function featurize(text: string, hashBits: number, charNgrams: readonly [number, number]): SparseVector {
  const mask = (1 << hashBits) - 1;
  let pair = scratchByBits.get(hashBits);
  if (pair === undefined) {
    pair = [new Scratch(1 << hashBits), new Scratch(1 << hashBits)];
    scratchByBits.set(hashBits, pair);
  }
  const [words, chars] = pair;
  // Slot from the low bits, sign from bit 31 (independent of the slot for hashBits < 31).
  const addWord = (h: number): void => words.add(h & mask, h >>> 31 === 1 ? -1 : 1);
  const [cmin, cmax] = charNgrams;
  const useChars = cmin > 0 && cmax >= cmin;
  // The last 8 normalised chars (runs of non-token chars become one space), newest in c0.
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
  let seen = 0;
  const pushChar = (c: number): void => {
    c7 = c6; c6 = c5; c5 = c4; c4 = c3; c3 = c2; c2 = c1; c1 = c0; c0 = c;
    seen++;
    for (let n = cmin; n <= cmax && n <= seen; n++) {
      // Hash oldest to newest of the last n chars.
      let h = (SEED_CHAR ^ n) >>> 0;
      if (n >= 8) h = mix(h, c7);
      if (n >= 7) h = mix(h, c6);
      if (n >= 6) h = mix(h, c5);
      if (n >= 5) h = mix(h, c4);
      if (n >= 4) h = mix(h, c3);
      if (n >= 3) h = mix(h, c2);
      if (n >= 2) h = mix(h, c1);
      h = mix(h, c0);
      chars.add(h & mask, h >>> 31 === 1 ? -1 : 1);
    }
  };
  let prevWord = 0;
  let lastWasSpace = true;
  if (useChars) pushChar(32);
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isTokenCode(c)) {
      let h = SEED_WORD;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (!isTokenCode(d)) break;
        const l = lower(d);
        h = mix(h, l);
        if (useChars) pushChar(l);
        i++;
      }
      addWord(h);
      if (prevWord !== 0) addWord(mix(mix(SEED_BIGRAM, prevWord), h));
      prevWord = h;
      lastWasSpace = false;
      continue;
    }
    // Sentence punctuation breaks bigrams; other separators do not.
    if (c === 46 || c === 33 || c === 63 || c === 10 || c === 59 || c === 58) prevWord = 0;
    if (useChars && !lastWasSpace) {
      pushChar(32);
      lastWasSpace = true;
    }
    i++;
  }
  if (useChars && !lastWasSpace) pushChar(32);
  return toSparse([words, chars]);
}

function toSparse(groups: readonly Scratch[]): SparseVector {
  const merged = new Map<number, number>();
  for (const group of groups) {
    let norm = 0;
    for (let k = 0; k < group.size; k++) {
      const count = group.counts[group.touched[k] as number] as number;
      const v = Math.log1p(Math.abs(count));
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < group.size; k++) {
      const slot = group.touched[k] as number;
      const count = group.counts[slot] as number;
      group.counts[slot] = 0;
      group.mark[slot] = 0;
      if (norm === 0 || Math.abs(count) < 0.5) continue;
      const v = (Math.sign(count) * Math.log1p(Math.abs(count))) / norm;
      merged.set(slot, (merged.get(slot) ?? 0) + v);
    }
    group.size = 0;
  }
  const indices = new Int32Array(merged.size);
  const values = new Float32Array(merged.size);
  let k = 0;
  for (const [slot, v] of [...merged].sort((a, b) => a[0] - b[0])) {
    indices[k] = slot;
    values[k] = v;
    k++;
  }
  return { indices, values };
}

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function clampInt(value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value === undefined || !Number.isFinite(value) ? fallback : Math.floor(value);
  return Math.min(max, Math.max(min, v));
}

/** Fits a model on `examples`. Deterministic for the same examples (in order) and options. */
export function trainModel(examples: readonly LabelledText[], options: TrainOptions = {}): FilterModel {
  if (examples.length === 0) throw new Error('trainModel: no examples');
  const hashBits = clampInt(options.hashBits, TRAIN_DEFAULTS.hashBits, 10, 24);
  const epochs = clampInt(options.epochs, TRAIN_DEFAULTS.epochs, 1, 10_000);
  const lr0 = options.learningRate ?? 0.5;
  if (!(lr0 > 0)) throw new Error('trainModel: learningRate must be > 0');
  const l2 = Math.max(0, options.l2 ?? TRAIN_DEFAULTS.l2);
  const charNgrams: [number, number] = options.charNgrams
    ? [clampInt(options.charNgrams[0], 3, 0, 8), clampInt(options.charNgrams[1], 5, 0, 8)]
    : [3, 5];
  const random = prng(options.seed ?? TRAIN_DEFAULTS.seed);
  const vectors = examples.map((e) => featurize(e.text, hashBits, charNgrams));
  const labels = examples.map((e) => (e.label ? 1 : 0));
  const positives = labels.reduce<number>((s, l) => s + l, 0);
  const negatives = labels.length - positives;
  const balanced = options.balanced ?? true;
  const weightPos = balanced && positives > 0 ? labels.length / (2 * positives) : 1;
  const weightNeg = balanced && negatives > 0 ? labels.length / (2 * negatives) : 1;

  const w = new Float64Array(1 << hashBits);
  // w_true = scale * w: L2 decay multiplies `scale` instead of touching every weight.
  let scale = 1;
  let bias = 0;
  let t = 0;
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const idx of order) {
      const x = vectors[idx] as SparseVector;
      const y = labels[idx] as number;
      const lr = lr0 / (1 + lr0 * l2 * t);
      t++;
      let dot = bias;
      for (let k = 0; k < x.indices.length; k++) dot += scale * (w[x.indices[k] as number] as number) * (x.values[k] as number);
      const g = (y - sigmoid(dot)) * (y === 1 ? weightPos : weightNeg);
      scale *= 1 - lr * l2;
      if (scale < 1e-9) {
        for (let k = 0; k < w.length; k++) w[k] = (w[k] as number) * scale;
        scale = 1;
      }
      const step = (lr * g) / scale;
      for (let k = 0; k < x.indices.length; k++) {
        const slot = x.indices[k] as number;
        w[slot] = (w[slot] as number) + step * (x.values[k] as number);
      }
      bias += lr * g;
    }
  }
  const weights = new Float32Array(w.length);
  for (let k = 0; k < w.length; k++) weights[k] = (w[k] as number) * scale;
  return { hashBits, charNgrams, bias, weights, threshold: 0.5, trainedOn: examples.length };
}

/** Probability-like score in [0, 1] that `text` is relevant, under `model`. */
export function scoreWithModel(model: FilterModel, text: string): number {
  const x = featurize(text, model.hashBits, model.charNgrams);
  let dot = model.bias;
  for (let k = 0; k < x.indices.length; k++) dot += (model.weights[x.indices[k] as number] as number) * (x.values[k] as number);
  return sigmoid(dot);
}

// ---------------------------------------------------------------------------------------------
// Files

export const MODEL_FORMAT = 'gemtraj-filter-model';

/** On-disk shape: sparse weights as delta-encoded slot indexes plus rounded values. */
const ModelFileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(1),
  hash_bits: z.number().int().min(10).max(24),
  char_ngrams: z.tuple([z.number().int().min(0).max(8), z.number().int().min(0).max(8)]),
  bias: z.number(),
  threshold: z.number().min(0).max(1),
  trained_on: z.number().int().nonnegative(),
  /** Gaps between successive non-zero slot indexes (first one from 0). */
  index_deltas: z.array(z.number().int().nonnegative()),
  values: z.array(z.number()),
});
export type ModelFile = z.infer<typeof ModelFileSchema>;

/** The JSON-ready form of a model (weights under `pruneBelow` in magnitude are dropped). */
export function modelToJson(model: FilterModel, pruneBelow = 1e-5): ModelFile {
  const deltas: number[] = [];
  const values: number[] = [];
  let last = 0;
  for (let k = 0; k < model.weights.length; k++) {
    const v = model.weights[k] as number;
    if (Math.abs(v) < pruneBelow || v === 0) continue;
    deltas.push(k - last);
    values.push(Number(v.toPrecision(5)));
    last = k;
  }
  return {
    format: MODEL_FORMAT,
    version: 1,
    hash_bits: model.hashBits,
    char_ngrams: [model.charNgrams[0], model.charNgrams[1]],
    bias: model.bias,
    threshold: model.threshold,
    trained_on: model.trainedOn,
    index_deltas: deltas,
    values,
  };
}

/** Rebuilds a model from its JSON form; throws with the first problem when malformed. */
export function modelFromJson(value: unknown, origin = 'model'): FilterModel {
  const parsed = ModelFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${origin}: not a ${MODEL_FORMAT} file (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`);
  }
  const m = parsed.data;
  if (m.index_deltas.length !== m.values.length) throw new Error(`${origin}: index_deltas and values differ in length`);
  const weights = new Float32Array(1 << m.hash_bits);
  let slot = 0;
  for (let k = 0; k < m.values.length; k++) {
    slot += m.index_deltas[k] as number;
    if (slot >= weights.length) throw new Error(`${origin}: weight index ${slot} out of range`);
    weights[slot] = m.values[k] as number;
  }
  return {
    hashBits: m.hash_bits,
    charNgrams: m.char_ngrams,
    bias: m.bias,
    weights,
    threshold: m.threshold,
    trainedOn: m.trained_on,
  };
}

/** Writes `model` to `file` as compact JSON. */
export function saveModel(model: FilterModel, file: string, pruneBelow = 1e-5): void {
  writeFileSync(file, `${JSON.stringify(modelToJson(model, pruneBelow))}\n`);
}

/** Reads a model written by {@link saveModel}. Errors name the file. */
export function loadModel(file: string): FilterModel {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read model: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  return modelFromJson(value, file);
}

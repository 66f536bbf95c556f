/**
 * MinHash signatures over word shingles, and the LSH band keys that find candidate
 * near-duplicates without comparing every pair.
 *
 * A segment's shingles are its runs of `shingle` consecutive words; the Jaccard similarity of
 * two segments is |A ∩ B| / |A ∪ B| of their shingle sets. Each of `bands × rows` hash
 * functions keeps the smallest hash over the shingles; the share of equal positions between
 * two signatures estimates their Jaccard similarity. Two segments become candidates when all
 * `rows` values of at least one band agree: with similarity s that happens with probability
 * 1 − (1 − s^rows)^bands (an S-curve). Candidates are then confirmed on the whole signature
 * against the threshold. Everything is seeded by constants: the same text always gives the
 * same signature, on every machine and run.
 */
import { mix32, sequenceHash, shingleHash, wordHashes } from './words.js';

export interface MinHashParams {
  /** Words per shingle. */
  shingle: number;
  /** LSH bands. */
  bands: number;
  /** Signature values per band; bands × rows is the number of hash functions. */
  rows: number;
}

/** Multipliers (odd) and offsets of the hash family, from a fixed seed. */
function family(count: number): { mul: Uint32Array; add: Uint32Array } {
  const mul = new Uint32Array(count);
  const add = new Uint32Array(count);
  let state = 0x2545f491;
  for (let i = 0; i < count; i++) {
    state = mix32(state + 0x9e3779b9);
    mul[i] = state | 1;
    state = mix32(state + 0x9e3779b9);
    add[i] = state;
  }
  return { mul, add };
}

export class MinHasher {
  readonly permutations: number;
  private readonly mul: Uint32Array;
  private readonly add: Uint32Array;

  constructor(readonly params: MinHashParams) {
    if (!(params.shingle >= 1 && params.bands >= 1 && params.rows >= 1)) throw new RangeError('minhash: shingle, bands and rows must be ≥ 1');
    this.permutations = params.bands * params.rows;
    ({ mul: this.mul, add: this.add } = family(this.permutations));
  }

  /** Shingle hashes of `text` (repeats included: they do not change a minimum); a text shorter than one shingle is one shingle. */
  shingles(text: string | Uint32Array): Uint32Array {
    const hashes = typeof text === 'string' ? wordHashes(text) : text;
    const k = Math.min(this.params.shingle, hashes.length);
    if (k === 0) return new Uint32Array(0);
    const out = new Uint32Array(hashes.length - k + 1);
    for (let i = 0; i < out.length; i++) out[i] = shingleHash(hashes, i, k);
    return out;
  }

  /** The signature of `text` (or of its {@link wordHashes}), or `undefined` when it has no words. */
  signature(text: string | Uint32Array): Uint32Array | undefined {
    const shingles = this.shingles(text);
    const count = shingles.length;
    if (count === 0) return undefined;
    const p = this.permutations;
    const sig = new Uint32Array(p);
    const { mul, add } = this;
    // Multiply-add hashing: the high bits, which decide the minimum, depend on every bit of x.
    for (let i = 0; i < p; i++) {
      const a = mul[i] as number;
      const b = add[i] as number;
      let min = 0xffffffff;
      for (let j = 0; j < count; j++) {
        const h = (Math.imul(shingles[j] as number, a) + b) >>> 0;
        if (h < min) min = h;
      }
      sig[i] = min;
    }
    return sig;
  }

  /** One key per band (band index included), below 2^53. */
  bandKeys(sig: Uint32Array): number[] {
    const { bands, rows } = this.params;
    const keys: number[] = [];
    for (let b = 0; b < bands; b++) keys.push(sequenceHash(sig, b * rows, rows, b + 1));
    return keys;
  }
}

/** Share of equal positions: the estimate of the Jaccard similarity of two signatures. */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** Probability that a pair with Jaccard similarity `s` becomes an LSH candidate. */
export function candidateProbability(s: number, bands: number, rows: number): number {
  return 1 - (1 - s ** rows) ** bands;
}

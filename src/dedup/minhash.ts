/**
 * MinHash signatures over word shingles, and the LSH band keys that find candidate
 * near-duplicates without comparing every pair.
 *
 * A segment's shingles are its runs of `shingle` consecutive words; the Jaccard similarity of
 * two segments is |A ∩ B| / |A ∪ B| of their shingle sets. A signature has `bands × rows`
 * values, each the minimum of a hash over (a share of) the shingles; the share of equal
 * positions between two signatures estimates their Jaccard similarity. Two segments become candidates when all
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

/** A bin no shingle fell into (before densification). */
const EMPTY = 0xffffffff;

export class MinHasher {
  /** Signature length: bands × rows. */
  readonly permutations: number;

  constructor(readonly params: MinHashParams) {
    if (!(params.shingle >= 1 && params.bands >= 1 && params.rows >= 1)) throw new RangeError('minhash: shingle, bands and rows must be ≥ 1');
    this.permutations = params.bands * params.rows;
  }

  /**
   * The signature of `text` (or of its {@link wordHashes}), or `undefined` when it has no words.
   * One permutation hashing with densification (Shrivastava, ICML 2017): each shingle is hashed
   * once into one of the `bands × rows` bins, which keeps its minimum; an empty bin borrows the
   * value of the next filled one to its right, offset by the distance, so that two texts agree
   * on a bin with probability their Jaccard similarity. O(shingles + bins) rather than
   * O(shingles × bins): the hot loop of deduplication.
   */
  signature(text: string | Uint32Array): Uint32Array | undefined {
    const hashes = typeof text === 'string' ? wordHashes(text) : text;
    // Shingles: runs of `shingle` words, hashed one by one (repeats included: they do not change
    // a minimum); a text shorter than one shingle is one shingle.
    const k = Math.min(this.params.shingle, hashes.length);
    if (k === 0) return undefined;
    const count = hashes.length - k + 1;
    const p = this.permutations;
    const sig = new Uint32Array(p).fill(EMPTY);
    for (let j = 0; j < count; j++) {
      const y = mix32(shingleHash(hashes, j, k) ^ 0x5bd1e995);
      // The high bits pick the bin, a second hash orders shingles within it.
      const bin = Math.floor((y / 4294967296) * p);
      const v = mix32(y ^ 0x27d4eb2f) >>> 1;
      if (v < (sig[bin] as number)) sig[bin] = v;
    }
    // Densification by rotation: values stay below 2^31, so borrowed ones never look filled.
    for (let i = 0; i < p; i++) {
      if (sig[i] !== EMPTY) continue;
      for (let d = 1; d < p; d++) {
        const v = sig[(i + d) % p] as number;
        if (v !== EMPTY && v < 0x80000000) {
          sig[i] = 0x80000000 + ((v + Math.imul(d, 0x9e3779b1)) >>> 1);
          break;
        }
      }
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

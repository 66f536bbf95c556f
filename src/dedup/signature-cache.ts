/**
 * Signatures of kept segments held in memory by `ord`, so that checking a near-duplicate
 * candidate compares numbers in place instead of reading its signature from SQLite (a statement,
 * a row object, a Buffer and a copy per candidate: with templated pages a segment can have
 * hundreds of candidates, and that read was half of a run's CPU).
 *
 * Direct-mapped: `ord` goes to slot `ord mod slots`, replacing what was there. Ords are given in
 * input order, so the cache holds the most recently kept segments (near-duplicates tend to be
 * near each other in a crawl) plus whatever a miss brought back. Its memory is fixed.
 *
 * A comparison reads the low byte of each value first, four to a 32-bit word: equal values have
 * equal low bytes, so a pair whose low bytes agree too rarely is ruled out exactly, without the
 * full values. Most candidates on templated pages are such pairs (similar enough to share a
 * band, not enough to match): one per-value branch that the CPU could not predict made that
 * test 300–480 ns; the packed one is 45–65 ns (bench: 120 values, pairs near J = 0.5).
 */
/** A signature being compared with many held ones, with its low bytes packed once. */
export interface SignatureQuery {
  readonly sig: Uint32Array;
  /** Low byte of each value, four to a word (value i is byte i of the words' memory); padding bytes 0. */
  readonly low: Uint32Array;
}

export class SignatureCache {
  private readonly values: Uint32Array;
  /** The low byte of each held value, packed as in {@link SignatureQuery.low}; padding bytes 0. */
  private readonly low: Uint8Array;
  /** The same memory as {@link low}, a word at a time. */
  private readonly lowWords: Uint32Array;
  /** Words of packed low bytes per signature. */
  private readonly words: number;
  /** The ord held by each slot, -1 for none. */
  private readonly tags: Float64Array;
  readonly slots: number;

  /**
   * @param length values per signature (bands × rows), ≥ 1
   * @param bytes memory for the held signatures, in bytes (4 per value, and 1 per value, rounded
   *   up to a word, for the low bytes); at least one signature is held whatever it says
   */
  constructor(
    private readonly length: number,
    bytes: number,
  ) {
    this.words = Math.ceil(length / 4);
    this.slots = Math.max(1, Math.floor(bytes / (4 * length + 4 * this.words)));
    this.values = new Uint32Array(this.slots * length);
    this.lowWords = new Uint32Array(this.slots * this.words);
    this.low = new Uint8Array(this.lowWords.buffer);
    this.tags = new Float64Array(this.slots).fill(-1);
  }

  /** Holds `sig` (of `length` values) as the signature of `ord`. */
  put(ord: number, sig: Uint32Array): void {
    if (sig.length !== this.length) return;
    const slot = ord % this.slots;
    this.values.set(sig, slot * this.length);
    const at = slot * this.words * 4;
    for (let i = 0; i < sig.length; i++) this.low[at + i] = (sig[i] as number) & 0xff;
    this.tags[slot] = ord;
  }

  /** `sig` made ready for {@link sameValues} against many held signatures. */
  query(sig: Uint32Array): SignatureQuery {
    const low = new Uint32Array(Math.ceil(sig.length / 4));
    const bytes = new Uint8Array(low.buffer);
    for (let i = 0; i < sig.length; i++) bytes[i] = (sig[i] as number) & 0xff;
    return { sig, low };
  }

  /**
   * The number of positions where the query's signature equals the held signature of `ord`, or
   * -1 when `ord` is not held. The count stops early, below `atLeast`, once it can no longer
   * reach it: the exact count matters only for a match.
   */
  sameValues(ord: number, query: SignatureQuery, atLeast: number): number {
    const slot = ord % this.slots;
    const { sig, low } = query;
    if (this.tags[slot] !== ord || sig.length !== this.length) return -1;
    // Low bytes first: their count of agreements is at least the values' (padding bytes, 0 on
    // both sides, agree too), so once it cannot reach `atLeast`, neither can the values'.
    const words = this.words;
    const held = this.lowWords;
    const from = slot * words;
    const maxMisses = words * 4 - atLeast;
    let same = 0;
    for (let w = 0; w < words; w++) {
      same += zeroBytes((held[from + w] as number) ^ (low[w] as number));
      // Every 4 words (16 values): often enough to stop early, rarely enough to stay cheap.
      if ((w & 3) === 3 && (w + 1) * 4 - same > maxMisses) return same;
    }
    if (same < atLeast) return same;
    return this.fullCount(slot, sig, atLeast);
  }

  /** The exact count on the full values, without a branch per value (their equality is a coin toss). */
  private fullCount(slot: number, sig: Uint32Array, atLeast: number): number {
    const values = this.values;
    const n = sig.length;
    const at = slot * n;
    const maxMisses = n - atLeast;
    let same = 0;
    for (let i = 0; i < n; i++) {
      const x = ((values[at + i] as number) ^ (sig[i] as number)) | 0;
      // 1 when x is 0: (x | -x) has its sign bit set for every other x.
      same += ((x | -x) >>> 31) ^ 1;
      if ((i & 15) === 15 && i + 1 - same > maxMisses) return same;
    }
    return same;
  }
}

/** Number of zero bytes in the 32-bit word `x` (SWAR: no branch, no table). */
function zeroBytes(x: number): number {
  // A byte's top bit ends up set iff the byte is 0: adding 0x7f to its low 7 bits carries into
  // bit 7 unless they are all 0 (never into the next byte), and OR-ing x adds its own bit 7.
  const high = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
  // Each byte now holds 0 or 1; the multiply sums the four into the top byte.
  return Math.imul((high >>> 7) & 0x01010101, 0x01010101) >>> 24;
}

/**
 * Signatures of kept segments held in memory by `ord`, so that checking a near-duplicate
 * candidate compares numbers in place instead of reading its signature from SQLite (a statement,
 * a row object, a Buffer and a copy per candidate: with templated pages a segment can have
 * hundreds of candidates, and that read was half of a run's CPU).
 *
 * Direct-mapped: `ord` goes to slot `ord mod slots`, replacing what was there. Ords are given in
 * input order, so the cache holds the most recently kept segments (near-duplicates tend to be
 * near each other in a crawl) plus whatever a miss brought back. Its memory is fixed.
 */
export class SignatureCache {
  private readonly values: Uint32Array;
  /** The ord held by each slot, -1 for none. */
  private readonly tags: Float64Array;
  readonly slots: number;

  /**
   * @param length values per signature (bands × rows), ≥ 1
   * @param bytes memory for the values, in bytes; at least one signature is held whatever it says
   */
  constructor(
    private readonly length: number,
    bytes: number,
  ) {
    this.slots = Math.max(1, Math.floor(bytes / (4 * length)));
    this.values = new Uint32Array(this.slots * length);
    this.tags = new Float64Array(this.slots).fill(-1);
  }

  /** Holds `sig` (of `length` values) as the signature of `ord`. */
  put(ord: number, sig: Uint32Array): void {
    if (sig.length !== this.length) return;
    const slot = ord % this.slots;
    this.values.set(sig, slot * this.length);
    this.tags[slot] = ord;
  }

  /**
   * The number of positions where `sig` equals the held signature of `ord`, or -1 when `ord` is
   * not held. The count stops early, below `atLeast`, once it can no longer reach it: the exact
   * count matters only for a match.
   */
  sameValues(ord: number, sig: Uint32Array, atLeast: number): number {
    const slot = ord % this.slots;
    if (this.tags[slot] !== ord || sig.length !== this.length) return -1;
    const values = this.values;
    const n = sig.length;
    const at = slot * n;
    // Positions that may differ before the count cannot reach `atLeast`.
    let misses = n - atLeast;
    let same = 0;
    for (let i = 0; i < n; i++) {
      if (values[at + i] === sig[i]) same++;
      else if (--misses < 0) return same;
    }
    return same;
  }
}

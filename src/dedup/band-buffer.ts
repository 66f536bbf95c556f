/**
 * The band keys of the most recently kept segments, in memory, before they are written to the
 * SQLite band table in one sorted bulk insert (see segment-index.ts). A multimap from band key
 * to segment ord in typed arrays (open addressing, linear probing): a fixed allocation, no
 * object per entry, and the same key may be present for several ords (two kept segments that
 * share a band but were not similar enough to be duplicates).
 */
export class BandBuffer {
  private keys = new Float64Array(1024).fill(-1);
  private ords = new Float64Array(1024);
  private mask = 1023;
  private count = 0;

  /** Holds up to `capacity` entries; the table starts small and doubles (at most to 2 × capacity slots, rounded up to a power of two). */
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Adds `key → ord`; the caller empties the buffer (drain) before it is over capacity. */
  add(key: number, ord: number): void {
    if (this.count >= this.capacity) throw new RangeError('band buffer: full');
    // Half full at most: probe runs stay short.
    if (this.count * 2 >= this.mask) this.grow();
    let i = slotOf(key) & this.mask;
    while (this.keys[i] !== -1) i = (i + 1) & this.mask;
    this.keys[i] = key;
    this.ords[i] = ord;
    this.count++;
  }

  private grow(): void {
    const { keys, ords } = this;
    this.keys = new Float64Array(keys.length * 2).fill(-1);
    this.ords = new Float64Array(keys.length * 2);
    this.mask = keys.length * 2 - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if ((keys[i] as number) !== -1) this.add(keys[i] as number, ords[i] as number);
  }

  /** Ords stored under `key`, pushed onto `out`. */
  find(key: number, out: number[]): void {
    let i = slotOf(key) & this.mask;
    for (let k = this.keys[i] as number; k !== -1; k = this.keys[i] as number) {
      if (k === key) out.push(this.ords[i] as number);
      i = (i + 1) & this.mask;
    }
  }

  /**
   * Every entry in key order (the order that makes a B-tree bulk insert sequential; entries of
   * one key in insertion order), then empties the buffer.
   */
  drain(each: (key: number, ord: number) => void): void {
    const { keys, ords, mask } = this;
    const sorted = new Float64Array(this.count);
    let n = 0;
    for (let i = 0; i <= mask; i++) if ((keys[i] as number) !== -1) sorted[n++] = keys[i] as number;
    sorted.sort();
    for (let j = 0; j < n; j++) {
      const key = sorted[j] as number;
      if (j > 0 && sorted[j - 1] === key) continue;
      let i = slotOf(key) & mask;
      for (let k = keys[i] as number; k !== -1; k = keys[i] as number) {
        if (k === key) each(key, ords[i] as number);
        i = (i + 1) & mask;
      }
    }
    keys.fill(-1);
    this.count = 0;
  }
}

/** Keys are hashes below 2^53: their low 32 bits are already uniform. */
function slotOf(key: number): number {
  return key | 0;
}

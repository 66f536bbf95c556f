/**
 * The band keys of the most recently kept segments, in memory, before they are written out as
 * one sorted run (band-runs.ts). A multimap from band key
 * to segment ord in typed arrays (open addressing, linear probing): a fixed allocation, no
 * object per entry, and the same key may be present for several ords (two kept segments that
 * share a band but were not similar enough to be duplicates).
 */
export class BandBuffer {
  private keys = new Float64Array(1024).fill(-1);
  private ords = new Float64Array(1024);
  private mask = 1023;
  private count = 0;
  private scratch: { keys: [Float64Array, Float64Array]; ords: [Uint32Array, Uint32Array] } | undefined;

  /** Holds up to `capacity` entries; the table starts small and doubles (at most to 2 × capacity slots, rounded up to a power of two). */
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Adds `key → ord`; the caller empties the buffer (takeSorted) before it is over capacity. */
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
   * Every entry in key order, as the arrays of a sorted run (valid until the next call: they
   * are the buffer's own); then empties the buffer. A radix
   * sort (keys are below 2^53: four passes over 16, 16, 11 and 10 bits), a tenth of the time of
   * sorting the keys and probing the table again for their ords.
   */
  takeSorted(): { keys: Float64Array; ords: Uint32Array } {
    const n = this.count;
    // Four arrays of the buffer's capacity, made once: a run's worth of garbage per spill
    // (12 MiB) otherwise, which the heap carries until a major GC.
    const scratch = (this.scratch ??= {
      keys: [new Float64Array(this.capacity), new Float64Array(this.capacity)],
      ords: [new Uint32Array(this.capacity), new Uint32Array(this.capacity)],
    });
    let keys = scratch.keys[0].subarray(0, n);
    let ords = scratch.ords[0].subarray(0, n);
    let j = 0;
    for (let i = 0; i <= this.mask; i++) {
      const key = this.keys[i] as number;
      if (key === -1) continue;
      keys[j] = key;
      ords[j++] = this.ords[i] as number;
    }
    let keysTo = scratch.keys[1].subarray(0, n);
    let ordsTo = scratch.ords[1].subarray(0, n);
    for (const [shift, bits, high] of RADIX_PASSES) {
      const counts = new Uint32Array((1 << bits) + 1);
      const mask = (1 << bits) - 1;
      for (let i = 0; i < n; i++) {
        const d = digitOf(keys[i] as number, high, shift, mask) + 1;
        counts[d] = (counts[d] as number) + 1;
      }
      for (let d = 1; d < counts.length; d++) counts[d] = (counts[d] as number) + (counts[d - 1] as number);
      for (let i = 0; i < n; i++) {
        const key = keys[i] as number;
        const d = digitOf(key, high, shift, mask);
        const at = counts[d] as number;
        counts[d] = at + 1;
        keysTo[at] = key;
        ordsTo[at] = ords[i] as number;
      }
      [keys, keysTo] = [keysTo, keys];
      [ords, ordsTo] = [ordsTo, ords];
    }
    this.keys.fill(-1);
    this.count = 0;
    return { keys, ords };
  }
}

/** LSD radix passes over a key below 2^53: [shift, bits, of the high 21 bits (else the low 32)]. */
const RADIX_PASSES: ReadonlyArray<readonly [number, number, boolean]> = [
  [0, 16, false],
  [16, 16, false],
  [0, 11, true],
  [11, 10, true],
];

function digitOf(key: number, high: boolean, shift: number, mask: number): number {
  const word = high ? Math.floor(key / 4294967296) : key >>> 0;
  return (word >>> shift) & mask;
}

/** Keys are hashes below 2^53: their low 32 bits are already uniform. */
function slotOf(key: number): number {
  return key | 0;
}

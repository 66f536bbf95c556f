/**
 * A Bloom filter over the band keys stored in SQLite: a band key of a new segment that the
 * filter has never seen is not looked up at all, so most segments cost no B-tree read (almost
 * every band of a segment that repeats nothing is new). Fixed size: memory stays flat however
 * many keys are added; the false-positive rate (a useless lookup, never a missed candidate)
 * grows with the keys: with 2^28 bits and 3 probes, about 2 % at 30 million keys (1 million
 * kept segments × 30 bands), 25 % at 90 million.
 */
import { mix32 } from './words.js';

const PROBES = 3;

export class BloomFilter {
  private readonly bits: Int32Array;
  private readonly mask: number;

  /** `log2Bits` ≤ 32: 2^log2Bits bits of memory (2^28 = 32 MiB). */
  constructor(log2Bits: number) {
    this.bits = new Int32Array(2 ** Math.max(5, log2Bits) / 32);
    this.mask = 2 ** Math.max(5, log2Bits) - 1;
  }

  add(key: number): void {
    const lo = key >>> 0;
    const step = (mix32(Math.floor(key / 4294967296) ^ lo) | 1) >>> 0;
    for (let i = 0; i < PROBES; i++) {
      const bit = ((lo + i * step) % 4294967296 >>> 0) & this.mask;
      this.bits[bit >>> 5] = (this.bits[bit >>> 5] as number) | (1 << (bit & 31));
    }
  }

  /** False when `key` was never added; true when it probably was. */
  has(key: number): boolean {
    const lo = key >>> 0;
    const step = (mix32(Math.floor(key / 4294967296) ^ lo) | 1) >>> 0;
    for (let i = 0; i < PROBES; i++) {
      const bit = ((lo + i * step) % 4294967296 >>> 0) & this.mask;
      if (((this.bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

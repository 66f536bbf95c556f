/**
 * A Bloom filter over the band keys written out to runs (and, in segment-index.ts, over ids and
 * exact hashes): a band key of a new segment that the filter has never seen is not looked up at
 * all, so most segments cost no read (almost every band of a segment that repeats nothing is
 * new). Fixed size: memory stays flat however many keys are added; the false-positive rate (a
 * useless lookup, never a missed candidate) grows with the keys.
 *
 * Blocked: the {@link PROBES} bits of a key all fall in one 64-byte block (one cache line), so
 * an add or a hit costs one memory access instead of one per probe; over 32 MiB that was 3 cache
 * misses, 0.5 µs an add on this project's benchmark machine. At the same size it errs a little
 * more often than a classic filter; four probes instead of three more than make up for it. With
 * 2^28 bits: about 2 % false positives at 30 million keys (1 million kept segments × 30 bands),
 * 30 % at 90 million (the rate depends on bits per key only: test/bloom.test.ts measures it on
 * a filter 64 times smaller).
 */
import { mix32 } from './words.js';

const PROBES = 4;
/** log2 of the bits in a block: 512 bits, one 64-byte cache line. */
const BLOCK_LOG2 = 9;

export class BloomFilter {
  private readonly words: Int32Array;
  /** Blocks − 1 (a power of two). */
  private readonly blockMask: number;
  /** The probes of the key last located (no allocation per call). */
  private first = 0;
  private step = 1;

  /** `log2Bits` ≤ 32: 2^log2Bits bits of memory (2^28 = 32 MiB); at least one block. */
  constructor(log2Bits: number) {
    const bits = 2 ** Math.max(BLOCK_LOG2, Math.min(32, log2Bits));
    this.words = new Int32Array(bits / 32);
    this.blockMask = bits / 2 ** BLOCK_LOG2 - 1;
  }

  add(key: number): void {
    const base = this.locate(key);
    for (let i = 0, bit = this.first, step = this.step; i < PROBES; i++, bit = (bit + step) & 511) {
      const w = base + (bit >>> 5);
      this.words[w] = (this.words[w] as number) | (1 << (bit & 31));
    }
  }

  /** False when `key` was never added; true when it probably was. */
  has(key: number): boolean {
    const base = this.locate(key);
    for (let i = 0, bit = this.first, step = this.step; i < PROBES; i++, bit = (bit + step) & 511) {
      if (((this.words[base + (bit >>> 5)] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** The first word of `key`'s block; sets the first bit and the step of its probes in it. */
  private locate(key: number): number {
    const hi = Math.floor(key / 4294967296);
    const h = mix32((key >>> 0) ^ Math.imul(hi, 0x9e3779b1));
    const g = mix32(h ^ hi ^ 0x5bd1e995);
    this.first = g & 511;
    this.step = (g >>> 16) | 1;
    return (h & this.blockMask) << 4;
  }
}

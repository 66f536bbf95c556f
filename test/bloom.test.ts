import { describe, expect, it } from 'vitest';
import { BloomFilter } from '../src/dedup/bloom.js';

/** Seeded keys below 2^53, like band keys. */
function keys(seed: number): () => number {
  let s = seed;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  return () => (next() & 0x1fffff) * 4294967296 + next();
}

describe('BloomFilter', () => {
  // 2^22 bits hold 469,000 keys at the ratio of 2^28 bits to 30 million band keys (8.9 bits a key).
  it('never misses a key it was given, and errs on about 2 % of others at 8.9 bits a key', () => {
    const filter = new BloomFilter(22);
    const given = keys(7);
    const added: number[] = [];
    for (let i = 0; i < 469_000; i++) {
      const key = given();
      filter.add(key);
      if (i % 7 === 0) added.push(key);
    }
    expect(added.every((key) => filter.has(key))).toBe(true);
    const other = keys(99);
    let wrong = 0;
    for (let i = 0; i < 200_000; i++) if (filter.has(other())) wrong++;
    expect(wrong / 200_000).toBeGreaterThan(0.01);
    expect(wrong / 200_000).toBeLessThan(0.03);
  });

  it('says no to everything when empty, and works at its smallest size (one block)', () => {
    const empty = new BloomFilter(22);
    const any = keys(3);
    for (let i = 0; i < 1000; i++) expect(empty.has(any())).toBe(false);
    const tiny = new BloomFilter(0);
    for (const key of [0, 1, 2 ** 53 - 1, 4294967296]) tiny.add(key);
    for (const key of [0, 1, 2 ** 53 - 1, 4294967296]) expect(tiny.has(key)).toBe(true);
  });
});

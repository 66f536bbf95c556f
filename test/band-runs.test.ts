import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BandBuffer } from '../src/dedup/band-buffer.js';
import { BandRuns, type RunListing } from '../src/dedup/band-runs.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-runs-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A seeded stream of band keys below 2^53, with a few hot keys repeated many times. */
function keysOf(seed: number, n: number, hot: readonly number[]): number[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  return Array.from({ length: n }, (_, i) => (i % 7 === 0 ? (hot[next() % hot.length] as number) : (next() & 0x1fffff) * 4294967296 + next()));
}

/** Writes batches as `add` would get them from the buffer: sorted keys, ords above every earlier one. */
function fill(runs: BandRuns, batches: number, size: number, truth: Map<number, number[]>, firstOrd = 1): number {
  const hot = [5, 2 ** 52 + 3, 123456789];
  let ord = firstOrd;
  for (let b = 0; b < batches; b++) {
    const entries = keysOf(b + 1, size, hot).map((key) => [key, ord++] as const);
    entries.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    for (const [key, o] of entries) truth.set(key, [...(truth.get(key) ?? []), o]);
    runs.add(Float64Array.from(entries, (e) => e[0]), Uint32Array.from(entries, (e) => e[1]));
  }
  return ord;
}

const found = (runs: BandRuns, key: number): number[] => {
  const out: number[] = [];
  runs.find(key, out);
  return out.sort((a, b) => a - b);
};

describe('BandRuns', () => {
  it('finds every ord of every key across runs and merges, hot keys spanning many blocks included', () => {
    const dir = tempDir();
    const runs = BandRuns.reset(dir);
    const truth = new Map<number, number[]>();
    fill(runs, 37, 900, truth);
    // 37 equal batches: a binary counter keeps one run per set bit of 37 (100101b).
    expect(runs.listing.map((r) => r.count)).toEqual([32 * 900, 4 * 900, 900]);
    expect(runs.entries).toBe(37 * 900);
    // The hot keys hold thousands of entries each: far more than one 256-entry block.
    expect((truth.get(5) ?? []).length).toBeGreaterThan(1000);
    for (const [key, ords] of truth) expect(found(runs, key), `key ${key}`).toEqual(ords);
    // Keys never added (below, between and above the stored ones) find nothing.
    for (const key of [0, 4, 6, 2 ** 53 - 1, 77777]) if (!truth.has(key)) expect(found(runs, key)).toEqual([]);
    runs.committed();
    runs.close();
  });

  it('reopens from its listing with every key passed to the loader, and deletes run files it does not list', () => {
    const dir = tempDir();
    const runs = BandRuns.reset(dir);
    const truth = new Map<number, number[]>();
    fill(runs, 5, 500, truth);
    const listing = runs.listing;
    runs.committed();
    runs.close();
    writeFileSync(join(dir, 'run-999999.bin'), 'left by a session killed before its commit');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    const loaded: number[] = [];
    const again = BandRuns.open(dir, listing, (key) => loaded.push(key)) as BandRuns;
    expect(again).toBeDefined();
    expect(loaded.length).toBe(5 * 500);
    expect(readdirSync(dir).sort()).toEqual([...listing.map((l) => l.name), 'notes.txt'].sort());
    for (const [key, ords] of truth) expect(found(again, key)).toEqual(ords);
    // A new run after reopening takes a fresh name, never one a listed run has.
    fill(again, 1, 10, truth, 10_000);
    expect(new Set(again.listing.map((l) => l.name)).size).toBe(again.listing.length);
    again.close();
  });

  it('keeps the files of the last committed listing until the new one is committed (a crash in between finds them)', () => {
    const dir = tempDir();
    const runs = BandRuns.reset(dir);
    const truth = new Map<number, number[]>();
    fill(runs, 1, 300, truth);
    const committed: RunListing[] = runs.listing;
    runs.committed();
    // The second batch merges with the first: the first file is replaced, not yet deleted.
    fill(runs, 1, 300, new Map(), 5000);
    expect(runs.listing).toHaveLength(1);
    expect(existsSync(join(dir, (committed[0] as RunListing).name))).toBe(true);
    // "Killed" here: the last committed listing still opens and finds its keys.
    const reopened = BandRuns.open(dir, committed, () => undefined) as BandRuns;
    expect(reopened).toBeDefined();
    for (const [key, ords] of truth) expect(found(reopened, key)).toEqual(ords);
    reopened.close();
    runs.close();
  });

  it('deletes replaced files once the listing that drops them is committed', () => {
    const dir = tempDir();
    const runs = BandRuns.reset(dir);
    fill(runs, 4, 100, new Map());
    runs.committed();
    expect(readdirSync(dir)).toEqual(runs.listing.map((l) => l.name));
    runs.close();
  });

  it('an add that cannot write a file (a full disk, in its own run or in any merge) changes nothing, and can be tried again', () => {
    // Three runs of sizes 2, 1 after three batches; a fourth writes its run then merges twice.
    for (const failing of [0, 1, 2]) {
      const dir = tempDir();
      const runs = BandRuns.reset(dir);
      const truth = new Map<number, number[]>();
      const ord = fill(runs, 3, 200, truth);
      runs.committed();
      const listing = runs.listing;
      const next = Math.max(...listing.map((l) => Number(/\d+/.exec(l.name)?.[0]))) + 1;
      const blocker = join(dir, `run-${String(next + failing).padStart(6, '0')}.bin`);
      mkdirSync(blocker);
      expect(() => fill(runs, 1, 200, new Map(), ord), `write ${failing}`).toThrow(/cannot write/);
      expect(runs.listing, `write ${failing}`).toEqual(listing);
      // A commit of that unchanged listing deletes none of its files; only they are left.
      runs.committed();
      rmSync(blocker, { recursive: true });
      expect(readdirSync(dir).sort(), `write ${failing}`).toEqual(listing.map((l) => l.name).sort());
      for (const [key, ords] of truth) expect(found(runs, key), `key ${key}`).toEqual(ords);
      fill(runs, 1, 200, truth, ord);
      expect(runs.listing.map((l) => l.count)).toEqual([800]);
      for (const [key, ords] of truth) expect(found(runs, key), `key ${key}`).toEqual(ords);
      runs.close();
    }
  });

  it('refuses a listed run that is missing, cut short, of another format or out of order', () => {
    const make = (): { dir: string; listing: RunListing[] } => {
      const dir = tempDir();
      const runs = BandRuns.reset(dir);
      fill(runs, 1, 1000, new Map());
      const listing = runs.listing;
      runs.committed();
      runs.close();
      return { dir, listing };
    };
    const damaged = (harm: (file: string) => void): BandRuns | undefined => {
      const { dir, listing } = make();
      harm(join(dir, (listing[0] as RunListing).name));
      return BandRuns.open(dir, listing, () => undefined);
    };
    expect(damaged(() => undefined)).toBeDefined();
    expect(damaged((f) => rmSync(f))).toBeUndefined();
    expect(damaged((f) => truncateSync(f, 16 + 12 * 999))).toBeUndefined();
    expect(
      damaged((f) => {
        const bytes = readFileSync(f);
        bytes.write('NOTBANDS', 0, 'latin1');
        writeFileSync(f, bytes);
      }),
    ).toBeUndefined();
    expect(
      damaged((f) => {
        // Same size, keys zeroed from the middle on: what a lost disk cache leaves.
        const bytes = readFileSync(f);
        bytes.fill(0, 16 + 8 * 500, 16 + 8 * 1000);
        writeFileSync(f, bytes);
      }),
    ).toBeUndefined();
    // Damage that keeps the keys in order: the checksum in the header sees it.
    for (const [from, to] of [
      [16, 16 + 8 * 100], // the first keys zeroed (0 ≤ every key: still ascending)
      [16 + 8 * 1000 + 4 * 200, 16 + 8 * 1000 + 4 * 300], // some ords zeroed
    ] as const) {
      expect(
        damaged((f) => {
          const bytes = readFileSync(f);
          bytes.fill(0, from, to);
          writeFileSync(f, bytes);
        }),
        `bytes ${from}–${to} zeroed`,
      ).toBeUndefined();
    }
  });
});

describe('BandBuffer.takeSorted', () => {
  it('returns every (key, ord) pair once, keys ascending, and empties the buffer', () => {
    const buffer = new BandBuffer(50_000);
    const pairs: string[] = [];
    // Keys across the whole 53-bit range (every radix digit matters), a fifth of them repeated.
    const fresh = keysOf(9, 50_000, [0, 1, 2 ** 53 - 1]);
    fresh.forEach((key, ord) => {
      const k = ord % 5 === 4 ? (fresh[ord >> 1] as number) : key;
      buffer.add(k, ord);
      pairs.push(`${k}:${ord}`);
    });
    const { keys, ords } = buffer.takeSorted();
    expect(buffer.size).toBe(0);
    expect(Array.from(keys, (k, i) => `${k}:${ords[i]}`).sort()).toEqual(pairs.sort());
    for (let i = 1; i < keys.length; i++) expect(keys[i] as number).toBeGreaterThanOrEqual(keys[i - 1] as number);
    const out: number[] = [];
    buffer.find(fresh[0] as number, out);
    expect(out).toEqual([]);
  });
});

/**
 * The LSH band keys of kept segments once they leave memory: immutable sorted run files, merged
 * as a log-structured merge tree (segment-index.ts decides which runs are current).
 *
 * Why not a B-tree: band keys are uniform hashes, so a bulk insert of half a million of them
 * into a SQLite table touches every page of it; the table (30 bands a segment, ~600 MB at a
 * million segments) was rewritten on every spill, and near-duplicate detection slowed from 14
 * to 6 MB/s of text between 10k and 1M segments. A run is written once, sequentially; two runs
 * of similar size are merged into one (a binary counter: a key is rewritten about log2(spills)
 * times), so a lookup reads at most ~log2(spills) runs: 7 at a million segments.
 *
 * A run file: a 16-byte header (the magic `GTBANDS1`, the entry count and a checksum of the
 * entries, both u32 LE), then the keys (float64, ascending), then their ords (u32, in the same
 * order); host byte order, which is little-endian on every platform Node runs on. Memory per
 * run: one fence key every {@link BLOCK} entries (0.9 MiB per 30 million keys).
 */
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncFd, writeAll, writeFailure } from '../io/durable.js';

const MAGIC = Buffer.from('GTBANDS1', 'latin1');
const HEADER = 16;
/** Entries per block: a lookup reads one block of keys (2 KiB) after a search of the fences in memory. */
const BLOCK = 256;
/** Entries per read and per write while merging or loading: 768 KiB of buffers per stream. */
const CHUNK = 65_536;
const NAME = /^run-(\d{6,})\.bin$/;

/** A run as the index's metadata lists it. */
export interface RunListing {
  /** File name in the runs folder (`run-000001.bin`). */
  name: string;
  /** Entries (band key, ord) in the file. */
  count: number;
}

/** A listing as stored (JSON text); undefined when it is not one (a damaged metadata row). */
export function parseListing(text: string): RunListing[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const valid = value.every(
    (l: unknown) =>
      typeof l === 'object' && l !== null && 'name' in l && 'count' in l && typeof l.name === 'string' && NAME.test(l.name) && Number.isSafeInteger(l.count) && (l.count as number) >= 0,
  );
  return valid ? (value as RunListing[]) : undefined;
}

class Run {
  private constructor(
    readonly name: string,
    readonly path: string,
    readonly fd: number,
    readonly count: number,
    /** The key of every {@link BLOCK}-th entry. */
    readonly fences: Float64Array,
  ) {}

  /** Opens a listed run, checks its header and size, and passes every key to `onKey`; undefined when it is missing or damaged. */
  static open(dir: string, listing: RunListing, onKey: (key: number) => void): Run | undefined {
    const path = join(dir, listing.name);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    const header = Buffer.alloc(HEADER);
    const valid =
      fstatSync(fd).size === HEADER + 12 * listing.count &&
      readFully(fd, header, 0) &&
      header.subarray(0, 8).equals(MAGIC) &&
      header.readUInt32LE(8) === listing.count;
    if (!valid) {
      closeSync(fd);
      return undefined;
    }
    const fences = new Float64Array(Math.ceil(listing.count / BLOCK));
    const run = new Run(listing.name, path, fd, listing.count, fences);
    let last = -1;
    let sum = CHECKSUM_SEED;
    let at = 0;
    for (const entry = new Stream(run); !entry.done; entry.advance(), at++) {
      // Out of order is a damaged file (a torn write the size check did not see).
      if (entry.key < last) {
        run.close();
        return undefined;
      }
      last = entry.key;
      sum = checksum(sum, entry.key, entry.ord);
      if (at % BLOCK === 0) fences[at / BLOCK] = entry.key;
      onKey(entry.key);
    }
    // Zeroed or overwritten bytes in order (a lost disk cache, a bad copy): damaged too.
    if (sum >>> 0 !== header.readUInt32LE(12)) {
      run.close();
      return undefined;
    }
    return run;
  }

  /** Writes a run from a sorted stream of entries, synced before it is returned (its listing is committed after). */
  static write(dir: string, name: string, count: number, fill: (sink: RunSink) => void): Run {
    const path = join(dir, name);
    let fd: number | undefined;
    try {
      fd = openSync(path, 'w+');
      const header = Buffer.alloc(HEADER);
      MAGIC.copy(header);
      header.writeUInt32LE(count, 8);
      writeAll(fd, header, path, 0);
      const sink = new RunSink(fd, path, count);
      fill(sink);
      sink.end();
      syncFd(fd, path);
      return new Run(name, path, fd, count, sink.fences);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      removeQuietly(path);
      throw writeFailure(path, error);
    }
  }

  /** Pushes onto `out` the ords stored under `key`. */
  find(key: number, out: number[], scratch: Float64Array): void {
    const { fences, count } = this;
    if (count === 0 || key < (fences[0] as number)) return;
    // The last block whose fence is below `key`: entries equal to `key` may start in it.
    let lo = 0;
    let hi = fences.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((fences[mid] as number) < key) lo = mid;
      else hi = mid - 1;
    }
    let first = -1;
    let last = -1;
    for (let block = lo; block < fences.length; block++) {
      const from = block * BLOCK;
      const n = Math.min(BLOCK, count - from);
      readFully(this.fd, bytes(scratch, n), HEADER + 8 * from);
      let i = 0;
      while (i < n && (scratch[i] as number) < key) i++;
      while (i < n && scratch[i] === key) {
        if (first === -1) first = from + i;
        last = from + i;
        i++;
      }
      // Stop unless the block ended on `key` (its entries may go on in the next one).
      if (i < n) break;
    }
    if (first === -1) return;
    const ords = new Uint32Array(last - first + 1);
    readFully(this.fd, bytes(ords, ords.length), HEADER + 8 * count + 4 * first);
    for (const ord of ords) out.push(ord);
  }

  /** Reads entries `[from, from + n)` into the arrays. */
  read(from: number, n: number, keys: Float64Array, ords: Uint32Array): void {
    readFully(this.fd, bytes(keys, n), HEADER + 8 * from);
    readFully(this.fd, bytes(ords, n), HEADER + 8 * this.count + 4 * from);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Where a run being written takes its entries, in order, a chunk at a time. */
class RunSink {
  private readonly keys = new Float64Array(CHUNK);
  private readonly ords = new Uint32Array(CHUNK);
  private n = 0;
  private written = 0;
  private sum = CHECKSUM_SEED;
  readonly fences: Float64Array;

  constructor(
    private readonly fd: number,
    private readonly path: string,
    private readonly count: number,
  ) {
    this.fences = new Float64Array(Math.ceil(count / BLOCK));
  }

  push(key: number, ord: number): void {
    if (ord > 0xffffffff) throw new RangeError(`band runs: ord ${ord} does not fit 32 bits`);
    const at = this.written + this.n;
    if (at % BLOCK === 0) this.fences[at / BLOCK] = key;
    this.sum = checksum(this.sum, key, ord);
    this.keys[this.n] = key;
    this.ords[this.n++] = ord;
    if (this.n === CHUNK) this.drain();
  }

  private drain(): void {
    writeAll(this.fd, bytes(this.keys, this.n), this.path, HEADER + 8 * this.written);
    writeAll(this.fd, bytes(this.ords, this.n), this.path, HEADER + 8 * this.count + 4 * this.written);
    this.written += this.n;
    this.n = 0;
  }

  end(): void {
    this.drain();
    if (this.written !== this.count) throw new Error(`band runs: ${this.written} entries written, ${this.count} announced`);
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(this.sum >>> 0);
    writeAll(this.fd, sum, this.path, 12);
  }
}

/**
 * The current runs, oldest first. Changes (a new run, a merge) take effect at once for lookups;
 * the caller lists {@link listing} in its metadata in the same transaction, and calls
 * {@link committed} after that transaction commits: only then are replaced files deleted, so a
 * crash before the commit finds every file its last committed listing names.
 */
export class BandRuns {
  private readonly runs: Run[] = [];
  /** Runs replaced by a merge: open (a failed {@link add} puts them back) until {@link committed}. */
  private readonly replaced: Run[] = [];
  private readonly scratch = new Float64Array(BLOCK);
  private next: number;

  /** `dir` undefined: a throwaway set (see {@link temporary}). */
  private constructor(readonly dir: string | undefined) {
    this.next = 1;
  }

  /**
   * Runs of a throwaway index (`:memory:`): each file is written in a folder of its own under the
   * system's temporary folder, then unlinked with its folder at once; it lives on through its
   * descriptor, so nothing is left behind when the process ends, even killed (but mid-write).
   */
  static temporary(): BandRuns {
    return new BandRuns(undefined);
  }

  /**
   * Opens the runs `listed` in `dir` (created when missing), deleting run files it does not list
   * (written by a session that died before committing them, or replaced by a merge). Every key goes to `onKey`.
   * Undefined when a listed run is missing or damaged: the caller rebuilds from its own truth
   * (after which {@link reset} empties the folder).
   */
  static open(dir: string, listed: readonly RunListing[], onKey: (key: number) => void): BandRuns | undefined {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw writeFailure(dir, error);
    }
    const runs = new BandRuns(dir);
    const names = new Set(listed.map((l) => l.name));
    for (const file of readdirSync(dir)) {
      const m = NAME.exec(file);
      if (m === null) continue;
      runs.next = Math.max(runs.next, Number(m[1]) + 1);
      if (!names.has(file)) removeQuietly(join(dir, file));
    }
    for (const listing of listed) {
      const run = Run.open(dir, listing, onKey);
      if (run === undefined) {
        runs.close();
        return undefined;
      }
      runs.runs.push(run);
    }
    return runs;
  }

  /** An empty set of runs in `dir`: every run file in it is deleted. */
  static reset(dir: string): BandRuns {
    const runs = BandRuns.open(dir, [], () => undefined);
    if (runs === undefined) throw new Error('band runs: an empty listing cannot be damaged');
    return runs;
  }

  /** The runs as the metadata must list them. */
  get listing(): RunListing[] {
    return this.runs.map((r) => ({ name: r.name, count: r.count }));
  }

  /** Entries in all runs. */
  get entries(): number {
    return this.runs.reduce((sum, r) => sum + r.count, 0);
  }

  /** Pushes onto `out` the ords stored under `key` in every run. */
  find(key: number, out: number[]): void {
    for (const run of this.runs) run.find(key, out, this.scratch);
  }

  /**
   * Adds a run of `keys` (ascending) and their `ords` (all above every ord already stored),
   * then merges the newest runs while the newer is more than half the size of the one before:
   * runs shrink geometrically from the oldest, like the digits of a binary counter.
   */
  add(keys: Float64Array, ords: Uint32Array): void {
    if (keys.length === 0) return;
    const before = [...this.runs];
    const replaced = this.replaced.length;
    try {
      this.runs.push(
        this.write(keys.length, (sink) => {
          for (let i = 0; i < keys.length; i++) sink.push(keys[i] as number, ords[i] as number);
        }),
      );
      for (let n = this.runs.length; n >= 2 && 2 * (this.runs[n - 1] as Run).count > (this.runs[n - 2] as Run).count; n = this.runs.length) {
        this.merge(this.runs[n - 2] as Run, this.runs[n - 1] as Run);
      }
    } catch (error) {
      // All or nothing (a full disk mid-merge): the runs as they were, the files written here
      // deleted. Otherwise the next commit would delete runs its listing still names, and the
      // caller, which keeps these keys, could not try again.
      for (const run of [...this.runs, ...this.replaced.splice(replaced)]) {
        if (!before.includes(run)) this.drop(run);
      }
      this.runs.splice(0, this.runs.length, ...before);
      throw error;
    }
  }

  /** Replaces the two newest runs by one (the older's entries first among equal keys). */
  private merge(older: Run, newer: Run): void {
    const merged = this.write(older.count + newer.count, (sink) => {
      const a = new Stream(older);
      const b = new Stream(newer);
      while (!a.done && !b.done) {
        if (b.key < a.key) {
          sink.push(b.key, b.ord);
          b.advance();
        } else {
          sink.push(a.key, a.ord);
          a.advance();
        }
      }
      for (const s of [a, b]) for (; !s.done; s.advance()) sink.push(s.key, s.ord);
    });
    this.runs.splice(this.runs.length - 2, 2, merged);
    this.replaced.push(older, newer);
  }

  private write(count: number, fill: (sink: RunSink) => void): Run {
    if (this.dir !== undefined) return Run.write(this.dir, this.name(), count, fill);
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), 'gemtraj-bands-'));
    } catch (error) {
      throw writeFailure(tmpdir(), error);
    }
    try {
      return Run.write(dir, this.name(), count, fill);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Closes a run that is no longer needed and deletes its file (a temporary one has none left). */
  private drop(run: Run): void {
    run.close();
    if (this.dir !== undefined) removeQuietly(run.path);
  }

  /** The listing has been committed: files it no longer names are deleted. */
  committed(): void {
    for (const run of this.replaced.splice(0)) this.drop(run);
  }

  /** Closes the files (replaced ones stay until a session deletes them after a commit). */
  close(): void {
    for (const run of [...this.runs.splice(0), ...this.replaced.splice(0)]) run.close();
  }

  private name(): string {
    return `run-${String(this.next++).padStart(6, '0')}.bin`;
  }
}

/** A run read in order, a chunk at a time. */
class Stream {
  private readonly keys: Float64Array;
  private readonly ords: Uint32Array;
  private from = 0;
  private i = 0;
  private n = 0;
  key = 0;
  ord = 0;
  done = false;

  constructor(private readonly run: Run) {
    this.keys = new Float64Array(Math.min(CHUNK, Math.max(1, run.count)));
    this.ords = new Uint32Array(this.keys.length);
    this.fill();
  }

  advance(): void {
    if (++this.i < this.n) {
      this.key = this.keys[this.i] as number;
      this.ord = this.ords[this.i] as number;
    } else {
      this.from += this.n;
      this.fill();
    }
  }

  private fill(): void {
    this.n = Math.min(this.keys.length, this.run.count - this.from);
    this.i = 0;
    if (this.n <= 0) {
      this.done = true;
      return;
    }
    this.run.read(this.from, this.n, this.keys, this.ords);
    this.key = this.keys[0] as number;
    this.ord = this.ords[0] as number;
  }
}

const CHECKSUM_SEED = 0x811c9dc5;

/** FNV-style mix of an entry (the key's two 32-bit halves, the ord) into a running checksum. */
function checksum(sum: number, key: number, ord: number): number {
  sum = Math.imul(sum ^ (key >>> 0), 0x01000193);
  sum = Math.imul(sum ^ Math.floor(key / 4294967296), 0x01000193);
  return Math.imul(sum ^ ord, 0x01000193);
}

/** The first `n` elements of a typed array as bytes. */
function bytes(array: Float64Array | Uint32Array, n: number): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, n * array.BYTES_PER_ELEMENT);
}

/** Reads `into.length` bytes at `position`; false at an early end of file. */
function readFully(fd: number, into: Uint8Array, position: number): boolean {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or a folder we do not own: left as it is.
  }
}

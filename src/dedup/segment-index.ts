/**
 * The index of segments already kept, for exact and near-duplicate decisions, in SQLite and
 * sorted run files beside it: the memory of a run stays flat however many segments it has seen
 * (a 64 MB page cache, a band buffer of 28 MiB at most, Bloom filters of 36 MiB and, in near
 * mode, 20 MiB of signatures, all fixed, plus 1 MiB of run fences per million segments), and the
 * decisions survive a crash, so a resumed run decides exactly as an uninterrupted one.
 *
 * Rule: segments are checked in input order (document order, then segment order; the engine
 * runs the dedup step in that order whatever the concurrency). The first segment of a group is
 * its representative and is kept; a later segment is a duplicate of the *earliest* kept
 * segment that it matches. Only representatives are indexed, so a chain A ≈ B ≈ C with A and
 * C dissimilar keeps C. A segment whose id is already indexed was kept by an earlier session
 * and stays kept (reruns are idempotent).
 *
 * - exact: sha-256 of the segment's words (lowercased letters and digits, see words.ts), so
 *   spacing, case and punctuation differences are exact duplicates too;
 * - near: also MinHash + LSH (minhash.ts): candidates share a band; a candidate is a match when
 *   the estimated Jaccard similarity of the shingle sets is at least `threshold`.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFailure } from '../io/durable.js';
import Database from 'better-sqlite3';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';
import { BandBuffer } from './band-buffer.js';
import { BandRuns, parseListing } from './band-runs.js';
import { BloomFilter } from './bloom.js';
import { MinHasher, type MinHashParams } from './minhash.js';
import { SignatureCache } from './signature-cache.js';
import { transientWordHashes } from './words.js';

export interface DedupSettings extends MinHashParams {
  /** exact: identical word sequences only; near: also MinHash near-duplicates. */
  mode: 'exact' | 'near';
  /** Estimated Jaccard similarity of shingle sets at or above which two segments are near-duplicates. */
  threshold: number;
}

export type DedupVerdict =
  | { duplicate: false }
  | {
      duplicate: true;
      /** Id of the kept segment this one repeats. */
      of: string;
      kind: 'exact' | 'near';
      /** Estimated Jaccard similarity (1 for exact duplicates). */
      similarity: number;
    };

/** Page cache of the index, KiB (SQLite's negative cache_size): what bounds its memory. */
const CACHE_KIB = 64 * 1024;
/**
 * Segments decided per transaction at most. One commit per kept segment would write its pages
 * to the WAL each time; a batch rewrites them in memory. See {@link SegmentIndex.flush}.
 */
const BATCH = 1000;
/**
 * Band keys held in memory before they are written out as one sorted run (band-runs.ts): 2^19
 * (about 17,000 kept segments at 30 bands; 28 MiB at most with the arrays that sort it).
 */
const BUFFER_ENTRIES = 2 ** 19;
/** Bloom filter over ids and exact hashes: 2^25 bits = 4 MiB (0.5 % false positives at 1 million kept segments). */
const SEEN_LOG2_BITS = 25;
/** How long an open waits for another process's lock on the index before it is refused, ms. */
const BUSY_MS = 2000;
/** Segments whose band keys are recomputed per read when an index is reopened. */
const TAIL_CHUNK = 4096;
/** Bloom filter over the band runs: 2^28 bits = 32 MiB, see bloom.ts. */
const BLOOM_LOG2_BITS = 28;
/** Signatures of kept segments held in memory (signature-cache.ts): 20 MiB, 34,952 signatures at 30 × 4 (480 bytes of values and 120 of low bytes each). */
const SIGNATURE_CACHE_BYTES = 20 * 1024 * 1024;

/** How an index is opened: tuning for tests (small buffers exercise the bulk path; runs use the defaults), and a fresh start. */
export interface SegmentIndexTuning {
  /**
   * Start empty: an index already at the file is emptied once its lock is held (a `gemtraj
   * dedup` pass starts afresh; deleting the files first would pull them from under a process
   * still using them). @default false
   */
  reset?: boolean;
  /** Band keys held in memory before they are written out as a run. @default 2^19 */
  bufferEntries?: number;
  /** log2 of the Bloom filter's bits. @default 28 (32 MiB) */
  bloomLog2Bits?: number;
  /** Kept segments re-indexed per read and commit when an index is reopened or rebuilt. @default 4096 */
  tailChunk?: number;
  /** Memory for signatures of kept segments, in bytes (see signature-cache.ts). @default 20 MiB */
  signatureCacheBytes?: number;
}

/**
 * Layout. `segs` is the record of every decision that kept a segment (append-only: `ord` is
 * its input position among kept segments), with its exact hash and MinHash signature. The band
 * runs (`<file>-bands/`, listed in `meta.band_runs`) map LSH band keys to ords for kept
 * segments up to `meta.bands_upto`; the band keys of later ones are in memory
 * ({@link BandBuffer}) and are recomputed from their stored signatures when the index is opened
 * again. So `segs` alone is the truth: a crash that loses the buffer loses nothing; a spill
 * lists its run and `bands_upto` in the same transaction as the segments it indexes, and a
 * run file missing or damaged (a lost disk cache) is rebuilt from the signatures.
 */
export class SegmentIndex {
  private readonly db: Database.Database;
  private readonly hasher: MinHasher | undefined;
  private readonly byId: Database.Statement<[string], { ord: number }>;
  private readonly byExact: Database.Statement<[Buffer], { id: string }>;
  private readonly signatureOf: Database.Statement<[number], { id: string; sig: Buffer }>;
  private readonly insertSeg: Database.Statement<[string, Buffer, Buffer | null]>;
  private readonly setMeta: Database.Statement<[string, string]>;
  private readonly buffer: BandBuffer;
  /** Near mode only: signatures of kept segments in memory, read before SQLite. */
  private readonly signatures: SignatureCache | undefined;
  /** The band keys written out (near mode only). */
  private runs: BandRuns | undefined;
  /** Where the runs live (a `:memory:` index has throwaway runs, see BandRuns.temporary). */
  private readonly runsDir: string;
  /** Over the keys in the runs (not the buffer); undefined while there are none. */
  private bloom: BloomFilter | undefined;
  /** Over the ids and exact hashes in `segs`: a new id or text costs no lookup. */
  private readonly seen: BloomFilter;
  private readonly bloomBits: number;
  private readonly tailChunk: number;
  private kept = 0;
  private pending = 0;
  private lastOrd = 0;
  /** A run was added whose listing is not recorded in the open transaction (a failed spill). */
  private listingStale = false;
  /** Set when a commit failed and was rolled back: the index no longer decides (reopen it). */
  private lost: Error | undefined;
  /** The last ord whose band keys are in the buffer (or, after a spill, in a run). */
  private bufferedUpto = 0;

  /** Opens (or creates) the index at `file`; `:memory:` for a throwaway one (estimates). */
  constructor(
    readonly file: string,
    readonly settings: DedupSettings,
    tuning: SegmentIndexTuning = {},
  ) {
    this.db = openDatabase(file, tuning.reset === true);
    try {
      this.checkSettings();
      this.hasher = settings.mode === 'near' ? new MinHasher(settings) : undefined;
      this.runsDir = `${file}-bands`;
      this.bloomBits = tuning.bloomLog2Bits ?? BLOOM_LOG2_BITS;
      this.tailChunk = Math.max(1, Math.floor(tuning.tailChunk ?? TAIL_CHUNK));
      this.buffer = new BandBuffer(Math.max(settings.bands, tuning.bufferEntries ?? BUFFER_ENTRIES));
      this.signatures = this.hasher === undefined ? undefined : new SignatureCache(settings.bands * settings.rows, tuning.signatureCacheBytes ?? SIGNATURE_CACHE_BYTES);
      this.byId = this.db.prepare('SELECT ord FROM segs WHERE id = ?');
      this.byExact = this.db.prepare('SELECT id FROM segs WHERE exact = ? ORDER BY ord LIMIT 1');
      this.signatureOf = this.db.prepare('SELECT id, sig FROM segs WHERE ord = ?');
      this.insertSeg = this.db.prepare('INSERT INTO segs (id, exact, sig) VALUES (?, ?, ?)');
      this.setMeta = this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
      const counts = this.db.prepare<[], { n: number; last: number | null }>('SELECT count(*) AS n, max(ord) AS last FROM segs').get();
      this.kept = counts?.n ?? 0;
      this.seen = new BloomFilter(SEEN_LOG2_BITS);
      for (const row of this.db.prepare<[], [string, Buffer]>('SELECT id, exact FROM segs').raw().iterate()) {
        this.seen.add(idKey(row[0]));
        this.seen.add(exactKey(row[1]));
      }
      this.lastOrd = counts?.last ?? 0;
      if (this.hasher !== undefined) this.load(this.hasher);
    } catch (error) {
      // Released, so that a retry in this process is not refused as "in use".
      this.runs?.close();
      if (this.db.open) this.db.close();
      throw error instanceof GemtrajError ? error : writeFailure(file, error);
    }
  }

  /**
   * The band runs and their Bloom filter, and the buffer from the signatures of the segments
   * kept after `bands_upto`. An index from before the runs (a `bands` table) or with a run
   * missing or damaged is rebuilt from the signatures: they are the truth.
   */
  private load(hasher: MinHasher): void {
    if (this.file === ':memory:') {
      this.runs = BandRuns.temporary();
      return;
    }
    const meta = (key: string): string | undefined => this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
    const legacy = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bands'").get() !== undefined;
    let upto = legacy ? 0 : Number(meta('bands_upto') ?? 0);
    const listed = legacy ? [] : parseListing(meta('band_runs') ?? '[]');
    // A listing or mark that cannot be right (a damaged row) is a damaged run: rebuilt.
    const sane = listed !== undefined && Number.isSafeInteger(upto) && upto >= 0 && upto <= this.lastOrd;
    let runs = sane ? BandRuns.open(this.runsDir, listed, (key) => (this.bloom ??= new BloomFilter(this.bloomBits)).add(key)) : undefined;
    if (runs === undefined) {
      this.bloom = undefined;
      runs = BandRuns.reset(this.runsDir);
      upto = 0;
    }
    this.runs = runs;
    this.db.exec('BEGIN');
    if (legacy) this.db.exec('DROP TABLE bands');
    this.bufferedUpto = upto;
    this.recordRuns();
    // A chunk per read: the statement must be done before a spill writes to meta.
    const tail = this.db.prepare<[number], { ord: number; sig: Buffer }>(`SELECT ord, sig FROM segs WHERE ord > ? AND sig IS NOT NULL ORDER BY ord LIMIT ${this.tailChunk}`);
    for (let rows = tail.all(upto); rows.length > 0; rows = tail.all((rows[rows.length - 1] as { ord: number }).ord)) {
      for (const { ord, sig } of rows) this.index(hasher.bandKeys(fromBlob(sig)), ord);
      // Committed a chunk at a time: runs replaced by the rebuild's merges are deleted as it
      // goes (one transaction kept them all, ~2 GB at a million segments). Every prefix is a
      // consistent index: the segments are committed already, the listing covers `bands_upto`.
      this.flush();
    }
    this.flush();
  }

  /** Representatives indexed so far (segments kept), this session and earlier ones. */
  get size(): number {
    return this.kept;
  }

  /**
   * Decides whether the segment `id` repeats one kept before, and indexes it when it does not.
   * A segment without any word is never a duplicate (there is nothing to compare).
   */
  check(id: string, text: string): DedupVerdict {
    if (this.lost !== undefined) throw this.lost;
    const open = this.db.inTransaction;
    try {
      return this.decide(id, text);
    } catch (error) {
      // A full disk is SQLITE_FULL here: one message naming the file, as for every writer.
      const failure = writeFailure(this.file, error);
      // SQLite may roll the whole transaction back on a statement's error (SQLITE_FULL,
      // SQLITE_IOERR, SQLITE_NOMEM): this object still holds its segments in memory (the
      // buffer, the filters, the next ord), so it must not decide again.
      if (open && !this.db.inTransaction && this.pending > 0) this.lost = failure;
      throw failure;
    }
  }

  private decide(id: string, text: string): DedupVerdict {
    if (!this.db.inTransaction) this.db.exec('BEGIN');
    const verdict = this.judge(id, text);
    if (++this.pending >= BATCH) this.flush();
    return verdict;
  }

  private judge(id: string, text: string): DedupVerdict {
    const ik = idKey(id);
    if (this.seen.has(ik) && this.byId.get(id) !== undefined) return { duplicate: false };
    // Read only until this method returns: the next call overwrites them.
    const hashes = transientWordHashes(text);
    if (hashes.length === 0) return { duplicate: false };
    const exact = createHash('sha256').update(hashes).digest().subarray(0, 16);
    const ek = exactKey(exact);
    const same = this.seen.has(ek) ? this.byExact.get(exact) : undefined;
    if (same !== undefined) return { duplicate: true, of: same.id, kind: 'exact', similarity: 1 };
    const sig = this.hasher?.signature(hashes);
    const keys = sig === undefined || this.hasher === undefined ? [] : this.hasher.bandKeys(sig);
    // Near mode: a signature implies the cache.
    const signatures = this.signatures;
    if (sig !== undefined && signatures !== undefined) {
      // The earliest kept segment that is similar enough: candidates in ord (input) order.
      const atLeast = this.sameForMatch(sig.length);
      const query = signatures.query(sig);
      for (const ord of this.candidates(keys)) {
        let same = signatures.sameValues(ord, query, atLeast);
        let id: string | undefined;
        if (same < 0) {
          // Not held: read back from SQLite, and held from now on.
          const row = this.signatureOf.get(ord);
          if (row === undefined) continue;
          signatures.put(ord, fromBlob(row.sig));
          same = signatures.sameValues(ord, query, atLeast);
          id = row.id;
        }
        if (same < atLeast) continue;
        id ??= this.signatureOf.get(ord)?.id;
        if (id !== undefined) return { duplicate: true, of: id, kind: 'near', similarity: same / sig.length };
      }
    }
    // Room first: a spill that fails (a full disk) then leaves this segment undecided, not kept without its band keys.
    if (keys.length > 0) this.makeRoom(keys.length);
    const ord = Number(this.insertSeg.run(id, exact, sig === undefined ? null : Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength)).lastInsertRowid);
    this.lastOrd = ord;
    if (sig !== undefined) signatures?.put(ord, sig);
    this.kept++;
    this.seen.add(ik);
    this.seen.add(ek);
    if (keys.length > 0) this.index(keys, ord);
    return { duplicate: false };
  }

  /** The fewest equal values of `length` that reach the threshold (`same / length >= threshold`, minhash.ts's `similarity`). */
  private sameForMatch(length: number): number {
    let same = Math.max(0, Math.ceil(this.settings.threshold * length) - 1);
    while (same <= length && same / length < this.settings.threshold) same++;
    return same;
  }

  /** Kept segments sharing a band key with `keys`, ascending, each once. */
  private candidates(keys: readonly number[]): Uint32Array {
    const found: number[] = [];
    for (const key of keys) {
      this.buffer.find(key, found);
      if (this.bloom?.has(key) === true) this.runs?.find(key, found);
    }
    // A typed array sorts numbers without a compare callback: hundreds of ords per segment on
    // templated pages. Ords fit 32 bits (the band runs store them so), and Uint32Array's sort is
    // about twice as fast as Float64Array's (which orders NaN and -0 too).
    const ords = Uint32Array.from(found).sort();
    let n = 0;
    for (let i = 0; i < ords.length; i++) if (i === 0 || ords[i] !== ords[n - 1]) ords[n++] = ords[i] as number;
    return ords.subarray(0, n);
  }

  /** Buffers the band keys of a kept segment; a full buffer is written out as a run. */
  private index(keys: readonly number[], ord: number): void {
    this.makeRoom(keys.length);
    for (const key of keys) this.buffer.add(key, ord);
    this.bufferedUpto = ord;
  }

  private makeRoom(keys: number): void {
    if (this.buffer.size + keys > this.buffer.capacity) this.spill();
  }

  /**
   * Writes the buffer out as a run, and lists it with `bands_upto` in the open transaction
   * (which the next {@link flush} commits together with the segments whose keys these are).
   */
  private spill(): void {
    const runs = this.runs;
    if (runs === undefined) return;
    if (!this.db.inTransaction) this.db.exec('BEGIN');
    const { keys, ords } = this.buffer.takeSorted();
    try {
      runs.add(keys, ords);
    } catch (error) {
      // Not written (runs.add is all or nothing): the keys stay in memory for the next try.
      for (let i = 0; i < keys.length; i++) this.buffer.add(keys[i] as number, ords[i] as number);
      throw error;
    }
    const bloom = (this.bloom ??= new BloomFilter(this.bloomBits));
    for (const key of keys) bloom.add(key);
    this.recordRuns();
  }

  /**
   * Records the runs' listing and `bands_upto` (the buffered mark) in the open transaction.
   * Both rows or neither: a mark without its listing would skip keys at the next open. Until
   * a listing is recorded, the runs it replaces stay on disk (the committed listing names them).
   */
  private recordRuns(): void {
    this.listingStale = true;
    this.db.exec('SAVEPOINT runs');
    try {
      this.setMeta.run('bands_upto', String(this.bufferedUpto));
      this.setMeta.run('band_runs', JSON.stringify(this.runs?.listing ?? []));
      this.db.exec('RELEASE runs');
    } catch (error) {
      // Gone already when SQLite rolled the whole transaction back.
      if (this.db.inTransaction) this.db.exec('ROLLBACK TO runs; RELEASE runs');
      throw error;
    }
    this.listingStale = false;
  }

  /**
   * Commits the decisions made so far. Decisions are committed in batches, in order, so a crash
   * loses at most the last batch, whose documents were not marked done (the engine flushes
   * before it marks a document done): a resumed run redoes them and decides the same.
   */
  flush(): void {
    if (!this.db.open || !this.db.inTransaction) return;
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      // A failed COMMIT that SQLite rolled back took decisions this object still holds in memory.
      if (!this.db.inTransaction) this.lost = writeFailure(this.file, error);
      throw writeFailure(this.file, error);
    }
    this.pending = 0;
    if (!this.listingStale) this.runs?.committed();
  }

  close(): void {
    try {
      this.flush();
    } finally {
      // Closed even when the last commit failed (a full disk): the file must not stay open.
      if (this.db.open) this.db.close();
      this.runs?.close();
    }
  }

  /** An index made with other settings would decide differently: refuse it by name. */
  private checkSettings(): void {
    const wanted = JSON.stringify({ mode: this.settings.mode, shingle: this.settings.shingle, bands: this.settings.bands, rows: this.settings.rows, threshold: this.settings.threshold });
    const row = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'settings'").get();
    if (row === undefined) {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('settings', ?)").run(wanted);
      return;
    }
    if (row.value !== wanted) {
      this.db.close();
      throw new GemtrajError(
        `${this.file}: a deduplication index made with other settings (${row.value}, now ${wanted}); its decisions would not be reproducible. Delete it (and use a new --out) to start over.`,
        EXIT_BAD_INPUT,
      );
    }
  }
}

/**
 * Opens the index's database, locked for this process; `reset` empties it first, and replaces a
 * file that is not a database at all (a pass that starts afresh has nothing to keep in it).
 */
function openDatabase(file: string, reset: boolean): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (file !== ':memory:') {
      mkdirSync(dirname(file), { recursive: true });
      // A read-only folder named as such: SQLite would say "disk I/O error" (it fails to lock).
      accessSync(dirname(file), constants.W_OK);
    }
    db = new Database(file, { timeout: BUSY_MS });
    // One process at a time: a second one would take the first's uncommitted run files for
    // leftovers, reuse their names and interleave its kept segments with the first's (both
    // would decide differently from one run). The lock is taken by the first write below and
    // held until close (or the process's death); in WAL mode it also keeps the WAL index in
    // memory: no -shm file.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    if (reset) db.exec('DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS segs; DROP TABLE IF EXISTS bands;');
    // NORMAL in WAL mode: every commit survives a killed process, without an fsync per segment.
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = -${CACHE_KIB}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS segs (ord INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, exact BLOB NOT NULL, sig BLOB);
      CREATE INDEX IF NOT EXISTS segs_exact ON segs (exact);
    `);
    return db;
  } catch (error) {
    db?.close();
    const code = sqliteCode(error);
    if (code.startsWith('SQLITE_BUSY')) {
      throw new GemtrajError(`${file}: this deduplication index is in use by another process (another gemtraj run or dedup on the same output folder); wait for it to finish or use another --out.`, EXIT_BAD_INPUT);
    }
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      if (reset) {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
        return openDatabase(file, false);
      }
      throw new GemtrajError(`${file}: not a readable deduplication index (${error instanceof Error ? error.message : String(error)}); its decisions are lost: delete it and start the run again in a new --out.`, EXIT_BAD_INPUT);
    }
    // A full or read-only disk: one message naming the file, as for every writer.
    throw writeFailure(file, error);
  }
}

/** The SQLite result code of an error from better-sqlite3 (SQLITE_BUSY, ...); '' for any other error. */
function sqliteCode(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : '';
}

/** A Bloom key for a segment id (FNV-1a, two seeds: 53 bits). */
function idKey(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 13);
  }
  return (a & 0x1fffff) * 4294967296 + (b >>> 0);
}

/** A Bloom key for an exact hash: its first 48 bits. */
function exactKey(exact: Buffer): number {
  return exact.readUInt16BE(4) * 4294967296 + exact.readUInt32BE(0);
}

function fromBlob(blob: Buffer): Uint32Array {
  // Copy: a Buffer from SQLite need not be 4-byte aligned.
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Uint32Array(copy.buffer);
}

/**
 * The index of segments already kept, for exact and near-duplicate decisions, in SQLite: the
 * memory of a run stays flat however many segments it has seen (the page cache is bounded),
 * and the decisions survive a crash, so a resumed run decides exactly as an uninterrupted one.
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
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFailure } from '../io/durable.js';
import Database from 'better-sqlite3';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';
import { MinHasher, similarity, type MinHashParams } from './minhash.js';
import { wordHashes } from './words.js';

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
 * Segments decided per transaction at most. One commit per kept segment would write its ~30
 * band pages to the WAL each time; a batch rewrites them in memory. See {@link SegmentIndex.flush}.
 */
const BATCH = 1000;

export class SegmentIndex {
  private readonly db: Database.Database;
  private readonly hasher: MinHasher | undefined;
  private readonly byId: Database.Statement<[string], { ord: number }>;
  private readonly byExact: Database.Statement<[Buffer], { id: string }>;
  private readonly candidates: Database.Statement<number[], { ord: number }> | undefined;
  private readonly signatureOf: Database.Statement<[number], { id: string; sig: Buffer }>;
  private readonly add: (id: string, exact: Buffer, sig: Uint32Array | undefined, keys: number[]) => void;
  private kept = 0;
  private pending = 0;

  /** Opens (or creates) the index at `file`; `:memory:` for a throwaway one (estimates). */
  constructor(
    readonly file: string,
    readonly settings: DedupSettings,
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: every commit survives a killed process, without an fsync per segment.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`cache_size = -${CACHE_KIB}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS segs (ord INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, exact BLOB NOT NULL, sig BLOB);
      CREATE INDEX IF NOT EXISTS segs_exact ON segs (exact);
      CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (key, ord)) WITHOUT ROWID;
    `);
    this.checkSettings();
    this.hasher = settings.mode === 'near' ? new MinHasher(settings) : undefined;
    this.byId = this.db.prepare('SELECT ord FROM segs WHERE id = ?');
    this.byExact = this.db.prepare('SELECT id FROM segs WHERE exact = ? ORDER BY ord LIMIT 1');
    this.signatureOf = this.db.prepare('SELECT id, sig FROM segs WHERE ord = ?');
    if (this.hasher !== undefined) {
      const marks = Array.from({ length: settings.bands }, () => '?').join(', ');
      this.candidates = this.db.prepare(`SELECT DISTINCT ord FROM bands WHERE key IN (${marks}) ORDER BY ord`);
    }
    const insertSeg = this.db.prepare<[string, Buffer, Buffer | null]>('INSERT INTO segs (id, exact, sig) VALUES (?, ?, ?)');
    const insertBand = this.db.prepare<[number, number | bigint]>('INSERT OR IGNORE INTO bands (key, ord) VALUES (?, ?)');
    this.add = (id: string, exact: Buffer, sig: Uint32Array | undefined, keys: number[]): void => {
      const ord = insertSeg.run(id, exact, sig === undefined ? null : Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength)).lastInsertRowid;
      for (const key of keys) insertBand.run(key, ord);
    };
    this.kept = (this.db.prepare('SELECT count(*) AS n FROM segs').get() as { n: number }).n;
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
    try {
      return this.decide(id, text);
    } catch (error) {
      // A full disk is SQLITE_FULL here: one message naming the file, as for every writer.
      throw writeFailure(this.file, error);
    }
  }

  private decide(id: string, text: string): DedupVerdict {
    if (!this.db.inTransaction) this.db.exec('BEGIN');
    if (++this.pending >= BATCH) this.flush();
    if (this.byId.get(id) !== undefined) return { duplicate: false };
    const hashes = wordHashes(text);
    if (hashes.length === 0) return { duplicate: false };
    const exact = createHash('sha256').update(hashes).digest().subarray(0, 16);
    const same = this.byExact.get(exact);
    if (same !== undefined) return { duplicate: true, of: same.id, kind: 'exact', similarity: 1 };
    let sig: Uint32Array | undefined;
    let keys: number[] = [];
    if (this.hasher !== undefined && this.candidates !== undefined) {
      sig = this.hasher.signature(hashes);
      if (sig !== undefined) {
        keys = this.hasher.bandKeys(sig);
        for (const { ord } of this.candidates.all(...keys)) {
          const row = this.signatureOf.get(ord);
          if (row === undefined) continue;
          const s = similarity(sig, fromBlob(row.sig));
          if (s >= this.settings.threshold) return { duplicate: true, of: row.id, kind: 'near', similarity: s };
        }
      }
    }
    this.add(id, exact, sig, keys);
    this.kept++;
    return { duplicate: false };
  }

  /**
   * Commits the decisions made so far. Decisions are committed in batches, in order, so a crash
   * loses at most the last batch, whose documents were not marked done (the engine flushes
   * before it marks a document done): a resumed run redoes them and decides the same.
   */
  flush(): void {
    try {
      if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
    } catch (error) {
      throw writeFailure(this.file, error);
    }
    this.pending = 0;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      // Closed even when the last commit failed (a full disk): the file must not stay open.
      if (this.db.open) this.db.close();
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

function fromBlob(blob: Buffer): Uint32Array {
  // Copy: a Buffer from SQLite need not be 4-byte aligned.
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Uint32Array(copy.buffer);
}

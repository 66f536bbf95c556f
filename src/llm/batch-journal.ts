/**
 * The batch journal: which batches gemtraj submitted, the request keys each holds, and what
 * came back, in a SQLite file in the run directory (`batches.sqlite`). A batch is written down
 * before its upload starts, so a run killed at any moment finds it again on the rerun: it polls
 * the batches still open (finding one whose creation answer was lost by its metadata) instead
 * of submitting their requests again. Answers are kept here as well as in the response cache:
 * a run killed between downloading a batch's output and writing the cache loses nothing.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ChatResponse } from './backend.js';

/** File name of the journal inside a run directory. */
export const BATCH_JOURNAL_FILE = 'batches.sqlite';

/** Where a request key stands. */
export type LineState =
  /** In a batch that has not finished (or whose output was not read yet). */
  | 'submitted'
  /** Answered; the answer is in the journal. */
  | 'answered'
  /** Failed or expired: the next wave may submit it again. */
  | 'failed';

export interface JournalLine {
  key: string;
  state: LineState;
  /** Local id of the batch that holds (or held) the key. */
  batch: string;
  /** The answer, for `answered` lines. */
  response: ChatResponse | undefined;
}

/** A batch that has not finished, for the poller. */
export interface OpenBatch {
  /** gemtraj's own id (also in the batch's metadata as `gemtraj_batch`). */
  local: string;
  /** The provider's id; `null` while the creation answer has not been recorded. */
  remote: string | null;
  keys: string[];
}

export class BatchJournal {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS batches (
        local TEXT PRIMARY KEY,
        remote TEXT,
        status TEXT NOT NULL,
        lines INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE TABLE IF NOT EXISTS lines (
        key TEXT PRIMARY KEY,
        batch TEXT NOT NULL,
        state TEXT NOT NULL,
        response TEXT,
        error TEXT,
        submissions INTEGER NOT NULL DEFAULT 1
      );
      CREATE INDEX IF NOT EXISTS lines_batch ON lines (batch);
    `);
    // Journals made before the uploaded file was recorded.
    const columns = this.db.prepare('PRAGMA table_info(batches)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'file')) this.db.exec('ALTER TABLE batches ADD COLUMN file TEXT');
  }

  /** The batch's input file is uploaded as `file`: a provider that keeps no metadata can still be asked for the batch that runs it. */
  uploaded(local: string, file: string): void {
    this.db.prepare('UPDATE batches SET file = ? WHERE local = ?').run(file, local);
  }

  /** The uploaded input file of a batch, when it was recorded. */
  fileOf(local: string): string | undefined {
    const row = this.db.prepare('SELECT file FROM batches WHERE local = ?').get(local) as { file: string | null } | undefined;
    return row?.file ?? undefined;
  }

  /** Records a batch about to be uploaded, with its keys, in one transaction. */
  begin(local: string, keys: readonly string[], bytes: number): void {
    const insertBatch = this.db.prepare('INSERT INTO batches (local, remote, status, lines, bytes, created_at) VALUES (?, NULL, ?, ?, ?, ?)');
    const upsertLine = this.db.prepare(
      `INSERT INTO lines (key, batch, state) VALUES (?, ?, 'submitted')
       ON CONFLICT (key) DO UPDATE SET batch = excluded.batch, state = 'submitted', response = NULL, error = NULL, submissions = submissions + 1`,
    );
    this.db.transaction(() => {
      insertBatch.run(local, 'uploading', keys.length, bytes, Date.now());
      for (const key of keys) upsertLine.run(key, local);
    })();
  }

  /** The provider accepted the batch under `remote`. */
  created(local: string, remote: string, status: string): void {
    this.db.prepare('UPDATE batches SET remote = ?, status = ? WHERE local = ?').run(remote, status, local);
  }

  status(local: string, status: string): void {
    this.db.prepare('UPDATE batches SET status = ? WHERE local = ?').run(status, local);
  }

  /** The batch is done with: its lines are answered or failed. Lines still `submitted` become `failed`. */
  finish(local: string, status: string): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE batches SET status = ?, finished_at = ? WHERE local = ?').run(status, Date.now(), local);
      this.db.prepare("UPDATE lines SET state = 'failed' WHERE batch = ? AND state = 'submitted'").run(local);
    })();
  }

  answer(key: string, local: string, response: ChatResponse): void {
    this.db.prepare("UPDATE lines SET state = 'answered', response = ?, error = NULL WHERE key = ? AND batch = ?").run(JSON.stringify(response), key, local);
  }

  fail(key: string, local: string, error: string): void {
    this.db.prepare("UPDATE lines SET state = 'failed', error = ? WHERE key = ? AND batch = ?").run(error, key, local);
  }

  line(key: string): JournalLine | undefined {
    const row = this.db.prepare('SELECT key, batch, state, response FROM lines WHERE key = ?').get(key) as
      | { key: string; batch: string; state: LineState; response: string | null }
      | undefined;
    if (row === undefined) return undefined;
    // An answer dropped by `compact` is in the response cache, which the gateway reads first;
    // should that cache be gone, the request is asked again.
    if (row.state === 'answered' && row.response === null) return { key: row.key, batch: row.batch, state: 'failed', response: undefined };
    return { key: row.key, batch: row.batch, state: row.state, response: row.response === null ? undefined : (JSON.parse(row.response) as ChatResponse) };
  }

  /** Batches not finished, oldest first, with their keys still `submitted`. */
  open(): OpenBatch[] {
    const batches = this.db.prepare('SELECT local, remote FROM batches WHERE finished_at IS NULL ORDER BY created_at').all() as Array<{ local: string; remote: string | null }>;
    const keys = this.db.prepare("SELECT key FROM lines WHERE batch = ? AND state = 'submitted'");
    return batches.map((b) => ({ ...b, keys: (keys.all(b.local) as Array<{ key: string }>).map((r) => r.key) }));
  }

  /**
   * Finishes the open batch whose local or provider id is `id` as `forgotten`: its requests
   * still submitted go into the next wave. Returns how many, or `undefined` when no open batch
   * has that id.
   */
  forget(id: string): number | undefined {
    const batch = this.open().find((b) => b.local === id || b.remote === id);
    if (batch === undefined) return undefined;
    this.finish(batch.local, 'forgotten');
    return batch.keys.length;
  }

  /** Keys of a batch still `submitted`. */
  submittedKeys(local: string): string[] {
    return (this.db.prepare("SELECT key FROM lines WHERE batch = ? AND state = 'submitted'").all(local) as Array<{ key: string }>).map((r) => r.key);
  }

  /**
   * Drops the stored answers that `isCached` says the response cache holds (they were only kept
   * against a crash before the cache write), so the journal does not grow into a second cache.
   * Returns how many were dropped.
   */
  compact(isCached: (key: string) => boolean): number {
    const rows = this.db.prepare("SELECT key FROM lines WHERE state = 'answered' AND response IS NOT NULL").all() as Array<{ key: string }>;
    const drop = this.db.prepare('UPDATE lines SET response = NULL WHERE key = ?');
    let dropped = 0;
    this.db.transaction(() => {
      for (const { key } of rows) {
        if (!isCached(key)) continue;
        drop.run(key);
        dropped++;
      }
    })();
    return dropped;
  }

  /** Totals for progress and tests. */
  summary(): { batches: number; open: number; answered: number; failed: number; submitted: number; resubmissions: number } {
    const b = this.db.prepare('SELECT COUNT(*) AS n, SUM(finished_at IS NULL) AS open FROM batches').get() as { n: number; open: number | null };
    const l = this.db
      .prepare(
        "SELECT SUM(state = 'answered') AS answered, SUM(state = 'failed') AS failed, SUM(state = 'submitted') AS submitted, SUM(submissions - 1) AS re FROM lines",
      )
      .get() as { answered: number | null; failed: number | null; submitted: number | null; re: number | null };
    return { batches: b.n, open: b.open ?? 0, answered: l.answered ?? 0, failed: l.failed ?? 0, submitted: l.submitted ?? 0, resubmissions: l.re ?? 0 };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

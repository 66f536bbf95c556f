/**
 * The response cache: a SQLite file (WAL) mapping a hash of everything that determines an
 * answer — model, messages, tools, response_format, sampling parameters, sample index — to
 * the answer. File names and run ids are not in the key, so the same prompt is never paid
 * for twice, across reruns and across run directories that share a cache file.
 * Each `put` is its own committed statement: a SIGKILLed run loses at most the calls in flight.
 * Answers loaded from an offline batch (`gemtraj batch import`) are also listed as not yet
 * counted, so that the first run to use one counts it as a paid call (see {@link ResponseCache.claimOffline}).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { writeFailure } from '../io/durable.js';
import { EncodedStrings, hashCanonical } from './canonical-json.js';
import type { ToolCall, Usage } from '../records.js';

/** File name of the cache inside a run directory, when the config names no other file. */
export const DEFAULT_CACHE_FILE = 'cache.sqlite';

/** Bumped when the key recipe or the stored shape changes, so old entries are not misread. */
const KEY_VERSION = 'gemtraj-cache-v1';

export { canonicalJson } from './canonical-json.js';

/** Everything that determines an answer. `undefined` fields are left out of the key. */
export interface CacheKeyParts {
  model: string;
  messages: unknown[];
  tools?: unknown[] | undefined;
  response_format?: unknown;
  temperature?: number | undefined;
  top_p?: number | undefined;
  max_tokens?: number | undefined;
  seed?: number | undefined;
  reasoning_effort?: string | undefined;
  /** @default 0 */
  sampleIndex?: number | undefined;
}

export interface CachedCompletion {
  text: string;
  finishReason: string;
  usage: Usage;
  /** Model that answered. */
  model: string;
  toolCalls?: ToolCall[] | undefined;
}

/**
 * sha256 (hex) of the canonical JSON of the key parts. `strings` keeps the encoded long strings
 * for the request's body (see {@link encodedStringsOf}); by default they are thrown away.
 */
export function cacheKey(parts: CacheKeyParts, strings: EncodedStrings = new EncodedStrings()): string {
  const normalized = { ...parts, sampleIndex: parts.sampleIndex ?? 0, v: KEY_VERSION };
  const hash = createHash('sha256');
  hashCanonical(hash, normalized, strings);
  return hash.digest('hex');
}

/**
 * The table of offline answers not counted yet. Older gemtraj versions ignore it and read the
 * answers as any other. A read-only cache made before it existed is used without it (it can
 * hold no such answer).
 */
function createOfflineTable(db: Database.Database): void {
  try {
    db.exec('CREATE TABLE IF NOT EXISTS offline_uncounted (key TEXT PRIMARY KEY)');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'SQLITE_READONLY') throw error;
  }
}

interface Row {
  model: string;
  text: string;
  finish_reason: string;
  prompt_tokens: number;
  completion_tokens: number;
  tool_calls: string | null;
}

export class ResponseCache {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], Row>;
  private readonly putStmt: Database.Statement<[string, string, string, string, number, number, string | null, number]>;
  /** Statements of the offline table; `undefined` in a read-only cache made before it existed. */
  private readonly offline: { add: Database.Statement<[string]>; claim: Database.Statement<[string]>; count: Database.Statement<[], { n: number }> } | undefined;
  /**
   * Whether answers imported offline were waiting to be counted when the cache was opened: when
   * not, a hit costs no second lookup. An import made while this process runs is counted by the next.
   */
  private offlineWaiting: boolean;

  /** Opens (creating the file and its folder if needed) the cache at `path`. */
  constructor(readonly path: string) {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: every commit survives a killed process (not a power cut), and is fast.
      db.pragma('synchronous = NORMAL');
      // Shards of one run may share the file.
      db.pragma('busy_timeout = 10000');
      // A checkpoint (at 1,000 pages of WAL by default) fsyncs the WAL and the file on the event
      // loop, ~12 ms each: 17 of them in a 2,000-document run. At 8,192 pages (32 MiB of WAL)
      // there are a handful, and pages written again and again (the key index) are copied once
      // per checkpoint instead of at each.
      db.pragma('wal_autocheckpoint = 8192');
      db.exec(`CREATE TABLE IF NOT EXISTS responses (
      key TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      text TEXT NOT NULL,
      finish_reason TEXT NOT NULL,
      prompt_tokens INTEGER NOT NULL,
      completion_tokens INTEGER NOT NULL,
      tool_calls TEXT,
      created_at INTEGER NOT NULL
    )`);
      createOfflineTable(db);
    } catch (error) {
      db?.close();
      // "unable to open database file" does not say that the folder is read-only, and
      // "database or disk is full" does not say which file.
      throw writeFailure(path, error);
    }
    this.db = db;
    this.getStmt = this.db.prepare<[string], Row>(
      'SELECT model, text, finish_reason, prompt_tokens, completion_tokens, tool_calls FROM responses WHERE key = ?',
    );
    this.putStmt = this.db.prepare(
      `INSERT OR REPLACE INTO responses
         (key, model, text, finish_reason, prompt_tokens, completion_tokens, tool_calls, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const hasOffline = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'offline_uncounted'").get() !== undefined;
    this.offline = hasOffline
      ? {
          add: this.db.prepare('INSERT OR IGNORE INTO offline_uncounted (key) VALUES (?)'),
          claim: this.db.prepare('DELETE FROM offline_uncounted WHERE key = ?'),
          count: this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM offline_uncounted'),
        }
      : undefined;
    this.offlineWaiting = hasOffline && this.db.prepare('SELECT 1 FROM offline_uncounted LIMIT 1').get() !== undefined;
  }

  get(key: string): CachedCompletion | undefined {
    const row = this.getStmt.get(key);
    if (row === undefined) return undefined;
    return {
      text: row.text,
      finishReason: row.finish_reason,
      usage: { prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens },
      model: row.model,
      toolCalls: row.tool_calls === null ? undefined : (JSON.parse(row.tool_calls) as ToolCall[]),
    };
  }

  put(key: string, value: CachedCompletion): void {
    this.putStmt.run(
      key,
      value.model,
      value.text,
      value.finishReason,
      value.usage.prompt_tokens,
      value.usage.completion_tokens,
      value.toolCalls === undefined || value.toolCalls.length === 0 ? null : JSON.stringify(value.toolCalls),
      Date.now(),
    );
  }

  /**
   * Stores an answer that an offline batch produced (`batch import`) and lists it as not yet
   * counted, in one transaction.
   */
  putOffline(key: string, value: CachedCompletion): void {
    const offline = this.offline;
    // Only a read-only file lacks the table: the put below fails on it the same way.
    if (offline === undefined) return this.put(key, value);
    this.db.transaction(() => {
      this.put(key, value);
      offline.add.run(key);
    })();
  }

  /**
   * True once for an answer {@link putOffline} stored, at its first use: the caller counts it as
   * a paid call. Across processes sharing the file, one claims it. False for every other answer.
   */
  claimOffline(key: string): boolean {
    if (!this.offlineWaiting || this.offline === undefined) return false;
    return this.offline.claim.run(key).changes === 1;
  }

  /** Offline answers not counted yet (see {@link putOffline}). */
  offlineUncounted(): number {
    return this.offline?.count.get()?.n ?? 0;
  }

  /** Number of stored answers. */
  size(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

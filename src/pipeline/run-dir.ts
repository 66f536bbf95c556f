/**
 * The run directory: append-only JSONL files, one id index per file so that a rerun never
 * writes a record twice, and `run.json`. Opening an existing directory is how resume works:
 * torn last lines are dropped, retryable rejections (endpoint failures) are removed so their
 * records are tried again, and the ids already written are loaded.
 *
 * Work that was in flight when a run died is redone by the pipeline; its model calls are
 * served by the response cache, so no paid call is repeated.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { holdReserve, makeOutputDir, writeFailure, writeFileAtomic } from '../io/durable.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../io/documents.js';
import type { Extraction, Rejection, Segment, Trajectory } from '../records.js';
import { BATCH_JOURNAL_FILE } from '../llm/batch-journal.js';
import { DEFAULT_CACHE_FILE } from '../llm/cache.js';
import { USAGE_LEDGER_FILE } from '../llm/usage-ledger.js';
import { readRunJson, type RunJsonOnDisk } from './run-json.js';
import { dropTornTail, JsonlWriter, readJsonl, readJsonlLocated, readRecordAt, type JsonlLine } from '../io/jsonl.js';

export const RUN_FILES = {
  segments: 'segments.jsonl',
  extractions: 'extractions.jsonl',
  raw: 'trajectories.raw.jsonl',
  refined: 'trajectories.refined.jsonl',
  final: 'trajectories.jsonl',
  rejected: 'rejected.jsonl',
  /** One line per document whose work is complete: what resume skips. */
  progress: 'progress.jsonl',
  runJson: 'run.json',
  /** The dedup step's index of kept segments (SQLite): what a resumed run's decisions follow. */
  dedup: 'dedup.sqlite',
  cache: DEFAULT_CACHE_FILE,
  /** `{pid, host}` of the process writing the directory; removed when it closes. */
  lock: 'run.lock',
  /** Append-only usage events of every process (run.json's usage is their sum). */
  usage: USAGE_LEDGER_FILE,
  /** Space held while the run is open, spent at the first full disk (io/durable.ts holdReserve). */
  reserve: 'run.reserve',
} as const;

/** The reserve: room for the cache entries, ledger lines and index commit of the work in flight, and run.json. */
const RESERVE_BYTES = 8 * 2 ** 20;

/** Files a corpus run may leave before its first run.json (the lock, the ledger, the SQLite files and the dedup index's runs): a run killed at once is still ours. */
const EARLY_FILES = new Set<string>([
  RUN_FILES.lock,
  RUN_FILES.usage,
  RUN_FILES.reserve,
  ...[RUN_FILES.cache, BATCH_JOURNAL_FILE, RUN_FILES.dedup].flatMap((f) => [f, `${f}-wal`, `${f}-shm`, `${f}-journal`]),
  // The dedup index's band runs (dedup/band-runs.ts).
  `${RUN_FILES.dedup}-bands`,
]);

/** The first five of a folder's `entries` (sorted), for a message that refuses the folder. */
export function someEntries(entries: readonly string[]): string {
  const sorted = [...entries].sort();
  return sorted.slice(0, 5).join(', ') + (sorted.length > 5 ? `, … (${sorted.length} entries)` : '');
}

/** A run's own record file, still empty: what a run that died before its first run.json (a full disk) leaves. */
function emptyRunFile(dir: string, name: string): boolean {
  if (!RUN_FILE_NAMES.has(name)) return false;
  try {
    const stat = statSync(join(dir, name));
    return stat.isFile() && stat.size === 0;
  } catch {
    return false;
  }
}

const RUN_FILE_NAMES = new Set<string>(Object.values(RUN_FILES));

/**
 * Refuses a `--out` of a corpus run that is a non-empty folder but not a gemtraj run
 * directory: appending to whatever `trajectories.jsonl` is there would mix foreign records
 * into the dataset. A run directory holds run.json (written when a run starts), or only
 * the files a run creates before it. Call before anything is created in the folder.
 */
export function checkRunOut(dir: string): void {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(`--out ${dir} is a file, not a folder: give a run directory`);
    entries = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (entries.includes(RUN_FILES.runJson)) return;
  const foreign = entries.filter((name) => !EARLY_FILES.has(name) && !name.startsWith(`${RUN_FILES.lock}.`) && !emptyRunFile(dir, name));
  if (foreign.length === 0) return;
  const shown = someEntries(foreign);
  throw new InputError(`--out ${dir} is not empty and is not a gemtraj run directory (no ${RUN_FILES.runJson}; it holds ${shown}): give a new or empty folder`);
}

type FileKey = 'segments' | 'extractions' | 'raw' | 'refined' | 'final' | 'rejected' | 'progress';

/** A writer that skips records whose key (by default the id) the file already holds. */
export class IndexedWriter<T extends { id: string }> {
  readonly ids = new Set<string>();
  /** Byte position of each record by key, when the writer was made `locate`. */
  private readonly where = new Map<string, { offset: number; length: number }>();
  private writer: JsonlWriter | undefined;
  private closed = false;

  constructor(
    readonly file: string,
    /** Index key of a record; rejections use `stage:id` so a record is rejected once per stage. */
    private readonly keyOf: (record: { id?: unknown; stage?: unknown }) => string | undefined = (r) =>
      typeof r.id === 'string' ? r.id : undefined,
    /**
     * Keep each record's byte position so that {@link get} can read it back: a resumed run
     * reuses finished intermediate records instead of recomputing them. @default false
     */
    private readonly locate = false,
  ) {}

  /**
   * Loads the keys already in the file (after dropping a torn tail). Lines that are corrupt,
   * or that `keep` refuses, are removed by streaming the rest to a temp file and renaming it
   * over the original, so a crash during the rewrite leaves the old file intact.
   */
  async load(keep?: (record: Record<string, unknown>) => boolean): Promise<{ refused: number; repaired: number }> {
    const torn = dropTornTail(this.file) > 0 ? 1 : 0;
    if (!existsSync(this.file)) return { refused: 0, repaired: torn };
    const isRecord = (entry: JsonlLine): boolean => entry.error === undefined && entry.value !== null && typeof entry.value === 'object';
    const accept = (entry: JsonlLine): boolean => isRecord(entry) && (keep === undefined || keep(entry.value as Record<string, unknown>));
    let corrupt = 0;
    let refused = 0;
    for await (const entry of readJsonlLocated(this.file)) {
      if (!isRecord(entry)) corrupt++;
      else if (!accept(entry)) refused++;
      else {
        const key = this.keyOf(entry.value as Record<string, unknown>);
        if (key !== undefined && !this.ids.has(key)) {
          this.ids.add(key);
          if (this.locate) this.where.set(key, { offset: entry.offset, length: entry.length });
        }
      }
    }
    if (corrupt + refused > 0) {
      const tmp = `${this.file}.tmp`;
      rmSync(tmp, { force: true }); // a stale temp file from an earlier crash
      const out = new JsonlWriter(tmp);
      this.where.clear();
      try {
        for await (const entry of readJsonl(this.file)) {
          if (!accept(entry)) continue;
          const at = out.write(entry.value);
          const key = this.keyOf(entry.value as Record<string, unknown>);
          if (this.locate && key !== undefined && !this.where.has(key)) this.where.set(key, at);
        }
        out.sync();
        out.close();
        renameSync(tmp, this.file);
      } catch (error) {
        // The original file is untouched: drop the partial copy and say which file needs room.
        out.close();
        rmSync(tmp, { force: true });
        throw writeFailure(this.file, error);
      }
    }
    return { refused, repaired: torn + corrupt };
  }

  has(key: string): boolean {
    return this.ids.has(key);
  }

  /** The record stored under `key` (first written wins), read back from the file. */
  get(key: string): T | undefined {
    const at = this.where.get(key);
    return at === undefined ? undefined : (readRecordAt(this.file, at.offset, at.length) as T);
  }

  /** Writes the record unless its key is already present; returns whether it wrote. */
  write(record: T): boolean {
    if (this.closed) throw new Error(`${this.file}: write after close`);
    const key = this.keyOf(record) ?? record.id;
    if (this.ids.has(key)) return false;
    this.writer ??= new JsonlWriter(this.file);
    const at = this.writer.write(record);
    this.ids.add(key);
    if (this.locate) this.where.set(key, at);
    return true;
  }

  /** Makes the records written so far durable (fsync); see {@link RunDirectory.syncOutputs}. */
  sync(): void {
    this.writer?.sync();
  }

  /** {@link sync} off the event loop (see {@link JsonlWriter.syncAsync}). */
  syncAsync(): Promise<void> {
    return this.writer?.syncAsync() ?? Promise.resolve();
  }

  close(): void {
    this.writer?.close();
    this.writer = undefined;
    this.closed = true;
  }
}

/** The stores a finished document's records are in: made durable before its progress mark. */
const OUTPUT_STORES = ['segments', 'extractions', 'raw', 'refined', 'final', 'rejected'] as const;

const rejectionKey = (r: { id?: unknown; stage?: unknown }): string | undefined =>
  typeof r.id === 'string' && typeof r.stage === 'string' ? `${r.stage}:${r.id}` : undefined;

const progressKey = (r: { id?: unknown; mode?: unknown }): string | undefined =>
  typeof r.id === 'string' ? `${typeof r.mode === 'string' ? r.mode : 'run'}:${r.id}` : undefined;

export interface RunState {
  segments: IndexedWriter<Segment>;
  extractions: IndexedWriter<Extraction>;
  raw: IndexedWriter<Trajectory>;
  refined: IndexedWriter<Trajectory>;
  final: IndexedWriter<Trajectory>;
  rejected: IndexedWriter<Rejection>;
  /** `{id: doc id, mode}` per finished document; keyed `mode:id`, so a `filter` run's progress never skips work of a `run`. */
  progress: IndexedWriter<{ id: string; mode: string }>;
}

export interface ResumeInfo {
  /** True when the directory already held a run. */
  resumed: boolean;
  /** Retryable rejections removed so that their records are tried again. */
  retried: number;
  /** Torn or corrupt lines dropped. */
  repaired: number;
}

export class RunDirectory {
  readonly files: Record<keyof typeof RUN_FILES, string>;
  private opened: RunState | undefined;

  constructor(readonly dir: string) {
    this.files = Object.fromEntries(Object.entries(RUN_FILES).map(([k, v]) => [k, join(dir, v)])) as Record<keyof typeof RUN_FILES, string>;
  }

  /**
   * Creates the folder and takes its lock, nothing else: for a process that writes beside the
   * run (a pilot's usage ledger and cache) without opening it. {@link close} gives it back.
   */
  holdLock(): void {
    makeOutputDir(this.dir);
    this.lock();
  }

  /** Creates the folder or opens an existing run for resume. */
  async open(): Promise<ResumeInfo> {
    makeOutputDir(this.dir);
    this.lock();
    this.reserve = holdReserve(this.files.reserve, RESERVE_BYTES);
    const resumed = existsSync(this.files.runJson) || existsSync(this.files.segments);
    const make = <T extends { id: string }>(key: FileKey): IndexedWriter<T> =>
      new IndexedWriter<T>(
        this.files[key],
        key === 'rejected' ? rejectionKey : key === 'progress' ? progressKey : undefined,
        // Intermediate records a resumed run reads back rather than recomputes.
        key === 'segments' || key === 'extractions' || key === 'raw' || key === 'refined',
      );
    const state: RunState = {
      segments: make('segments'),
      extractions: make('extractions'),
      raw: make('raw'),
      refined: make('refined'),
      final: make('final'),
      rejected: make('rejected'),
      progress: make('progress'),
    };
    let repaired = 0;
    for (const key of ['segments', 'extractions', 'raw', 'refined', 'final', 'progress'] as const) {
      repaired += (await state[key].load()).repaired;
    }
    // Rejections: index by stage:id; drop the retryable ones so their work is redone.
    const rej = await state.rejected.load((r) => r.retryable !== true);
    this.opened = state;
    return { resumed, retried: rej.refused, repaired: repaired + rej.repaired };
  }

  /**
   * Creates the given files empty when absent, so that the printed "dataset:" path exists and
   * scripts can read the dataset and the rejections of a run that produced none.
   */
  ensureFiles(keys: readonly FileKey[]): void {
    for (const key of keys) {
      try {
        closeSync(openSync(this.files[key], 'a'));
      } catch (error) {
        throw writeFailure(this.files[key], error);
      }
    }
  }

  /** The open files of the run; throws before {@link open}. */
  get state(): RunState {
    if (this.opened === undefined) throw new Error('run directory not opened');
    return this.opened;
  }

  /** True when the record already has a final outcome at `stage` (or any stage for trajectories). */
  rejectedAt(stage: string, id: string): boolean {
    return this.state.rejected.has(`${stage}:${id}`);
  }

  reject(rejection: Rejection): void {
    this.state.rejected.write(rejection);
  }

  /**
   * Makes every record written so far durable (fsync of the files written since the last
   * call), before a document is marked done in progress.jsonl: a crash or a full disk can
   * then never leave a document marked done whose records are not all on disk. A delayed
   * write error (ENOSPC on a network file system) surfaces here, naming the file.
   */
  syncOutputs(): void {
    const state = this.state;
    for (const key of OUTPUT_STORES) state[key].sync();
  }

  /**
   * {@link syncOutputs} off the event loop: the files are flushed in parallel on libuv's pool and
   * the promise settles once every one has (so that none is closed under its sync); it rejects
   * with the first failure.
   */
  async syncOutputsAsync(): Promise<void> {
    const state = this.state;
    const results = await Promise.allSettled(OUTPUT_STORES.map((key) => state[key].syncAsync()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** run.json, checked (see {@link readRunJson}); `undefined` when there is none. */
  readRunJson(): RunJsonOnDisk | undefined {
    return readRunJson(this.dir);
  }

  /** Atomic write of `run.json` (temp file + rename), so a crash never leaves half a file. */
  writeRunJson(value: unknown): void {
    writeFileAtomic(this.files.runJson, `${JSON.stringify(value, null, 2)}\n`);
  }

  close(): void {
    this.releaseReserve();
    if (this.locked) rmSync(this.files.lock, { force: true });
    this.locked = false;
    if (this.opened === undefined) return;
    for (const w of Object.values(this.opened)) w.close();
  }

  private locked = false;
  private reserve: () => void = () => undefined;

  /** Gives back the reserve (before run.json's last write, which then fits even on a full disk). */
  releaseReserve(): void {
    this.reserve();
  }

  /**
   * Takes the directory for this process: two writers would append duplicates and the
   * resume rewrite of one would drop the other's lines. A lock left by a dead process on this
   * host (a crash, SIGKILL) is taken over; one from another host must be removed by hand.
   *
   * Taking over is atomic: only the holder of `run.lock.takeover` (created exclusively) may
   * remove a stale lock, and only after checking it is still the stale one it read. Without
   * that, two processes starting together could both remove "the" stale lock — the second
   * removing the first one's fresh lock — and both write the directory.
   */
  private lock(): void {
    const mine = JSON.stringify({ pid: process.pid, host: hostname() });
    const takeover = `${this.files.lock}.takeover`;
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (tryCreate(this.files.lock, mine)) {
        this.locked = true;
        return;
      }
      const stale = readLock(this.files.lock);
      if (stale === undefined) continue; // removed meanwhile: try again
      if (stale.host !== undefined && stale.host !== hostname()) {
        throw new InputError(`${this.dir} is in use by gemtraj on host ${String(stale.host)} (pid ${String(stale.pid)}); if that run is gone, delete ${this.files.lock}`);
      }
      if (stale.pid !== undefined && stale.pid !== process.pid && isAlive(stale.pid)) {
        throw new InputError(`${this.dir} is in use by another gemtraj process (pid ${stale.pid}); wait for it or use another --out`);
      }
      if (tryCreate(takeover, mine)) {
        try {
          // Still the stale lock we judged? Then nobody else can have replaced it: remove it.
          const now = readLock(this.files.lock);
          if (now !== undefined && now.text === stale.text) rmSync(this.files.lock, { force: true });
        } finally {
          rmSync(takeover, { force: true });
        }
        continue;
      }
      // Another process is taking over; a takeover left by a dead process is cleared.
      const other = readLock(takeover);
      if (other !== undefined && (other.pid === undefined || !isAlive(other.pid)) && Date.now() - other.mtimeMs > 2_000) rmSync(takeover, { force: true });
      if (Date.now() > deadline) throw new InputError(`${this.dir}: could not take ${this.files.lock} (${takeover} is held); if no gemtraj runs here, delete both`);
      sleepMs(5);
    }
  }
}

/**
 * Creates `file` with `text` unless it exists; true when this call created it. The content is
 * written to a private file first and hard-linked into place (link fails if the name exists),
 * so nobody ever reads a lock that exists but is still empty and mistakes it for a stale one.
 */
function tryCreate(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
    linkSync(tmp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw writeFailure(file, error);
  } finally {
    rmSync(tmp, { force: true });
  }
  // A file system without hard links: exclusive create, content right after.
  try {
    writeFileSync(file, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw writeFailure(file, error);
  }
}

/**
 * run.json as a reader should show it. A session that died without recording how it ended (a
 * SIGKILL, or a full disk that refused the last write of run.json) leaves `status: running`;
 * when no live process on this host holds the directory's lock, it is shown as `interrupted`
 * with that said. A lock held from another host cannot be checked and is believed.
 */
export function readSettledRunJson(dir: string): RunJsonOnDisk | undefined {
  const runJson = readRunJson(dir);
  if (runJson?.status !== 'running') return runJson;
  const holder = readLock(join(dir, RUN_FILES.lock));
  if (holder !== undefined && ((holder.host !== undefined && holder.host !== hostname()) || (holder.pid !== undefined && isAlive(holder.pid)))) return runJson;
  const why = 'the last session ended without recording how (killed, or run.json could not be written: a full disk?); rerun the same command to resume';
  const sessions = runJson.sessions?.map((s, i, all) => (i === all.length - 1 && s.status === 'running' ? { ...s, status: 'interrupted' as const, stop_reason: why } : s));
  return { ...runJson, status: 'interrupted', stop_reason: why, ...(sessions === undefined ? {} : { sessions }) };
}

/** A lock file's holder; `undefined` when the file is gone. Unreadable content counts as stale. */
function readLock(file: string): { text: string; pid: number | undefined; host: unknown; mtimeMs: number } | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(file, 'utf8');
    mtimeMs = statSync(file).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let holder: { pid?: unknown; host?: unknown } = {};
  try {
    holder = JSON.parse(text) as typeof holder;
  } catch {
    // a torn or foreign lock: stale
  }
  return { text, pid: typeof holder.pid === 'number' ? holder.pid : undefined, host: holder.host, mtimeMs };
}

/** Blocks for `ms` milliseconds (lock contention only: a few ms while another process takes over). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

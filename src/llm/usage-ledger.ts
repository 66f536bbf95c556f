/**
 * The usage ledger: an append-only file in the run directory with one short line per usage
 * event (a request sent, its answer and tokens, a cache hit, a retry…), so that run.json's usage
 * is the sum over every process that worked on the directory, killed ones included.
 *
 * Each line is appended with one `write` and no fsync: a line written survives `kill -9` of the
 * process (it is in the kernel's page cache), and a request whose answer was never read stays a
 * `sent` line without outcome, counted as an unconfirmed call. A machine crash (power loss) may
 * lose the last lines the kernel had not yet written out; a sync per call would cost more than
 * the call's own CPU budget.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { GemtrajError } from '../errors.js';
import { truncateTo, writeAll, writeFailure, writeFileAtomic } from '../io/durable.js';
import { emptyFigures, UsageAccounting, type UsageEvent, type UsageReport } from './usage.js';

/** File name of the ledger in a run directory. */
export const USAGE_LEDGER_FILE = 'usage.jsonl';

/** Bytes read at a time when replaying the ledger (1 MiB). */
export const LEDGER_CHUNK_BYTES = 1 << 20;

/**
 * A ledger bigger than this at open (64 MiB, about 550 000 paid calls) is compacted before the
 * first append: rewritten as one `base` line holding its sums.
 */
export const LEDGER_COMPACT_BYTES = 64 << 20;

/** The ledger could not be read on resume: says which file (and why). */
export class LedgerReadError extends GemtrajError {
  constructor(readonly file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot read the usage ledger ${file}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`, undefined, { cause });
    this.name = 'LedgerReadError';
  }
}

/**
 * Applies every whole line of the ledger at `path` (none when it does not exist), reading it
 * `chunkBytes` at a time: a line split across two reads is carried over, so memory does not grow
 * with the file (a ledger of millions of calls passes V8's 512 MB string limit). Lines are split
 * on the byte `\n`, which never occurs inside a UTF-8 character. A line that is not JSON (torn by
 * a full disk and cut back) is skipped; bytes after the last `\n` are not a line.
 * Returns the events applied, the bytes of whole lines, and the file's size.
 */
export function replayLedger(
  path: string,
  apply: (event: UsageEvent) => void,
  chunkBytes = LEDGER_CHUNK_BYTES,
): { events: number; wholeBytes: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { events: 0, wholeBytes: 0, size: 0 };
    throw new LedgerReadError(path, error);
  }
  const chunk = Buffer.allocUnsafe(Math.max(1, chunkBytes));
  let carry: Buffer = Buffer.alloc(0); // the start of a line begun in an earlier chunk
  let size = 0;
  let wholeBytes = 0;
  let events = 0;
  const line = (bytes: Buffer, start: number, end: number): void => {
    if (end === start) return;
    let event: UsageEvent;
    try {
      event = JSON.parse(bytes.toString('utf8', start, end)) as UsageEvent;
    } catch {
      return; // a line torn by a full disk and cut back is never complete JSON; skip it
    }
    apply(event);
    events++;
  };
  try {
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, size);
      } catch (error) {
        throw new LedgerReadError(path, error);
      }
      if (read === 0) break;
      let start = 0;
      for (let nl = chunk.indexOf(10, 0); nl !== -1 && nl < read; nl = chunk.indexOf(10, start)) {
        if (carry.length > 0) {
          const whole = Buffer.concat([carry, chunk.subarray(start, nl)]);
          carry = Buffer.alloc(0);
          line(whole, 0, whole.length);
        } else {
          line(chunk, start, nl);
        }
        start = nl + 1;
        wholeBytes = size + start;
      }
      // Copied: the chunk is overwritten by the next read.
      if (start < read) carry = Buffer.concat([carry, chunk.subarray(start, read)]);
      size += read;
    }
  } finally {
    closeSync(fd);
  }
  return { events, wholeBytes, size };
}

export class UsageLedger {
  private fd: number | undefined;
  private closed = false;
  /** Bytes of whole lines at open: a torn tail after them is cut off before the first append. */
  private wholeBytes: number;
  /** The ledger is to be compacted at the first append. */
  private compactAtOpen: boolean;
  /** The figures of the lines written before this process opened the ledger. */
  private readonly before: UsageAccounting;
  /** True when the file held no event at open (a new run, or one made before ledgers). */
  private fresh: boolean;

  /**
   * Replays what earlier processes wrote to `path`; the file is created at the first append.
   * `chunkBytes` (internal, for tests): bytes read at a time; the replay's memory is this buffer
   * and the per-(stage, model) figures, whatever the ledger's size. `compactBytes` (internal, for
   * tests): the size above which the ledger is compacted.
   */
  constructor(readonly path: string, options: { chunkBytes?: number; compactBytes?: number } = {}) {
    this.before = new UsageAccounting({});
    const replay = replayLedger(path, (event) => this.before.apply(event), options.chunkBytes);
    this.fresh = replay.events === 0;
    this.wholeBytes = replay.wholeBytes < replay.size ? replay.wholeBytes : -1;
    this.compactAtOpen = !this.fresh && replay.size > (options.compactBytes ?? LEDGER_COMPACT_BYTES);
  }

  /** Appends one event. Throws DiskFullError / WriteError naming the file. */
  append(event: UsageEvent): void {
    if (this.closed) return;
    writeAll(this.open(), Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'), this.path);
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    // Here, not at replay: the first append comes after the run directory's lock is taken, so no
    // other process appends to the file being replaced (as for the torn-tail cut below).
    if (this.compactAtOpen) this.compact();
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'a');
    } catch (error) {
      throw writeFailure(this.path, error);
    }
    // A line cut short (a full disk) is cut off, so that the next one starts on its own line.
    if (this.wholeBytes >= 0) truncateTo(this.fd, this.wholeBytes);
    return this.fd;
  }

  /**
   * Replaces the ledger by one `base` line holding the sums of its lines (a request sent by a
   * process now gone and never answered is in it as an unconfirmed call, as replay counts it),
   * so that resumes do not replay millions of lines. Crash-safe: the line is written to a temp
   * file, synced and renamed over the ledger, then the folder is synced; a crash before the rename
   * leaves the old ledger, which has the same sums. Best effort: if it cannot be written (a full
   * disk), the ledger stays as it is and appends go on.
   */
  private compact(): void {
    this.compactAtOpen = false;
    try {
      writeFileAtomic(this.path, `${JSON.stringify({ e: 'base', usage: this.before.report(true) } satisfies UsageEvent)}\n`);
    } catch {
      return;
    }
    this.wholeBytes = -1; // the new file is whole lines
    try {
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch {
      // A file system that cannot sync a folder: the rename is durable at its next commit.
    }
  }

  /**
   * Takes `usage` (recorded before the directory had a ledger: an older run.json's) as the
   * ledger's first line, when the ledger held nothing at open; otherwise does nothing.
   */
  adoptBase(usage: UsageReport): void {
    if (!this.fresh) return;
    this.append({ e: 'base', usage });
    this.before.apply({ e: 'base', usage });
    this.fresh = false;
  }

  /**
   * Usage of the processes before this one: their requests without an outcome count as
   * unconfirmed calls (those processes are gone).
   */
  previous(): UsageReport {
    return this.fresh ? { by_stage: {}, by_model: {}, totals: emptyFigures(), unpriced_models: [] } : this.before.report(true);
  }

  close(): void {
    this.closed = true;
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

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
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { truncateTo, writeAll, writeFailure } from '../io/durable.js';
import { emptyFigures, UsageAccounting, type UsageEvent, type UsageReport } from './usage.js';

/** File name of the ledger in a run directory. */
export const USAGE_LEDGER_FILE = 'usage.jsonl';

export class UsageLedger {
  private fd: number | undefined;
  private closed = false;
  /** Bytes of whole lines at open: a torn tail after them is cut off before the first append. */
  private readonly wholeBytes: number;
  /** The figures of the lines written before this process opened the ledger. */
  private readonly before: UsageAccounting;
  /** True when the file held no event at open (a new run, or one made before ledgers). */
  private fresh: boolean;

  /** Replays what earlier processes wrote to `path`; the file is created at the first append. */
  constructor(readonly path: string) {
    this.before = new UsageAccounting({});
    let text = '';
    if (existsSync(path)) {
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        throw writeFailure(path, error);
      }
    }
    const end = text.lastIndexOf('\n') + 1;
    let events = 0;
    for (const line of text.slice(0, end).split('\n')) {
      if (line === '') continue;
      let event: UsageEvent;
      try {
        event = JSON.parse(line) as UsageEvent;
      } catch {
        continue; // a line torn by a full disk and cut back is never complete JSON; skip it
      }
      this.before.apply(event);
      events++;
    }
    this.fresh = events === 0;
    this.wholeBytes = end < text.length ? Buffer.byteLength(text.slice(0, end), 'utf8') : -1;
  }

  /** Appends one event. Throws DiskFullError / WriteError naming the file. */
  append(event: UsageEvent): void {
    if (this.closed) return;
    writeAll(this.open(), Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'), this.path);
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
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

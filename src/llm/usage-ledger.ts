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
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { truncateTo, writeAll, writeFailure } from '../io/durable.js';
import { emptyFigures, UsageAccounting, type UsageEvent, type UsageReport } from './usage.js';

/** File name of the ledger in a run directory. */
export const USAGE_LEDGER_FILE = 'usage.jsonl';

export class UsageLedger {
  private fd: number | undefined;
  /** The figures of the lines written before this process opened the ledger. */
  private readonly before: UsageAccounting;
  /** True when the file held no event at open (a new run, or one made before ledgers). */
  private fresh: boolean;

  /** Opens (creating) `path` and replays what earlier processes wrote. */
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
    try {
      this.fd = openSync(path, 'a');
    } catch (error) {
      throw writeFailure(path, error);
    }
    // A line cut short (a full disk) is cut off, so that the next one starts on its own line.
    if (end < Buffer.byteLength(text, 'utf8')) truncateTo(this.fd, Buffer.byteLength(text.slice(0, end), 'utf8'));
  }

  /** Appends one event. Throws DiskFullError / WriteError naming the file. */
  append(event: UsageEvent): void {
    if (this.fd === undefined) return;
    writeAll(this.fd, Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'), this.path);
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
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

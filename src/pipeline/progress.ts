/**
 * Progress display. On a TTY: a block redrawn in place — a bar with percent and ETA, requests
 * and tokens per minute against the configured limits, requests in flight, retries, 429s and
 * failures, passed and rejected, cost so far and projected. Elsewhere (CI, `nohup`, a pipe):
 * the same figures as one plain log line every `intervalMs`. `quiet` prints nothing. Writes to
 * stderr so stdout stays for results.
 *
 * The ETA comes from the rate measured since the first document finished (over the last
 * minute once there is one): the pipeline takes a while to fill, and counting that time as if
 * documents were slow made early ETAs several times too long. Documents skipped on resume are
 * not part of the rate.
 */

/** Live figures of the gateway (this session only). */
export interface ProgressSnapshot {
  tokens: number;
  /** Dollars of priced calls. */
  costUsd: number;
  calls: number;
  cachedCalls: number;
  /** Paid calls of models without a price: their cost is unknown. @default 0 */
  unpricedCalls?: number | undefined;
  /** Requests that failed after all retries. @default 0 */
  failedCalls?: number | undefined;
  /** Extra attempts after failures. @default 0 */
  retries?: number | undefined;
  /** 429 answers. @default 0 */
  rateLimited?: number | undefined;
  /** Requests on the wire now. */
  inFlight?: number | undefined;
  /** Requests waiting for a slot. */
  queued?: number | undefined;
  /** Current adaptive concurrency limit. */
  limit?: number | undefined;
  /**
   * Of `calls` and `tokens`: offline batches' answers counted at their first use, which made no
   * request (left out of the rates). @default 0
   */
  offlineCalls?: number | undefined;
  offlineTokens?: number | undefined;
}

/** Configured limits, shown next to the measured rates. */
export interface ProgressLimits {
  rpm?: number | undefined;
  tpm?: number | undefined;
  concurrency?: number | undefined;
}

export interface ProgressOptions {
  /** Total documents when known (a cheap pre-count), for percent and ETA. */
  total: number | undefined;
  quiet: boolean;
  /** Stream to draw on. @default process.stderr */
  stream?: NodeJS.WriteStream | undefined;
  /** Plain-log period in milliseconds. Minimum 1000. @default 10000 */
  intervalMs?: number | undefined;
  /** Live figures from the gateway. */
  snapshot: () => ProgressSnapshot;
  /** What the engine's items are, in the first line. @default 'documents' */
  unit?: string | undefined;
  limits?: ProgressLimits | undefined;
  /** Name of the last step: its outputs are the trajectories that passed. */
  finalStep?: string | undefined;
  /** Clock in milliseconds (tests). @default Date.now */
  now?: (() => number) | undefined;
  /** Width of the bar in characters. @default 24 */
  barWidth?: number | undefined;
}

/** Tick label of documents skipped on resume (already done by an earlier run). */
export const RESUMED_TICK = 'resumed';
/** Tick label of items being worked on: +1 when one starts, -1 when it ends (a count, not a total). */
export const IN_FLIGHT_TICK = 'in-flight';
/** Rates are measured over this window, in milliseconds. */
const WINDOW_MS = 60_000;

interface Sample {
  at: number;
  docs: number;
  calls: number;
  tokens: number;
}

export class Progress {
  private readonly counts = new Map<string, number>();
  private readonly now: () => number;
  private readonly started: number;
  private timer: NodeJS.Timeout | undefined;
  /** Characters of each line of the live block as drawn (TTY): the rows to clear follow from them. */
  private drawn: number[] = [];
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  /** When the first document of this session finished, and the samples since, for rates. */
  private firstDoneAt: number | undefined;
  private samples: Sample[] = [];

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  /** Adds `n` to a label's count (`documents`, `resumed`, `rejected`, a step's name). */
  tick(stage: string, n = 1): void {
    this.counts.set(stage, (this.counts.get(stage) ?? 0) + n);
    if (stage === 'documents' && this.firstDoneAt === undefined && this.fresh() > 0) {
      this.firstDoneAt = this.now();
      this.samples = [{ at: this.firstDoneAt, docs: this.fresh(), ...this.usage() }];
    }
  }

  start(): void {
    if (this.options.quiet) return;
    const period = this.tty ? 250 : Math.max(1000, this.options.intervalMs ?? 10_000);
    this.timer = setInterval(() => this.draw(), period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.options.quiet) this.draw();
  }

  /** Prints a message above the live block without tearing it. */
  log(message: string): void {
    if (this.options.quiet) return;
    this.clear();
    this.stream.write(`${message}\n`);
  }

  private clear(): void {
    if (!this.tty || this.drawn.length === 0) return;
    // Rows, not lines: a line wider than the terminal (narrowed since it was drawn) took several.
    const width = this.width();
    const rows = this.drawn.reduce((n, chars) => n + (width === undefined ? 1 : Math.max(1, Math.ceil(chars / width))), 0);
    this.stream.write(`\x1b[${rows}A\x1b[0J`);
    this.drawn = [];
  }

  /** The terminal's columns, when it says. */
  private width(): number | undefined {
    const columns = this.stream.columns;
    return typeof columns === 'number' && columns > 0 ? columns : undefined;
  }

  /** Documents finished in this session (not skipped on resume). */
  private fresh(): number {
    return (this.counts.get('documents') ?? 0) - (this.counts.get(RESUMED_TICK) ?? 0);
  }

  /** Requests and tokens that went to the endpoint: an offline batch's answer made no request. */
  private usage(): { calls: number; tokens: number } {
    const snap = this.options.snapshot();
    return { calls: snap.calls - (snap.offlineCalls ?? 0), tokens: snap.tokens - (snap.offlineTokens ?? 0) };
  }

  /** Documents, calls and tokens per second over the last minute (since the first finished document). */
  rates(): { docs: number; calls: number; tokens: number } | undefined {
    const at = this.now();
    const current: Sample = { at, docs: this.fresh(), ...this.usage() };
    if (this.firstDoneAt === undefined) {
      // No document done yet: calls and tokens since the start still say something.
      const s = (at - this.started) / 1000;
      return s > 0 ? { docs: 0, calls: current.calls / s, tokens: current.tokens / s } : undefined;
    }
    const last = this.samples.at(-1);
    if (last === undefined || at - last.at >= 1000) this.samples.push(current);
    while (this.samples.length > 2 && at - (this.samples[1] as Sample).at >= WINDOW_MS) this.samples.shift();
    const base = this.samples[0] as Sample;
    const s = (at - base.at) / 1000;
    if (s <= 0) return undefined;
    return { docs: (current.docs - base.docs) / s, calls: (current.calls - base.calls) / s, tokens: (current.tokens - base.tokens) / s };
  }

  /** Seconds left for the documents not done, from the measured rate; `undefined` when unknown. */
  etaSeconds(): number | undefined {
    const total = this.options.total;
    const done = this.counts.get('documents') ?? 0;
    const rate = this.rates()?.docs;
    if (total === undefined || rate === undefined || rate <= 0) return undefined;
    return Math.max(0, total - done) / rate;
  }

  /** The figures as lines (one block on a TTY, joined into one line elsewhere). */
  lines(): string[] {
    const elapsed = (this.now() - this.started) / 1000;
    const done = this.counts.get('documents') ?? 0;
    const total = this.options.total;
    const snap = this.options.snapshot();
    const rates = this.rates();
    const eta = this.etaSeconds();
    const limits = this.options.limits ?? {};
    const head =
      total !== undefined && total > 0
        ? `${bar(done / total, this.options.barWidth ?? 24)} ${pct(done / total)}  ${done}/${total} ${this.options.unit ?? 'documents'}`
        : `${done} ${this.options.unit ?? 'documents'}`;
    const out = [`${head}  ETA ${done >= (total ?? Infinity) ? '0s' : eta === undefined ? '-' : formatSeconds(eta)}  elapsed ${formatSeconds(elapsed)}`];

    const perMin = (x: number | undefined): number => (x ?? 0) * 60;
    const limit = (n: number | undefined): string => (n === undefined ? '' : ` (limit ${compact(n)})`);
    const inFlight = snap.inFlight === undefined ? '' : `  in flight ${snap.inFlight}${snap.limit !== undefined ? `/${snap.limit}` : ''}${snap.queued ? ` (${snap.queued} queued)` : ''}`;
    out.push(`requests ${compact(perMin(rates?.calls))}/min${limit(limits.rpm)}  tokens ${compact(perMin(rates?.tokens))}/min${limit(limits.tpm)}${inFlight}`);
    out.push(
      `calls ${snap.calls} paid + ${snap.cachedCalls} cached  retries ${snap.retries ?? 0}  429s ${snap.rateLimited ?? 0}  failed ${snap.failedCalls ?? 0}`,
    );

    const final = this.options.finalStep;
    const steps = [...this.counts.entries()].filter(([k]) => k !== 'documents' && k !== 'rejected' && k !== RESUMED_TICK && k !== IN_FLIGHT_TICK && k !== final);
    const outcome = `passed ${final === undefined ? '-' : (this.counts.get(final) ?? 0)}  rejected ${this.counts.get('rejected') ?? 0}`;
    out.push(steps.length > 0 ? `${outcome}  |  ${steps.map(([k, v]) => `${k} ${v}`).join('  ')}` : outcome);
    out.push(this.costLine(snap, done, total));
    return out;
  }

  /**
   * Cost so far, and projected to the whole input. The cost so far includes the calls of the
   * items still in flight, so it is bracketed: charged to the finished items alone it runs high
   * (a full pipeline, a batch wave), spread as if the items in flight were finished it runs low.
   * The two meet as the run goes on; a range is shown while they differ by more than 5 %.
   */
  private costLine(snap: ProgressSnapshot, done: number, total: number | undefined): string {
    const unpriced = snap.unpricedCalls ?? 0;
    if (snap.calls > 0 && unpriced >= snap.calls) return 'cost unpriced (no price known for the model: set `prices` in the config)';
    const note = unpriced > 0 ? ` + ${unpriced} unpriced calls` : '';
    const fresh = this.fresh();
    const inFlight = Math.max(0, this.counts.get(IN_FLIGHT_TICK) ?? 0);
    let projected = '';
    if (total !== undefined && done < total && snap.costUsd > 0 && fresh + inFlight > 0) {
      const low = snap.costUsd + (snap.costUsd / (fresh + inFlight)) * Math.max(0, total - done - inFlight);
      const high = fresh > 0 ? snap.costUsd + (snap.costUsd / fresh) * (total - done) : undefined;
      if (high === undefined) projected = `, ≥ ~$${low.toFixed(2)} projected`;
      else if (high > low * 1.05) projected = `, ~$${low.toFixed(2)}–$${high.toFixed(2)} projected`;
      else projected = `, ~$${high.toFixed(2)} projected`;
    }
    return `cost $${snap.costUsd.toFixed(4)}${note} so far${projected}`;
  }

  private draw(): void {
    const lines = this.lines();
    if (this.tty) {
      this.clear();
      // Cut to the terminal's width: a wrapped line would take rows the next clear does not know of.
      const width = this.width();
      const fitted = lines.map((line) => fit(line, width === undefined ? undefined : width - 1));
      this.stream.write(`${fitted.join('\n')}\n`);
      this.drawn = fitted.map((line) => [...line].length);
    } else {
      this.stream.write(`[gemtraj] ${lines.join(' | ')}\n`);
    }
  }
}

/** `line` cut to `width` characters (code points), the last one an ellipsis when cut. */
function fit(line: string, width: number | undefined): string {
  if (width === undefined) return line;
  const chars = [...line];
  if (chars.length <= width) return line;
  return width <= 0 ? '' : `${chars.slice(0, width - 1).join('')}…`;
}

/** `[██████░░░░]` for a fraction in [0, 1]. */
export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

function pct(fraction: number): string {
  return `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

/** 1234 → `1.2k`, 2500000 → `2.5M`. */
export function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const sec = Math.round(s);
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const r = sec % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

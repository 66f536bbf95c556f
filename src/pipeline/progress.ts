/**
 * Progress display. On a TTY: a block of lines redrawn in place, one per stage (done / total,
 * rate, ETA) plus tokens and cost. Elsewhere (CI, `nohup`, a pipe): one plain log line every
 * `intervalMs`. `quiet` prints nothing. Writes to stderr so stdout stays for results.
 */
export interface ProgressSnapshot {
  tokens: number;
  costUsd: number;
  calls: number;
  cachedCalls: number;
}

export interface ProgressOptions {
  /** Total documents when known (a cheap pre-count), for ETA. */
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
}

export class Progress {
  private readonly counts = new Map<string, number>();
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private drawnLines = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
  }

  /** Adds `n` to a stage's done count (`documents`, `segments`, `extract`, ...). */
  tick(stage: string, n = 1): void {
    this.counts.set(stage, (this.counts.get(stage) ?? 0) + n);
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
    if (!this.tty || this.drawnLines === 0) return;
    this.stream.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  /** The figures as lines; exported shape for tests. */
  lines(): string[] {
    const elapsed = (Date.now() - this.started) / 1000;
    const docs = this.counts.get('documents') ?? 0;
    const rate = elapsed > 0 ? docs / elapsed : 0;
    const total = this.options.total;
    const eta = total !== undefined && rate > 0 && docs < total ? formatSeconds((total - docs) / rate) : '-';
    const snap = this.options.snapshot();
    const out = [
      `${this.options.unit ?? 'documents'} ${docs}${total !== undefined ? `/${total}` : ''}  ${rate.toFixed(2)}/s  ETA ${eta}  elapsed ${formatSeconds(elapsed)}`,
    ];
    const stages = [...this.counts.entries()].filter(([k]) => k !== 'documents');
    if (stages.length > 0) out.push(stages.map(([k, v]) => `${k} ${v}`).join('  '));
    out.push(`calls ${snap.calls} (cached ${snap.cachedCalls})  tokens ${snap.tokens}  cost $${snap.costUsd.toFixed(4)}`);
    return out;
  }

  private draw(): void {
    const lines = this.lines();
    if (this.tty) {
      this.clear();
      this.stream.write(`${lines.join('\n')}\n`);
      this.drawnLines = lines.length;
    } else {
      this.stream.write(`[gemtraj] ${lines.join(' | ')}\n`);
    }
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const sec = Math.round(s);
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const r = sec % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

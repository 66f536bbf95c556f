/**
 * Flow control in front of the transport:
 * - {@link AdaptiveLimiter}: bounded concurrency whose limit follows AIMD (halved on 429,
 *   +1 after a run of successes), so a rate-limited endpoint is not hammered.
 * - {@link TokenBucket}: requests-per-minute and tokens-per-minute budgets.
 * - {@link CircuitBreaker}: stops the run when most recent requests failed after all retries.
 */
import { FatalEndpointError } from './errors.js';
import { abortReason } from './retry.js';

// ---------------------------------------------------------------------------------------------
// AIMD concurrency

export interface AdaptiveLimiterOptions {
  /** Upper bound and starting value of the limit. Minimum 1. */
  max: number;
  /** Successes needed for each +1 of the limit. Minimum 1. @default 8 */
  increaseEvery?: number | undefined;
}

/** A slot held by one attempt; call `release()` (more calls are ignored). */
export interface Permit {
  /** Limit generation at grant time: a 429 on a permit older than the last decrease does not shrink again. */
  readonly generation: number;
  release(): void;
}

interface Waiter {
  resolve: (permit: Permit) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class AdaptiveLimiter {
  private readonly max: number;
  private readonly increaseEvery: number;
  private currentLimit: number;
  private active = 0;
  private successes = 0;
  private generation = 0;
  private readonly waiters: Waiter[] = [];
  private waiterHead = 0;

  constructor(options: AdaptiveLimiterOptions) {
    if (!(options.max >= 1)) throw new RangeError('concurrency must be at least 1');
    this.max = Math.floor(options.max);
    this.increaseEvery = Math.max(1, Math.floor(options.increaseEvery ?? 8));
    this.currentLimit = this.max;
  }

  /** Current adaptive limit (1 … max). */
  get limit(): number {
    return this.currentLimit;
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiters.length - this.waiterHead;
  }

  /** Waits for a slot. Rejects with the signal's reason if it aborts while queued. */
  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.currentLimit && this.queued === 0) return Promise.resolve(this.grant());
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiters.indexOf(waiter, this.waiterHead);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(abortReason(signal as AbortSignal));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Multiplicative decrease (×0.5, minimum 1), once per generation of in-flight requests. */
  onRateLimited(permit: Permit): void {
    this.successes = 0;
    // Requests that were already in flight when we last shrank carry no new information.
    if (permit.generation < this.generation) return;
    this.currentLimit = Math.max(1, Math.floor(this.currentLimit / 2));
    this.generation++;
  }

  /** Additive increase: +1 after every `increaseEvery` successes, up to `max`. */
  onSuccess(): void {
    if (this.currentLimit >= this.max) return;
    this.successes++;
    if (this.successes >= this.increaseEvery) {
      this.successes = 0;
      this.currentLimit++;
      this.drain();
    }
  }

  private grant(): Permit {
    this.active++;
    let released = false;
    return {
      generation: this.generation,
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.active < this.currentLimit && this.waiterHead < this.waiters.length) {
      const waiter = this.waiters[this.waiterHead++] as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.grant());
    }
    // Compact the queue now and then instead of shifting on every grant (O(1) amortized).
    if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiters.length) {
      this.waiters.splice(0, this.waiterHead);
      this.waiterHead = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Token bucket

/**
 * A bucket of `perMinute` units refilled continuously, starting full. Takers are served in
 * order. A take larger than the whole bucket waits for a full bucket instead of forever, and
 * {@link adjust} may push the level below zero (debt) when the real cost exceeded the estimate.
 */
export class TokenBucket {
  private level: number;
  private updatedAt = Date.now();
  private readonly ratePerMs: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly perMinute: number) {
    if (!(perMinute >= 1)) throw new RangeError('a per-minute budget must be at least 1');
    this.level = perMinute;
    this.ratePerMs = perMinute / 60_000;
  }

  /** Units available now (negative when in debt). */
  get available(): number {
    this.refill();
    return this.level;
  }

  /** Waits until `amount` units are available, then takes them. */
  take(amount: number, signal?: AbortSignal): Promise<void> {
    const need = Math.min(Math.max(0, amount), this.perMinute);
    const turn = this.tail.then(() => this.waitFor(need, signal));
    // The queue moves on even when this taker aborts.
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** Adds (negative) or removes (positive) units after the fact: real usage minus the estimate. */
  adjust(delta: number): void {
    this.refill();
    this.level = Math.min(this.perMinute, this.level - delta);
  }

  private refill(): void {
    const now = Date.now();
    this.level = Math.min(this.perMinute, this.level + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
  }

  private async waitFor(need: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      this.refill();
      if (this.level >= need) {
        this.level -= need;
        return;
      }
      const waitMs = Math.ceil((need - this.level) / this.ratePerMs);
      await new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, waitMs)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Circuit breaker

export interface CircuitBreakerOptions {
  /** Open when more than this fraction of the window failed. In (0, 1]. */
  maxErrorRate: number;
  /** Number of recent requests considered. Minimum 1. */
  window: number;
}

/**
 * Counts request outcomes (after all retries) over a sliding window of fixed size. It opens
 * when failures exceed `maxErrorRate × window`, so a dead endpoint stops the run after about
 * half a window of failures instead of one rejected record per input.
 */
export class CircuitBreaker {
  private readonly outcomes: Uint8Array;
  private next = 0;
  private failures = 0;
  private openReason: string | undefined;

  constructor(private readonly options: CircuitBreakerOptions) {
    if (!(options.window >= 1)) throw new RangeError('errorWindow must be at least 1');
    this.outcomes = new Uint8Array(Math.floor(options.window));
  }

  get isOpen(): boolean {
    return this.openReason !== undefined;
  }

  get recentFailures(): number {
    return this.failures;
  }

  record(failed: boolean, lastError?: string): void {
    const slot = this.next % this.outcomes.length;
    this.failures -= this.outcomes[slot] as number;
    this.outcomes[slot] = failed ? 1 : 0;
    this.failures += failed ? 1 : 0;
    this.next++;
    if (this.openReason === undefined && this.failures > this.options.maxErrorRate * this.outcomes.length) {
      const seen = Math.min(this.next, this.outcomes.length);
      this.openReason =
        `Stopping: ${this.failures} of the last ${seen} requests failed after all retries ` +
        `(more than ${Math.round(this.options.maxErrorRate * 100)}% of a ${this.outcomes.length}-request window): ` +
        'the endpoint looks unusable.' +
        (lastError === undefined ? '' : ` Last error: ${lastError}`);
    }
  }

  /** Throws {@link FatalEndpointError} (`circuit_open`) once the breaker has opened. */
  check(): void {
    if (this.openReason !== undefined) throw new FatalEndpointError(this.openReason, undefined, 'circuit_open');
  }
}

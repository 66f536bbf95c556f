/**
 * The gateway's admission for one attempt: a slot of the adaptive concurrency limit, then the
 * RPM and TPM budgets. Outcomes feed back: a 429 halves the limit and refunds the token
 * estimate, a success grows the limit and settles the estimate against real usage.
 */
import { AdaptiveLimiter, TokenBucket, type Permit } from './limiter.js';

export interface FlowControlOptions {
  /** Upper bound on attempts in flight. Minimum 1. */
  concurrency: number;
  /** Requests per minute; `undefined` = no limit. Minimum 1. */
  rpm: number | undefined;
  /** Tokens (prompt + completion) per minute; `undefined` = no limit. Minimum 1. */
  tpm: number | undefined;
  /** Successes needed for each +1 of the adaptive limit. Minimum 1. @default 8 */
  increaseEvery?: number | undefined;
}

export class FlowControl {
  private readonly limiter: AdaptiveLimiter;
  private readonly rpm: TokenBucket | undefined;
  private readonly tpm: TokenBucket | undefined;

  constructor(options: FlowControlOptions) {
    this.limiter = new AdaptiveLimiter({ max: options.concurrency, increaseEvery: options.increaseEvery });
    this.rpm = options.rpm === undefined ? undefined : new TokenBucket(options.rpm);
    this.tpm = options.tpm === undefined ? undefined : new TokenBucket(options.tpm);
  }

  /**
   * Runs `fn` holding a slot, once the budgets granted `promptTokens` (an estimate). The slot
   * is taken first so that a request leaves right after its budget is granted; it is released
   * when `fn` settles. Rejects with the signal's reason when aborted while waiting.
   */
  async run<T>(promptTokens: number, signal: AbortSignal | undefined, fn: (permit: Permit) => Promise<T>): Promise<T> {
    const permit = await this.limiter.acquire(signal);
    try {
      if (this.rpm !== undefined) await this.rpm.take(1, signal);
      if (this.tpm !== undefined) await this.tpm.take(promptTokens, signal);
      return await fn(permit);
    } finally {
      permit.release();
    }
  }

  /** A 429 on the attempt that held `permit`: shrink the limit; the refused request used no tokens. */
  onRateLimited(permit: Permit, promptEstimate: number): void {
    this.limiter.onRateLimited(permit);
    this.tpm?.adjust(-promptEstimate);
  }

  /** A success: grow the limit, and charge the real token count instead of the estimate. */
  onSuccess(tokensUsed: number, promptEstimate: number): void {
    this.limiter.onSuccess();
    this.tpm?.adjust(tokensUsed - promptEstimate);
  }

  get inFlight(): number {
    return this.limiter.inFlight;
  }

  get queued(): number {
    return this.limiter.queued;
  }

  get limit(): number {
    return this.limiter.limit;
  }
}

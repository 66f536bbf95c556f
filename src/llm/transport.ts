/**
 * HTTP to OpenAI-compatible endpoints through the official SDK, one client per base URL.
 * With several replicas each attempt goes to the one with the fewest requests in flight, and
 * a replica that just failed (connection error, 5xx, timeout) is skipped for a cooldown.
 * Retries are not done here: the SDK's own are off (`maxRetries: 0`) and the gateway retries.
 */
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { abortReason, MalformedResponseError, RequestTimeoutError } from './retry.js';

/** Sent when no key is configured: local servers ignore it, and the SDK insists on one. */
const PLACEHOLDER_KEY = 'none';

export interface TransportOptions {
  /** Base URLs of the replicas. At least one. */
  baseUrls: string[];
  /** API key, or `undefined` to send a placeholder. Never logged. */
  apiKey: string | undefined;
  /** Per-attempt timeout in milliseconds, covering the whole exchange including the body. */
  timeoutMs: number;
  /** How long a failed replica is skipped, in milliseconds. Minimum 0. @default 10000 */
  cooldownMs?: number | undefined;
}

/** Public view of one replica, for stats. */
export interface ReplicaStats {
  baseUrl: string;
  inFlight: number;
  /** Attempts sent to this replica. */
  sent: number;
  failures: number;
  /** True while the replica is skipped after a failure. */
  coolingDown: boolean;
}

interface Replica {
  baseUrl: string;
  client: OpenAI;
  inFlight: number;
  sent: number;
  failures: number;
  cooldownUntil: number;
}

export interface SendResult {
  completion: ChatCompletion;
  baseUrl: string;
}

/** Error thrown by {@link Transport.send}, carrying the replica it came from. */
export class TransportError extends Error {
  constructor(
    /** The SDK error, {@link RequestTimeoutError} or {@link MalformedResponseError}. */
    override readonly cause: unknown,
    readonly baseUrl: string,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'TransportError';
  }
}

export class Transport {
  private readonly replicas: Replica[];
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;

  constructor(options: TransportOptions) {
    if (options.baseUrls.length === 0) throw new RangeError('at least one base URL is required');
    this.timeoutMs = options.timeoutMs;
    this.cooldownMs = options.cooldownMs ?? 10_000;
    this.replicas = options.baseUrls.map((baseUrl) => ({
      baseUrl,
      client: new OpenAI({
        baseURL: baseUrl,
        apiKey: options.apiKey ?? PLACEHOLDER_KEY,
        timeout: options.timeoutMs,
        maxRetries: 0,
        // Keep environment-provided org/project headers away from arbitrary local servers.
        organization: null,
        project: null,
      }),
      inFlight: 0,
      sent: 0,
      failures: 0,
      cooldownUntil: 0,
    }));
  }

  /** Base URL the next attempt would go to (for error context before sending). */
  peek(): string {
    return this.pick().baseUrl;
  }

  /** Least in-flight among healthy replicas; when all are cooling down, the one that recovers first. */
  private pick(): Replica {
    const now = Date.now();
    let best: Replica | undefined;
    for (const replica of this.replicas) {
      if (replica.cooldownUntil > now) continue;
      if (best === undefined || replica.inFlight < best.inFlight) best = replica;
    }
    if (best !== undefined) return best;
    let soonest = this.replicas[0] as Replica;
    for (const replica of this.replicas) if (replica.cooldownUntil < soonest.cooldownUntil) soonest = replica;
    return soonest;
  }

  /**
   * One attempt. Throws {@link TransportError} wrapping the SDK error, a {@link RequestTimeoutError}
   * or a {@link MalformedResponseError}; rethrows the caller's abort reason unwrapped.
   */
  async send(body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal | undefined): Promise<SendResult> {
    const replica = this.pick();
    replica.inFlight++;
    replica.sent++;
    // Our own timer covers the body too: the SDK's timeout stops at the response headers.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const completion = await replica.client.chat.completions.create(body, {
        signal: controller.signal,
        timeout: this.timeoutMs,
        maxRetries: 0,
      });
      checkCompletion(completion);
      return { completion, baseUrl: replica.baseUrl };
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      throw new TransportError(timedOut ? new RequestTimeoutError(this.timeoutMs) : error, replica.baseUrl);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      replica.inFlight--;
    }
  }

  /** Skips the replica for the cooldown (only matters when there are others). */
  markFailed(baseUrl: string): void {
    const replica = this.replicas.find((r) => r.baseUrl === baseUrl);
    if (replica === undefined) return;
    replica.failures++;
    replica.cooldownUntil = Date.now() + this.cooldownMs;
  }

  stats(): ReplicaStats[] {
    const now = Date.now();
    return this.replicas.map((r) => ({
      baseUrl: r.baseUrl,
      inFlight: r.inFlight,
      sent: r.sent,
      failures: r.failures,
      coolingDown: r.cooldownUntil > now,
    }));
  }
}

/** A 200 that is not a chat completion (an HTML error page, `{}`, a proxy's text) is retried. */
function checkCompletion(value: unknown): asserts value is ChatCompletion {
  if (typeof value !== 'object' || value === null) {
    throw new MalformedResponseError(`expected a JSON object, got ${typeof value === 'string' ? 'text' : String(value)}`);
  }
  const choices = (value as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0 || typeof choices[0] !== 'object' || choices[0] === null) {
    throw new MalformedResponseError('no choices in the answer');
  }
}

/** Progress events of the gateway, and the listener set that delivers them. */
import type { StageName } from '../records.js';

/** A progress event. Listeners run synchronously; keep them cheap. */
export type GatewayEvent =
  | {
      type: 'call';
      stage: StageName;
      model: string;
      /** Served from the cache: no tokens were paid for. */
      cached: boolean;
      prompt_tokens: number;
      completion_tokens: number;
      /** Dollars paid for this call (0 when cached). */
      cost_usd: number;
      /** Wall time including queueing and retries, in milliseconds. */
      duration_ms: number;
      /**
       * Backend attempts made: 0 when cached, and for an offline batch's answer (`batch import`)
       * at its first use, which is paid (not `cached`) but made no request.
       */
      attempts: number;
    }
  | {
      type: 'retry';
      stage: StageName;
      model: string;
      /** 1-based number of the attempt that failed. */
      attempt: number;
      reason: string;
      status: number | undefined;
      /** Wait before the next attempt, in milliseconds. */
      delay_ms: number;
    }
  | { type: 'failed'; stage: StageName; model: string; error: string; fatal: boolean }
  /** Something the user should know once (a refused parameter adapted for a model). */
  | { type: 'notice'; message: string };

export type GatewayListener = (event: GatewayEvent) => void;

export class GatewayEvents {
  private readonly listeners = new Set<GatewayListener>();

  /** Subscribes; returns the unsubscribe function. */
  on(listener: GatewayListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: GatewayEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken progress display must not fail calls.
      }
    }
  }
}

/**
 * The seam between the gateway and whatever answers chat requests. A {@link ModelBackend}
 * sends one request and returns the completion or throws a {@link BackendError} that says
 * what the failure means (retry, reject this request, stop). Everything around a call —
 * cache, single-flight, breaker, limits, retries, usage — is the gateway's, so a backend is
 * only transport: the OpenAI-compatible HTTP one (http-backend.ts), a Batch API one, a fake.
 * The protocol is gemtraj's own and uses OpenAI wire names, so it maps 1:1 onto HTTP.
 */
import type { Tool, ToolCall, Usage } from '../records.js';
import type { FatalEndpointError, RequestRejectedError } from './errors.js';
import type { ResponseFormat } from './structured.js';

/**
 * One chat message as sent on the wire: OpenAI members only (strict servers refuse unknown
 * members such as `reasoning_content`).
 */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | {
      role: 'assistant';
      /** `null` when the turn only calls tools. */
      content: string | null;
      /** Left out when the turn calls no tool (never an empty array). */
      tool_calls?: ToolCall[];
    }
  | {
      role: 'tool';
      /** `id` of the assistant's tool call this message answers. */
      tool_call_id: string;
      content: string;
    };

/**
 * One chat completion request. Optional members are left out (not `undefined`) when unset,
 * and then the endpoint's own default applies. Every member is part of the response cache key.
 */
export interface ChatRequest {
  /** Model name as the endpoint knows it, after per-stage overrides. @example 'gpt-4.1-mini' */
  model: string;
  /** The conversation so far, oldest first; at least one message. */
  messages: ChatMessage[];
  /** Functions the model may call (OpenAI tool format). Left out rather than empty. */
  tools?: Tool[];
  /** How the answer must be shaped (`json_schema` or `json_object`); absent for free text. */
  response_format?: ResponseFormat;
  /** Sampling temperature, ≥ 0. @default the endpoint's own */
  temperature?: number;
  /** Nucleus sampling mass, in (0, 1]. @default the endpoint's own */
  top_p?: number;
  /**
   * Upper bound on completion tokens (reasoning tokens included), ≥ 1. Sent as `max_tokens`,
   * or as `max_completion_tokens` where the endpoint wants that (OpenAI). @default the endpoint's own
   */
  max_tokens?: number;
  /** Sampling seed; endpoints treat it as best effort. */
  seed?: number;
  /**
   * How much a reasoning model thinks before answering (OpenAI `reasoning_effort`:
   * `minimal`, `low`, `medium`, `high`). @default the endpoint's own
   */
  reasoning_effort?: string;
}

/** What a backend got back for a {@link ChatRequest}. */
export interface ChatResponse {
  /** Assistant text; `''` when the model returned none (e.g. only tool calls). */
  text: string;
  /**
   * Why generation stopped: `stop`, `length` (cut off at `max_tokens` or the context),
   * `tool_calls`, `content_filter`; `unknown` when the endpoint does not say.
   */
  finishReason: string;
  /**
   * Tokens billed for this answer. `undefined` when the backend does not know: the gateway
   * then estimates (4 characters a token) for budgets and cost.
   */
  usage?: Usage | undefined;
  /**
   * Model that answered as the endpoint names it (may carry a version suffix). `undefined` or
   * `''` when unknown: the request's model is reported instead.
   */
  model?: string | undefined;
  /** Function calls of the answer, ids filled in; `undefined` when there are none. */
  toolCalls?: ToolCall[] | undefined;
}

/** Per-call options of {@link ModelBackend.send}. */
export interface SendOptions {
  /**
   * Aborts the call. The backend then rejects with the signal's reason as is (not a
   * {@link BackendError}), so the gateway neither retries nor counts it as a failure.
   */
  signal?: AbortSignal | undefined;
  /**
   * The request's response-cache key (sample index included), when the gateway caches. A
   * backend that names requests (the Batch API's custom_id) uses it; the HTTP backend ignores it.
   */
  key?: string | undefined;
}

/** A failed attempt that may work when tried again. */
export interface RetryableFailure {
  action: 'retry';
  /** Short description for events and the final error message; no secrets. */
  reason: string;
  /** HTTP status, when there was a response. */
  status: number | undefined;
  /** Server-requested wait before the next attempt (`Retry-After`), uncapped, in milliseconds. */
  retryAfterMs: number | undefined;
  /** Refused for the request rate (HTTP 429): the gateway halves its adaptive concurrency. */
  rateLimited: boolean;
  /**
   * The replica itself looks unhealthy (connection error, 5xx, timeout). The backend acts on it
   * (HTTP: skips the replica for a cooldown); the gateway only reports it.
   */
  replicaFault: boolean;
  /** The attempt ran out of time: counted in the gateway's `timeouts`. */
  timedOut: boolean;
}

/**
 * What a failed attempt means:
 * - `retry`: transient (429, 5xx, timeout, reset, garbled body); retried with backoff.
 * - `reject`: this request alone is refused (too long for the context, content policy); the
 *   record is rejected, no retry, and the endpoint is not blamed.
 * - `fatal`: the endpoint cannot serve any request (bad key, no quota, unknown model, a
 *   request shape it refuses); every later call fails at once with the same error.
 */
export type BackendFailure =
  | RetryableFailure
  | { action: 'reject'; error: RequestRejectedError }
  | { action: 'fatal'; error: FatalEndpointError };

/** Thrown by {@link ModelBackend.send} for a failed attempt, already classified. */
export class BackendError extends Error {
  constructor(
    readonly failure: BackendFailure,
    /** Where the attempt went (a replica's base URL, a batch id), for messages. */
    readonly where: string,
    options?: ErrorOptions,
  ) {
    super(failure.action === 'retry' ? failure.reason : failure.error.message, options);
    this.name = 'BackendError';
  }

  /** A retryable failure with the flags not given set to false/undefined. */
  static retry(where: string, reason: string, flags: Partial<Omit<RetryableFailure, 'action' | 'reason'>> = {}): BackendError {
    return new BackendError(
      {
        action: 'retry',
        reason,
        status: flags.status,
        retryAfterMs: flags.retryAfterMs,
        rateLimited: flags.rateLimited ?? false,
        replicaFault: flags.replicaFault ?? false,
        timedOut: flags.timedOut ?? false,
      },
      where,
    );
  }
}

/** Public view of one replica (or other unit of a backend), for progress lines. */
export interface ReplicaStats {
  /** The replica's base URL (or the backend's name for its unit). */
  baseUrl: string;
  /** Attempts on the wire to it now. */
  inFlight: number;
  /** Attempts sent to it. */
  sent: number;
  /** Attempts that failed with a replica fault. */
  failures: number;
  /** True while it is skipped after a failure. */
  coolingDown: boolean;
}

/**
 * Sends chat requests somewhere. Implementations do no retries, caching or rate limiting
 * (the gateway does) and may be called concurrently up to the gateway's `concurrency`.
 */
export interface ModelBackend {
  /**
   * One attempt at one request. Resolves with the answer; rejects with a {@link BackendError}
   * for a failure, or with the signal's reason when aborted. Anything else thrown reaches the
   * gateway's caller unchanged (a bug should surface, not be retried).
   */
  send(request: ChatRequest, options?: SendOptions): Promise<ChatResponse>;
  /** Per-replica figures for `Gateway.stats()`; `[]` when absent. */
  stats?(): ReplicaStats[];
  /** Releases resources; called once by `Gateway.close()`, which owns the backend. */
  close?(): Promise<void>;
}

/**
 * Which failures of the OpenAI-compatible HTTP backend are worth another attempt. Everything
 * that cannot get better by waiting (bad key, no quota, unknown model, a request the server
 * refuses) becomes a {@link FatalEndpointError} at once, so the run stops with one message.
 * Part of the HTTP backend: with http-backend.ts the only code that knows the `openai` SDK.
 */
import { APIConnectionError, APIError } from 'openai/core/error';
import type { BackendFailure, RetryableFailure } from './backend.js';
import { FatalEndpointError, redact, RequestRejectedError } from './errors.js';
import { parseRetryAfter } from './retry.js';

/** The request an error belongs to, for error text. */
export interface ErrorContext {
  model: string;
  baseUrl: string;
  /** Whether the request carried a `response_format` (for the 400 hint). */
  hasResponseFormat: boolean;
}

/** Thrown by the HTTP backend when our own per-request timer fired. */
export class RequestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`request timed out after ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** Thrown by the HTTP backend when a 200 answer is not a chat completion (no `choices`). */
export class MalformedResponseError extends Error {
  constructor(detail: string) {
    super(`malformed response: ${detail}`);
    this.name = 'MalformedResponseError';
  }
}

/** The server's own message from an OpenAI-shaped error, without the SDK's status prefix. */
function serverMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  // Trailing periods dropped: the message is embedded in our own sentences.
  if (body !== undefined && typeof body.message === 'string' && body.message.trim() !== '') {
    return body.message.trim().replace(/\.+$/, '');
  }
  const text = error.message.replace(/^\d{3}\s+/, '').trim().replace(/\.+$/, '');
  return text === '' || text === 'status code (no body)' ? '(no message)' : text;
}

function isInsufficientQuota(error: APIError): boolean {
  const body = error.error as { code?: unknown; type?: unknown } | undefined;
  return error.code === 'insufficient_quota' || body?.type === 'insufficient_quota' || body?.code === 'insufficient_quota';
}

// OpenAI and vLLM say "maximum context length", llama.cpp "exceeds the available context size",
// SGLang "longer than the model's context length", Anthropic-style proxies "prompt is too long".
const CONTEXT_LENGTH =
  /context[ _-]?(length|window|size)|maximum context|too many tokens|prompt is too long|input is too long|reduce the length|exceeds? the (model's )?(maximum|available) context/i;
const CONTEXT_CODES = new Set(['context_length_exceeded', 'exceed_context_size_error', 'string_above_max_length']);

/** A 400/413 that says the prompt plus completion exceed the model's context. */
export function isContextLength(error: APIError, message: string): boolean {
  const body = error.error as { code?: unknown; type?: unknown } | undefined;
  const codes = [error.code, body?.code, body?.type].filter((c): c is string => typeof c === 'string');
  return codes.some((c) => CONTEXT_CODES.has(c)) || CONTEXT_LENGTH.test(message);
}

/**
 * Completion tokens that would still fit the model's context, read from a context-length
 * error; `undefined` when the error does not say. When the prompt fits and only the requested
 * cap does not, the request can be retried with a smaller cap instead of losing the record.
 */
export function completionRoom(error: APIError, message: string): number | undefined {
  const body = error.error as { n_ctx?: unknown; n_prompt_tokens?: unknown } | undefined;
  // llama.cpp: {"n_prompt_tokens": 4476, "n_ctx": 4096}.
  if (typeof body?.n_ctx === 'number' && typeof body.n_prompt_tokens === 'number') return body.n_ctx - body.n_prompt_tokens;
  const patterns: RegExp[] = [
    // OpenAI, older vLLM: "maximum context length is 32768 tokens. However, you requested 40000 tokens (8000 in the messages, 32000 in the completion)"
    /maximum context length is (\d+) tokens?\.? however, you requested \d+ tokens? \((\d+) in the messages/i,
    // newer vLLM: "maximum context length is 32768 tokens and your request has 8000 input tokens"
    /maximum context length is (\d+) tokens? and your request has (\d+) input tokens?/i,
    // SGLang: "maximum context length of 32768 tokens. You requested a total of 40000 tokens: 8000 tokens from the input messages"
    /maximum context length of (\d+) tokens?[\s\S]*?(\d+) tokens? from the input/i,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(message);
    if (match !== null) return Number(match[1]) - Number(match[2]);
  }
  return undefined;
}

const CONTENT_POLICY_CODES = new Set(['invalid_prompt', 'content_filter', 'content_policy_violation', 'content_management_policy']);

/** A 400 that flags this one prompt (OpenAI `invalid_prompt`, Azure `content_filter`). */
function isContentPolicy(error: APIError, message: string): boolean {
  const body = error.error as { code?: unknown } | undefined;
  const code = typeof error.code === 'string' ? error.code : typeof body?.code === 'string' ? body.code : '';
  return CONTENT_POLICY_CODES.has(code) || /content (management )?policy|content[ _]filter|flagged as potentially/i.test(message);
}

const STRUCTURED_HINT =
  /response_format|json_schema|json_object|structured|guided|grammar|schema/i;

/** Decides retry or fatal for one failed attempt. Abort errors are not passed here. */
export function classifyError(error: unknown, context: ErrorContext): BackendFailure {
  const where = `${context.baseUrl} (model "${context.model}")`;
  if (error instanceof APIError && !(error instanceof APIConnectionError) && error.status !== undefined) {
    const status = error.status;
    const message = redact(serverMessage(error));
    if (status === 401) {
      return fatal(
        `Authentication failed at ${where}: HTTP 401: ${message}. ` +
          'Check the API key in OPENAI_API_KEY (or the variable named by --api-key-env).',
        status,
        'auth',
      );
    }
    if (status === 403) {
      return fatal(
        `Access forbidden at ${where}: HTTP 403: ${message}. The key may lack access to this model or region.`,
        status,
        'forbidden',
      );
    }
    if (status === 404) {
      return fatal(
        `Model "${context.model}" is unknown at ${context.baseUrl} (HTTP 404: ${message}). ` +
          `Check --model and --base-url; GET ${context.baseUrl}/models lists the models it serves.`,
        status,
        'not_found',
      );
    }
    if (status === 429 && isInsufficientQuota(error)) {
      return fatal(
        `No quota left at ${where}: HTTP 429 insufficient_quota: ${message}. Add credit or use another key; retrying will not help.`,
        status,
        'quota',
      );
    }
    if (status === 429 || status === 408 || status === 409 || status >= 500) {
      return {
        action: 'retry',
        reason: `HTTP ${status}: ${truncate(message, 300)}`,
        status,
        retryAfterMs: parseRetryAfter(error.headers),
        rateLimited: status === 429,
        replicaFault: status >= 500,
        timedOut: false,
      };
    }
    if ((status === 400 || status === 413) && isContextLength(error, message)) {
      return {
        action: 'reject',
        error: new RequestRejectedError(`the request is too long for model "${context.model}": HTTP ${status}: ${truncate(message, 300)}`, status, 'llm_context_length'),
      };
    }
    if (status === 400 && isContentPolicy(error, message)) {
      return {
        action: 'reject',
        error: new RequestRejectedError(`the endpoint refused this text under its content policy: HTTP ${status}: ${truncate(message, 300)}`, status, 'llm_content_policy'),
      };
    }
    // Any other 4xx: the request itself is refused, and every record would be refused alike.
    const hint =
      context.hasResponseFormat && STRUCTURED_HINT.test(message)
        ? ' The endpoint may not support this response_format: try --structured-output json_object, or --structured-output prompt.'
        : '';
    return fatal(`The endpoint ${where} rejected the request: HTTP ${status}: ${message}.${hint}`, status, 'bad_request');
  }
  if (error instanceof RequestTimeoutError || (error instanceof Error && error.name === 'APIConnectionTimeoutError')) {
    return { ...retry(`timeout: ${error.message}`, true), timedOut: true };
  }
  if (error instanceof APIConnectionError) {
    // The SDK's own message is a generic "Connection error."; the cause says what happened.
    return retry(`connection error: ${error.cause instanceof Error ? causeText(error.cause) : error.message}`, true);
  }
  if (error instanceof SyntaxError) {
    // `response.json()` failed: a truncated or garbled body. Another attempt usually works.
    return retry(`unparseable response body: ${error.message}`, true);
  }
  if (error instanceof MalformedResponseError) return retry(error.message, true);
  if (error instanceof TypeError) {
    // undici reports a connection dropped mid-body as `TypeError: terminated`.
    return retry(`connection error: ${causeText(error)}`, true);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_\w+|EAI_AGAIN)$/.test(code)) {
    return retry(`connection error: ${code}`, true);
  }
  // Unknown failures are retried: a programming error would fail all attempts and surface anyway.
  return retry(`unexpected error: ${error instanceof Error ? error.message : String(error)}`, false);
}

function fatal(message: string, status: number, kind: FatalEndpointError['kind']): BackendFailure {
  return { action: 'fatal', error: new FatalEndpointError(message, status, kind) };
}

function retry(reason: string, replicaFault: boolean): RetryableFailure {
  return {
    action: 'retry',
    reason: redact(reason),
    status: undefined,
    retryAfterMs: undefined,
    rateLimited: false,
    replicaFault,
    timedOut: false,
  };
}

function causeText(error: Error): string {
  const parts = [error.message];
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    const code = (cause as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${cause.message} (${code})` : cause.message);
    cause = cause.cause;
  }
  return parts.join(': ');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}


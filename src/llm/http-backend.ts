/**
 * The OpenAI-compatible HTTP backend: `POST {baseUrl}/chat/completions` over keep-alive
 * sockets (http-post.ts). Failed answers become the `openai` SDK's own error classes
 * (`APIError.generate`, as the SDK's client makes them), so http-errors.ts classifies them.
 * With several replicas each attempt goes to the one with the fewest requests in flight, and
 * a replica that just failed (connection error, 5xx, timeout) is skipped for a cooldown.
 * Retries are not done here: the gateway retries.
 * A 400 that refuses an optional parameter (param-adapt.ts) or a completion cap too large for
 * the context is answered by adapting the request and sending it again at once.
 * With http-errors.ts and batch-api.ts, the only code that imports the `openai` SDK (here only its
 * error classes, `openai/core/error`: the whole SDK is loaded for the Batches API alone).
 */
import { APIConnectionError, APIError } from 'openai/core/error';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { IncomingHttpHeaders } from 'node:http';
import type { ToolCall } from '../records.js';
import { BackendError, type ChatRequest, type ChatResponse, type ModelBackend, type ReplicaStats, type SendOptions } from './backend.js';
import { encodedStringsOf, encodePlain } from './canonical-json.js';
import { toOpenAiErrorBody } from './error-shapes.js';
import { classifyError, completionRoom, isContextLength, MalformedResponseError, RequestTimeoutError } from './http-errors.js';
import { HttpPoster } from './http-post.js';
import { ParamAdapter, refusedParameter, type WireParams } from './param-adapt.js';
import { abortReason } from './retry.js';
import { VERSION } from '../version.js';

/** Sent when no key is configured: local servers ignore it, and some proxies insist on one. */
const PLACEHOLDER_KEY = 'none';

export interface HttpBackendOptions {
  /**
   * OpenAI-compatible base URLs of the replicas (ending in `/v1` for most servers). At least one.
   * @example ['http://localhost:8000/v1']
   */
  baseUrls: string[];
  /** API key, or `undefined` to send a placeholder. Never logged. */
  apiKey: string | undefined;
  /** Per-attempt timeout in milliseconds, covering the whole exchange including the body. Above 0. */
  timeoutMs: number;
  /** How long a failed replica is skipped while others are available, in milliseconds. Minimum 0. @default 10000 */
  cooldownMs?: number | undefined;
  /**
   * Told once per model and parameter when a refused parameter was adapted (e.g. "model
   * gpt-5 refuses temperature: left out"). @default no one is told
   */
  onNotice?: ((message: string) => void) | undefined;
}

/**
 * Most adaptations of one request before its 400 stands: one per adaptable parameter, and a
 * smaller completion cap.
 */
const MAX_ADAPTATIONS = 7;
/** A context-length 400 is retried with a smaller cap only when at least this many completion tokens fit. */
const MIN_COMPLETION_ROOM = 512;

/** True for OpenAI's own API (and Azure OpenAI), whose reasoning models refuse `max_tokens`. */
export function isOpenAiHost(baseUrl: string): boolean {
  try {
    const host = new URL(baseUrl).hostname.toLowerCase();
    return host === 'api.openai.com' || host.endsWith('.openai.azure.com');
  } catch {
    return false;
  }
}

interface Replica {
  baseUrl: string;
  /** `{baseUrl}/chat/completions`. */
  endpoint: URL;
  inFlight: number;
  sent: number;
  failures: number;
  cooldownUntil: number;
}

export class HttpBackend implements ModelBackend {
  private readonly replicas: Replica[];
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly params: ParamAdapter;
  private readonly poster = new HttpPoster(`gemtraj/${VERSION}`);
  private readonly authorization: string;

  constructor(options: HttpBackendOptions) {
    if (options.baseUrls.length === 0) throw new RangeError('at least one base URL is required');
    this.timeoutMs = options.timeoutMs;
    this.cooldownMs = options.cooldownMs ?? 10_000;
    this.params = new ParamAdapter(options.baseUrls.every(isOpenAiHost) ? 'max_completion_tokens' : 'max_tokens', options.onNotice);
    this.authorization = `Bearer ${options.apiKey ?? PLACEHOLDER_KEY}`;
    this.replicas = options.baseUrls.map((baseUrl) => ({
      baseUrl,
      endpoint: completionsUrl(baseUrl),
      inFlight: 0,
      sent: 0,
      failures: 0,
      cooldownUntil: 0,
    }));
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
   * One attempt. Throws a {@link BackendError} classified by {@link classifyError} (the SDK
   * error, a timeout of our own timer, a 200 that is no completion); rethrows the caller's
   * abort reason unwrapped. A replica fault puts the replica in its cooldown.
   */
  async send(request: ChatRequest, options: SendOptions = {}): Promise<ChatResponse> {
    const { signal } = options;
    const replica = this.pick();
    replica.inFlight++;
    replica.sent++;
    // One timer for the whole exchange, body included.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let current = request;
    try {
      for (let adaptations = 0; ; adaptations++) {
        const body = this.params.wire(current);
        try {
          const completion = await this.post(replica, body, controller.signal);
          checkCompletion(completion);
          return toChatResponse(completion);
        } catch (error) {
          if (signal?.aborted || timedOut || adaptations >= MAX_ADAPTATIONS) throw error;
          const next = this.adapted(current, body, error);
          if (next === undefined) throw error;
          current = next;
        }
      }
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      const cause = timedOut ? new RequestTimeoutError(this.timeoutMs) : error;
      const failure = classifyError(cause, {
        model: request.model,
        baseUrl: replica.baseUrl,
        hasResponseFormat: request.response_format !== undefined,
      });
      if (failure.action === 'retry' && failure.replicaFault) this.markFailed(replica);
      throw new BackendError(failure, replica.baseUrl, { cause });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      replica.inFlight--;
    }
  }

  /**
   * One exchange: the parsed body of a 2xx answer (JSON; text when the server says it is not
   * JSON), or the SDK's error for anything else, as the SDK itself would throw it: an
   * `APIError` subclass with the server's error object (normalized by error-shapes.ts) and
   * headers, or an `APIConnectionError` whose cause is the socket's error.
   */
  private async post(replica: Replica, body: WireParams, signal: AbortSignal): Promise<unknown> {
    let answer;
    try {
      answer = await this.poster.post(replica.endpoint, bodyBytes(body), { authorization: this.authorization }, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new APIConnectionError({ cause: error instanceof Error ? error : new Error(String(error)) });
    }
    const { status, headers, text } = answer;
    if (status < 200 || status > 299) {
      const normalized = toOpenAiErrorBody(text) ?? text;
      const json = safeJson(normalized);
      throw APIError.generate(status, json as object | undefined, json ? undefined : normalized, toHeaders(headers));
    }
    if (status === 204) return null;
    const mediaType = String(headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    if (!mediaType.includes('application/json') && !mediaType.endsWith('+json')) return text;
    if (headers['content-length'] === '0') return undefined;
    // A SyntaxError here (a truncated body) is classified as a garbled answer, retried.
    return JSON.parse(text) as unknown;
  }

  /** Ends the keep-alive sockets. */
  async close(): Promise<void> {
    this.poster.close();
  }

  /**
   * The request to send after a 400 that can be answered by changing it: a refused optional
   * parameter (adapted for the model from now on), or a completion cap that does not fit the
   * context beside the prompt (smaller cap, this request only). `undefined` otherwise.
   */
  private adapted(request: ChatRequest, sent: WireParams, error: unknown): ChatRequest | undefined {
    if (!(error instanceof APIError) || (error.status !== 400 && error.status !== 413 && error.status !== 422)) return undefined;
    const body = (error.error ?? {}) as { code?: unknown; type?: unknown; param?: unknown; message?: unknown };
    const message = typeof body.message === 'string' ? body.message : error.message;
    const param = refusedParameter({ code: body.code ?? error.code, type: body.type, param: body.param ?? error.param, message }, sent);
    if (param !== undefined) return this.params.adapt(request.model, param, message.replace(/\.+$/, '')) ? request : undefined;
    if (request.max_tokens !== undefined && isContextLength(error, message)) {
      const room = completionRoom(error, message);
      if (room !== undefined && room >= MIN_COMPLETION_ROOM && room < request.max_tokens) return { ...request, max_tokens: room };
    }
    return undefined;
  }

  /** Skips the replica for the cooldown (only matters when there are others). */
  private markFailed(replica: Replica): void {
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

/** `{baseUrl}/chat/completions`, the base URL's own query string kept (Azure's `api-version`). */
function completionsUrl(baseUrl: string): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
  return url;
}

/** `JSON.parse`, or `undefined` for text that is not JSON (the SDK's `safeJSON`). */
function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Node's header object as a fetch `Headers` (what the SDK's errors carry; Retry-After is read from it). */
function toHeaders(headers: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) out.append(name, item);
  }
  return out;
}

/** Members of the request body, in the order they always had on the wire. */
const BODY_MEMBERS = ['model', 'messages', 'tools', 'response_format', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'seed', 'reasoning_effort'] as const;

/**
 * The request body's UTF-8 bytes, unset members left out. The long strings of the messages come
 * as the bytes their cache key encoded (chat-request.ts); a schema's `response_format` is the
 * same frozen object on every call of a stage, its text made once.
 */
function bodyBytes(request: WireParams): Buffer {
  return encodePlain(request, BODY_MEMBERS, encodedStringsOf(request.messages));
}

function toChatResponse(completion: ChatCompletion): ChatResponse {
  const choice = completion.choices[0];
  const response: ChatResponse = {
    text: choice?.message?.content ?? '',
    finishReason: choice?.finish_reason ?? 'unknown',
  };
  if (completion.usage) {
    response.usage = { prompt_tokens: completion.usage.prompt_tokens ?? 0, completion_tokens: completion.usage.completion_tokens ?? 0 };
  }
  if (typeof completion.model === 'string' && completion.model !== '') response.model = completion.model;
  const toolCalls = extractToolCalls(choice?.message?.tool_calls);
  if (toolCalls !== undefined) response.toolCalls = toolCalls;
  return response;
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

/** Function tool calls of an answer in the records' shape; `undefined` when there are none. */
function extractToolCalls(calls: unknown): ToolCall[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  const out: ToolCall[] = [];
  for (const call of calls as Array<{ id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }>) {
    if (call.type !== 'function' || call.function === undefined) continue;
    out.push({
      id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${out.length + 1}`,
      type: 'function',
      function: {
        name: typeof call.function.name === 'string' ? call.function.name : '',
        arguments: typeof call.function.arguments === 'string' ? call.function.arguments : '{}',
      },
    });
  }
  return out.length > 0 ? out : undefined;
}

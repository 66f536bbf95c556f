/**
 * A mock OpenAI-compatible server on 127.0.0.1 for tests and benchmarks. It answers
 * `POST /v1/chat/completions` with whatever the handler returns, including the failures a
 * real endpoint produces (429, 5xx, hangs, resets, truncated bodies), and `GET /v1/models`.
 *
 * @example
 * const server = await startMockServer({ handler: () => jsonReply({ ok: true }) });
 * const gateway = createGateway({ baseUrls: [server.url], apiKey: undefined, model: 'm' });
 * // ...
 * await server.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Requests and replies

/** The parts of a chat completion request body the handlers usually look at. */
export interface MockChatBody {
  model?: string;
  messages?: Array<{ role: string; content?: string | null; [key: string]: unknown }>;
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } };
  tools?: unknown[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  [key: string]: unknown;
}

/** One request the server received. */
export interface MockRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Lower-case header names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; `{}` when the body was empty or not JSON. */
  body: MockChatBody;
  /** Milliseconds since the epoch when the request body was complete. */
  receivedAt: number;
}

export interface MockUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** What the handler asks the server to do with one chat completion request. */
export type MockReply =
  /** A normal completion. `usage` defaults to rough counts (characters / 4). */
  | {
      kind: 'text';
      content: string | null;
      /** @default 'stop' */
      finishReason?: string;
      usage?: MockUsage;
      /** Model name in the answer. @default the request's model */
      model?: string;
      /** Function calls in the answer (`finishReason` then defaults to `tool_calls`). */
      toolCalls?: Array<{ id: string; name: string; arguments: string }>;
    }
  /** An HTTP error status; `body` is sent as JSON (objects) or as is (strings). */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Never answers; the request is ended when the server closes. */
  | { kind: 'hang' }
  /** Destroys the connection without a response. */
  | { kind: 'reset' }
  /** Status 200 and the first half of a valid completion body, then a clean end. */
  | { kind: 'truncated' }
  /** Any body, e.g. malformed JSON. @default status 200, content type application/json */
  | { kind: 'raw'; status?: number; body: string; contentType?: string };

export type MockHandler = (request: MockRequest, index: number) => MockReply | Promise<MockReply>;

export interface MockServerOptions {
  /**
   * Answers each chat completion request; `index` counts chat completion requests from 0 in
   * arrival order. @default a handler that answers `{"ok":true}`
   */
  handler?: MockHandler;
  /** Delay before every answer, in milliseconds. Minimum 0. @default 0 */
  latencyMs?: number;
  /** Extra random delay in [0, jitterMs) milliseconds, from a seeded generator. Minimum 0. @default 0 */
  jitterMs?: number;
  /** Seed of the jitter generator. @default 1 */
  seed?: number;
  /**
   * Keep every request in {@link MockServer.requests}. Turn off for long benchmarks
   * (100k requests) so that memory stays flat; `count` still counts. @default true
   */
  recordRequests?: boolean;
  /**
   * Model ids the server knows; a request for another model gets the OpenAI 404
   * `model_not_found` answer before the handler runs. @default any model is accepted
   */
  models?: string[];
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
}

export interface MockServer {
  /** Base URL for the OpenAI SDK, e.g. `http://127.0.0.1:54321/v1`. */
  readonly url: string;
  readonly port: number;
  /** Chat completion requests received, in arrival order (empty when `recordRequests` is off). */
  readonly requests: MockRequest[];
  /** Number of chat completion requests received. */
  readonly count: number;
  /** Number of chat completion requests currently being answered (or hanging). */
  readonly inFlight: number;
  /** Highest {@link inFlight} seen: the concurrency the client actually reached. */
  readonly maxInFlight: number;
  /** Replaces the handler (e.g. to switch from failures to success mid-test). */
  setHandler(handler: MockHandler): void;
  /** Stops listening and destroys every open connection, hanging ones included. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Reply helpers

/** A completion whose content is `text`. */
export function textReply(content: string, finishReason = 'stop'): MockReply {
  return { kind: 'text', content, finishReason };
}

/** A completion whose content is `JSON.stringify(value)`. */
export function jsonReply(value: unknown): MockReply {
  return { kind: 'text', content: JSON.stringify(value) };
}

/** An error status with the OpenAI error body `{"error":{message,type,code}}`. */
export function errorReply(
  status: number,
  message: string,
  options: { code?: string; type?: string; headers?: Record<string, string> } = {},
): MockReply {
  return {
    kind: 'status',
    status,
    body: { error: { message, type: options.type ?? 'invalid_request_error', param: null, code: options.code ?? null } },
    headers: options.headers ?? {},
  };
}

/** The content of the last user message of a request, `''` when there is none. */
export function lastUserContent(request: MockRequest): string {
  const messages = request.body.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === 'user') return typeof message.content === 'string' ? message.content : '';
  }
  return '';
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness (deterministic faults and jitter)

/** mulberry32: tiny, fast, good enough for fault injection. Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float in [0, 1) fixed by (seed, index): the same request index always gets the same draw. */
function drawFor(seed: number, index: number): number {
  return seededRandom((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0)();
}

// ---------------------------------------------------------------------------------------------
// Fault injection

export type FaultKind =
  | '429'
  | '429_no_retry_after'
  | '500'
  | '503'
  | 'hang'
  | 'reset'
  | 'truncated'
  | 'schema_invalid'
  | 'empty'
  | 'length';

export const ALL_FAULT_KINDS: readonly FaultKind[] = [
  '429',
  '429_no_retry_after',
  '500',
  '503',
  'hang',
  'reset',
  'truncated',
  'schema_invalid',
  'empty',
  'length',
];

export interface FaultMixOptions {
  /** Fraction of requests that get a fault, in [0, 1]. */
  rate: number;
  /** Seed: the same seed and request index always give the same decision. @default 1 */
  seed?: number;
  /** Faults to draw from, uniformly. @default every {@link FaultKind} */
  kinds?: readonly FaultKind[];
  /**
   * Wait the `429` fault asks for, in milliseconds: sent as `retry-after-ms`, and rounded up to
   * whole seconds in `retry-after`. Minimum 0. @default 1000
   */
  retryAfterMs?: number;
}

/** Counts of injected faults by kind (plus `none` for requests passed to the handler untouched). */
export type FaultCounts = Record<FaultKind | 'none', number>;

export interface FaultyHandler extends MockHandler {
  /** How many of each fault were injected so far. */
  readonly injected: FaultCounts;
}

/**
 * Wraps `handler` so that a deterministic, seeded share of requests get a fault instead.
 * Transport faults (429, 5xx, hang, reset, truncated) replace the answer; content faults
 * (`schema_invalid`, `empty`, `length`) are well-formed completions with bad content, where
 * `length` cuts the handler's own content in half with `finish_reason: "length"`.
 */
export function faultMix(options: FaultMixOptions, handler: MockHandler = defaultHandler): FaultyHandler {
  const seed = options.seed ?? 1;
  const kinds = options.kinds ?? ALL_FAULT_KINDS;
  const retryAfterMs = options.retryAfterMs ?? 1000;
  const injected = Object.fromEntries([...ALL_FAULT_KINDS, 'none'].map((kind) => [kind, 0])) as FaultCounts;
  const wrapped = async (request: MockRequest, index: number): Promise<MockReply> => {
    const draw = drawFor(seed, index);
    if (kinds.length === 0 || draw >= options.rate) {
      injected.none++;
      return handler(request, index);
    }
    // Re-scale the draw below `rate` to pick the kind, so that one draw decides both.
    const kind = kinds[Math.min(kinds.length - 1, Math.floor((draw / options.rate) * kinds.length))] as FaultKind;
    injected[kind]++;
    switch (kind) {
      case '429':
        return errorReply(429, 'Rate limit reached (mock).', {
          code: 'rate_limit_exceeded',
          type: 'requests',
          headers: {
            'retry-after-ms': String(retryAfterMs),
            'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
          },
        });
      case '429_no_retry_after':
        return errorReply(429, 'Rate limit reached (mock).', { code: 'rate_limit_exceeded', type: 'requests' });
      case '500':
        return errorReply(500, 'The server had an error while processing your request (mock).', { type: 'server_error' });
      case '503':
        return errorReply(503, 'The engine is currently overloaded (mock).', { type: 'server_error' });
      case 'hang':
        return { kind: 'hang' };
      case 'reset':
        return { kind: 'reset' };
      case 'truncated':
        return { kind: 'truncated' };
      case 'schema_invalid':
        return { kind: 'text', content: '{"__mock_fault": "schema_invalid", "items": "not-a-list"}' };
      case 'empty':
        return { kind: 'text', content: '' };
      case 'length': {
        const reply = await handler(request, index);
        const content = reply.kind === 'text' && typeof reply.content === 'string' ? reply.content : '{"partial": [1, 2';
        return { kind: 'text', content: content.slice(0, Math.floor(content.length / 2)), finishReason: 'length' };
      }
    }
  };
  return Object.assign(wrapped, { injected });
}

const defaultHandler: MockHandler = () => ({ kind: 'text', content: '{"ok":true}' });

// ---------------------------------------------------------------------------------------------
// The server

function roughTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

function promptChars(body: MockChatBody): number {
  let chars = 0;
  for (const message of body.messages ?? []) chars += typeof message.content === 'string' ? message.content.length : 0;
  return chars;
}

let completionCounter = 0;

/** The JSON body of a chat completion for a `text` reply (also the body of a Batch API output line). */
export function completionBody(request: MockRequest, reply: Extract<MockReply, { kind: 'text' }>): string {
  const content = reply.content;
  const usage = reply.usage ?? {
    prompt_tokens: roughTokens(promptChars(request.body)),
    completion_tokens: content === null ? 0 : roughTokens(content.length),
  };
  return JSON.stringify({
    id: `chatcmpl-mock-${++completionCounter}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: reply.model ?? request.body.model ?? 'mock-model',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content,
          refusal: null,
          ...(reply.toolCalls === undefined
            ? {}
            : {
                tool_calls: reply.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }),
        },
        logprobs: null,
        finish_reason: reply.finishReason ?? (reply.toolCalls === undefined ? 'stop' : 'tool_calls'),
      },
    ],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  });
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A request body as JSON; `{}` when empty or not an object. */
export function parseBody(text: string): MockChatBody {
  if (text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as MockChatBody) : {};
  } catch {
    return {};
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a mock OpenAI-compatible server on 127.0.0.1. Always `close()` it. */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  let handler = options.handler ?? defaultHandler;
  const latencyMs = options.latencyMs ?? 0;
  const jitterMs = options.jitterMs ?? 0;
  const random = seededRandom(options.seed ?? 1);
  const record = options.recordRequests ?? true;
  const known = options.models === undefined ? undefined : new Set(options.models);
  const requests: MockRequest[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let closed = false;

  async function onChat(req: IncomingMessage, res: ServerResponse, request: MockRequest): Promise<void> {
    const index = count++;
    if (record) requests.push(request);
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    res.on('close', () => inFlight--);

    const model = request.body.model ?? '';
    let reply: MockReply;
    if (known !== undefined && !known.has(model)) {
      reply = errorReply(404, `The model \`${model}\` does not exist or you do not have access to it.`, {
        code: 'model_not_found',
      });
    } else {
      try {
        reply = await handler(request, index);
      } catch (error) {
        reply = errorReply(500, `mock handler threw: ${String(error)}`, { type: 'server_error' });
      }
    }
    const wait = latencyMs + (jitterMs > 0 ? random() * jitterMs : 0);
    if (wait > 0) await delay(wait);
    if (closed || res.destroyed) return;

    switch (reply.kind) {
      case 'text':
        sendJson(res, 200, completionBody(request, reply));
        return;
      case 'status': {
        const body =
          reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        sendJson(res, reply.status, body, reply.headers);
        return;
      }
      case 'raw':
        res.writeHead(reply.status ?? 200, {
          'content-type': reply.contentType ?? 'application/json',
          'content-length': Buffer.byteLength(reply.body),
        });
        res.end(reply.body);
        return;
      case 'hang':
        return; // answered by close()
      case 'reset':
        req.socket.destroy();
        return;
      case 'truncated': {
        const full = completionBody(request, { kind: 'text', content: '{"ok":true,"note":"truncated"}' });
        // Chunked encoding, cleanly ended: the HTTP exchange succeeds but the JSON is cut.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(full.slice(0, Math.floor(full.length / 2)));
        return;
      }
    }
  }

  const server = createServer((req, res) => {
    readBody(req).then(
      (text) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const method = req.method ?? 'GET';
        if (method === 'GET' && path.endsWith('/models')) {
          const ids = options.models ?? ['mock-model'];
          sendJson(
            res,
            200,
            JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'mock' })) }),
          );
          return;
        }
        if (method === 'POST' && path.endsWith('/chat/completions')) {
          const request: MockRequest = { method, path, headers: req.headers, body: parseBody(text), receivedAt: Date.now() };
          onChat(req, res, request).catch(() => res.destroy());
          return;
        }
        sendJson(res, 404, JSON.stringify({ error: { message: `no route ${method} ${path}`, type: 'invalid_request_error' } }));
      },
      () => res.destroy(),
    );
  });
  // Keep-alive matters for benchmarks: no new TCP handshake per request.
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    get count() {
      return count;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    setHandler(next: MockHandler) {
      handler = next;
    },
    close() {
      closed = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      });
    },
  };
}

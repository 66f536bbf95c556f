/**
 * A mock OpenAI Files + Batches API on 127.0.0.1, speaking OpenAI's wire format: multipart
 * upload to `POST /v1/files`, `POST /v1/batches` (validated: endpoint, completion window, JSONL
 * lines, unique `custom_id`s, the request limit), `GET /v1/batches/{id}` moving through
 * validating → in_progress → finalizing → completed (one state per poll, so tests need no
 * clocks), `GET /v1/batches` with metadata, `POST /v1/batches/{id}/cancel`, and
 * `GET /v1/files/{id}/content` for output and error files. Each line is answered by a
 * {@link MockHandler}, as the live mock answers chat requests: a non-200 reply becomes a failed
 * line in the error file; lines picked by `expire` are left undone and the batch ends `expired`
 * with `batch_expired` lines, as OpenAI does after 24 hours.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { completionBody, parseBody, type MockChatBody, type MockHandler, type MockReply, type MockRequest } from './mock-server.js';

export type MockBatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** A batch as the server keeps it (the wire object is built from it). */
export interface MockBatch {
  id: string;
  status: MockBatchStatus;
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  metadata: Record<string, string> | null;
  errors: Array<{ code: string; message: string; line: number | null }> | null;
  /** `custom_id`s of the input file, in order. */
  customIds: string[];
  created_at: number;
  request_counts: { total: number; completed: number; failed: number };
}

export interface MockBatchServerOptions {
  /** Answers each line's chat request. @default `{"ok":true}` */
  handler?: MockHandler;
  /** Lines (by custom_id and 0-based line number) that the batch does not get to: they expire. */
  expire?: (customId: string, line: number) => boolean;
  /** Most lines one batch may hold; more fails validation like OpenAI's limit. @default 50000 */
  maxRequestsPerBatch?: number;
  /** Largest upload in bytes; a bigger file is refused with HTTP 400. @default 200 MB */
  maxFileBytes?: number;
  /**
   * A reply to send instead of the normal answer of an API call (e.g. a 500 on a poll); `undefined`
   * answers normally. `n` counts calls to the API from 0.
   */
  apiFault?: (method: string, path: string, n: number) => MockReply | undefined;
  /** A provider that keeps no metadata: batches come back with `metadata: null`. @default false */
  dropMetadata?: boolean;
  /**
   * Together's dialect of the API: the created batch comes wrapped in `job`, and statuses are
   * in capitals (`IN_PROGRESS`, `COMPLETED`). @default false
   */
  together?: boolean;
}

export interface MockBatchServer {
  /** Base URL for the OpenAI SDK, e.g. `http://127.0.0.1:54321/v1`. */
  readonly url: string;
  /** Batches created, in order. */
  readonly batches: readonly MockBatch[];
  /** custom_id → number of created batches that held it. */
  readonly submissions: ReadonlyMap<string, number>;
  /** Files uploaded (inputs only). */
  readonly uploads: number;
  /** While true, batches stay `in_progress` however often they are polled. */
  hold: boolean;
  /**
   * While set, the answer to a batch creation is this function of the batch object (a proxy that
   * mangles it, a dialect): the batch is created all the same.
   */
  reshapeCreated: ((batch: Record<string, unknown>) => unknown) | undefined;
  /** Creations to answer with a 500 after the batch is made (an answer lost on the way). */
  loseCreates: number;
  setHandler(handler: MockHandler): void;
  close(): Promise<void>;
}

interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
  created_at: number;
}

const NEXT: Partial<Record<MockBatchStatus, MockBatchStatus>> = {
  validating: 'in_progress',
  in_progress: 'finalizing',
  cancelling: 'cancelled',
};

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function apiError(res: ServerResponse, status: number, message: string, code: string | null = null): void {
  sendJson(res, status, { error: { message, type: 'invalid_request_error', param: null, code } });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** One output line for a request: the handler's answer as a 200 line, or its error status as a failed one. */
async function answerLine(customId: string, id: string, body: MockChatBody, handler: MockHandler, index: number): Promise<{ ok: boolean; line: string }> {
  const request: MockRequest = { method: 'POST', path: '/v1/chat/completions', headers: {}, body, receivedAt: Date.now() };
  let reply: MockReply;
  try {
    reply = await handler(request, index);
  } catch (error) {
    reply = { kind: 'status', status: 500, body: { error: { message: `mock handler threw: ${String(error)}`, type: 'server_error' } } };
  }
  if (reply.kind === 'text') {
    const response = { status_code: 200, request_id: `req_${id}`, body: JSON.parse(completionBody(request, reply)) as unknown };
    return { ok: true, line: JSON.stringify({ id, custom_id: customId, response, error: null }) };
  }
  const status = reply.kind === 'status' ? reply.status : 500;
  const errorBody = reply.kind === 'status' ? reply.body : { error: { message: 'The server had an error processing the request.', type: 'server_error' } };
  return { ok: false, line: JSON.stringify({ id, custom_id: customId, response: { status_code: status, request_id: `req_${id}`, body: errorBody }, error: null }) };
}

/**
 * What `vllm run-batch -i input -o output` does, offline: every line of a Batch API input file
 * answered by `handler`, failed ones included, into one output file's text.
 */
export async function runBatchFile(input: string, handler: MockHandler): Promise<string> {
  const out: string[] = [];
  let n = 0;
  for (const text of input.split('\n')) {
    if (text.trim() === '') continue;
    const line = JSON.parse(text) as { custom_id: string; body: unknown };
    out.push((await answerLine(line.custom_id, `vllm-${n}`, parseBody(JSON.stringify(line.body)), handler, n++)).line);
  }
  return out.map((l) => `${l}\n`).join('');
}

/** Starts the mock Batches API. Always `close()` it. */
export async function startMockBatchServer(options: MockBatchServerOptions = {}): Promise<MockBatchServer> {
  let handler: MockHandler = options.handler ?? (() => ({ kind: 'text', content: '{"ok":true}' }));
  const maxRequests = options.maxRequestsPerBatch ?? 50_000;
  const maxBytes = options.maxFileBytes ?? 200_000_000;
  const files = new Map<string, StoredFile>();
  const batches: MockBatch[] = [];
  const submissions = new Map<string, number>();
  const sockets = new Set<Socket>();
  let seq = 0;
  let apiCalls = 0;
  let lineIndex = 0;
  let uploads = 0;
  const state: { hold: boolean; reshapeCreated: ((batch: Record<string, unknown>) => unknown) | undefined; loseCreates: number } = {
    hold: false,
    reshapeCreated: undefined,
    loseCreates: 0,
  };
  const now = (): number => Math.floor(Date.now() / 1000);

  function wire(batch: MockBatch): Record<string, unknown> {
    return {
      id: batch.id,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      errors: batch.errors === null ? null : { object: 'list', data: batch.errors.map((e) => ({ ...e, param: null })) },
      input_file_id: batch.input_file_id,
      completion_window: '24h',
      status: options.together === true ? batch.status.toUpperCase() : batch.status,
      output_file_id: batch.output_file_id,
      error_file_id: batch.error_file_id,
      created_at: batch.created_at,
      in_progress_at: null,
      expires_at: batch.created_at + 86_400,
      finalizing_at: null,
      completed_at: batch.status === 'completed' ? now() : null,
      failed_at: batch.status === 'failed' ? now() : null,
      expired_at: batch.status === 'expired' ? now() : null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: batch.request_counts,
      metadata: batch.metadata,
    };
  }

  function storeFile(filename: string, purpose: string, content: string): StoredFile {
    const file: StoredFile = { id: `file-${++seq}`, filename, purpose, content, created_at: now() };
    files.set(file.id, file);
    return file;
  }

  /** Validation at creation: every line a POST to the batch's endpoint with a unique custom_id. */
  function validate(content: string): { customIds: string[]; bodies: MockChatBody[]; errors: MockBatch['errors'] } {
    const customIds: string[] = [];
    const bodies: MockChatBody[] = [];
    const errors: NonNullable<MockBatch['errors']> = [];
    const seen = new Set<string>();
    const lines = content.split('\n').filter((l) => l.trim() !== '');
    lines.forEach((text, i) => {
      let line: { custom_id?: unknown; method?: unknown; url?: unknown; body?: unknown };
      try {
        line = JSON.parse(text) as typeof line;
      } catch {
        errors.push({ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', line: i + 1 });
        return;
      }
      if (typeof line.custom_id !== 'string' || line.custom_id === '') {
        errors.push({ code: 'missing_custom_id', message: 'custom_id is required.', line: i + 1 });
        return;
      }
      if (seen.has(line.custom_id)) errors.push({ code: 'duplicate_custom_id', message: `The custom_id '${line.custom_id}' is duplicated.`, line: i + 1 });
      seen.add(line.custom_id);
      if (line.method !== 'POST' || line.url !== '/v1/chat/completions') {
        errors.push({ code: 'invalid_url', message: 'The URL provided for this request does not match the batch endpoint.', line: i + 1 });
      }
      customIds.push(line.custom_id);
      bodies.push(parseBody(JSON.stringify(line.body ?? {})));
    });
    if (lines.length > maxRequests) {
      errors.push({ code: 'too_many_requests', message: `The batch input file has ${lines.length} requests; the limit is ${maxRequests}.`, line: null });
    }
    // As OpenAI: one model per input file.
    const models = new Set(bodies.map((b) => b.model));
    if (models.size > 1) errors.push({ code: 'mismatched_model', message: `The batch input file holds requests for ${models.size} models (${[...models].join(', ')}); a batch takes one.`, line: null });
    return { customIds, bodies, errors: errors.length > 0 ? errors : null };
  }

  /** Runs the lines (at the move to finalizing) and writes the output and error files. */
  async function execute(batch: MockBatch): Promise<void> {
    const input = files.get(batch.input_file_id);
    const { bodies } = validate(input?.content ?? '');
    const out: string[] = [];
    const err: string[] = [];
    let expired = false;
    for (let i = 0; i < bodies.length; i++) {
      const customId = batch.customIds[i] as string;
      const id = `batch_req_${++seq}`;
      if (options.expire?.(customId, i) === true) {
        expired = true;
        err.push(
          JSON.stringify({
            id,
            custom_id: customId,
            response: null,
            error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
          }),
        );
        batch.request_counts.failed++;
        continue;
      }
      const answered = await answerLine(customId, id, bodies[i] as MockChatBody, handler, lineIndex++);
      if (answered.ok) {
        out.push(answered.line);
        batch.request_counts.completed++;
      } else {
        err.push(answered.line);
        batch.request_counts.failed++;
      }
    }
    if (out.length > 0) batch.output_file_id = storeFile(`${batch.id}_output.jsonl`, 'batch_output', `${out.join('\n')}\n`).id;
    if (err.length > 0) batch.error_file_id = storeFile(`${batch.id}_error.jsonl`, 'batch_output', `${err.join('\n')}\n`).id;
    batch.status = expired ? 'expired' : 'completed';
  }

  async function advance(batch: MockBatch): Promise<void> {
    if (batch.status === 'in_progress' && state.hold) return;
    if (batch.status === 'finalizing') return execute(batch);
    const next = NEXT[batch.status];
    if (next !== undefined) batch.status = next;
  }

  async function route(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const fault = options.apiFault?.(method, path, apiCalls++);
    if (fault?.kind === 'status') return sendJson(res, fault.status, fault.body ?? '');
    if (fault?.kind === 'reset') return void req.socket.destroy();

    if (method === 'POST' && path === '/v1/files') {
      const form = await new Request('http://127.0.0.1/', { method: 'POST', headers: req.headers as Record<string, string>, body: raw }).formData();
      const file = form.get('file');
      const purpose = form.get('purpose');
      if (typeof file === 'string' || file === null) return apiError(res, 400, "'file' is a required multipart field");
      if (purpose !== 'batch') return apiError(res, 400, `'purpose' must be 'batch' for batch input, got ${String(purpose)}`);
      const content = await file.text();
      if (Buffer.byteLength(content) > maxBytes) return apiError(res, 400, `File is too large: the limit is ${maxBytes} bytes.`, 'file_too_large');
      uploads++;
      const stored = storeFile(file.name, 'batch', content);
      return sendJson(res, 200, { id: stored.id, object: 'file', bytes: Buffer.byteLength(content), created_at: stored.created_at, filename: stored.filename, purpose: 'batch', status: 'processed' });
    }
    const content = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
    if (method === 'GET' && content !== null) {
      const file = files.get(content[1] as string);
      if (file === undefined) return apiError(res, 404, `No such File object: ${content[1]}`);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(file.content) });
      return void res.end(file.content);
    }
    if (method === 'POST' && path === '/v1/batches') {
      const body = parseBody(raw.toString('utf8')) as { input_file_id?: unknown; endpoint?: unknown; completion_window?: unknown; metadata?: unknown };
      if (body.endpoint !== '/v1/chat/completions') return apiError(res, 400, `Invalid endpoint: ${String(body.endpoint)}`);
      if (body.completion_window !== '24h') return apiError(res, 400, "completion_window must be '24h'");
      const input = typeof body.input_file_id === 'string' ? files.get(body.input_file_id) : undefined;
      if (input === undefined || input.purpose !== 'batch') return apiError(res, 400, `No such File object: ${String(body.input_file_id)}`);
      const { customIds, errors } = validate(input.content);
      const batch: MockBatch = {
        id: `batch_${++seq}`,
        status: errors === null ? 'validating' : 'failed',
        input_file_id: input.id,
        output_file_id: null,
        error_file_id: null,
        metadata: options.dropMetadata === true ? null : ((body.metadata as Record<string, string> | undefined) ?? null),
        errors,
        customIds,
        created_at: now(),
        request_counts: { total: customIds.length, completed: 0, failed: 0 },
      };
      batches.push(batch);
      if (errors === null) for (const id of customIds) submissions.set(id, (submissions.get(id) ?? 0) + 1);
      if (state.loseCreates > 0) {
        state.loseCreates--;
        return sendJson(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } });
      }
      const created = options.together === true ? { job: wire(batch) } : wire(batch);
      return sendJson(res, 200, state.reshapeCreated === undefined ? created : state.reshapeCreated(wire(batch)));
    }
    if (method === 'GET' && path === '/v1/batches') {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const after = url.searchParams.get('after');
      const newestFirst = [...batches].reverse();
      const start = after === null ? 0 : newestFirst.findIndex((b) => b.id === after) + 1;
      const page = newestFirst.slice(start, start + limit);
      return sendJson(res, 200, {
        object: 'list',
        data: page.map(wire),
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: start + limit < newestFirst.length,
      });
    }
    const one = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    if (one !== null) {
      const batch = batches.find((b) => b.id === one[1]);
      if (batch === undefined) return apiError(res, 404, `No batch found with id '${one[1]}'.`);
      if (method === 'POST' && one[2] !== undefined) {
        if (batch.status === 'validating' || batch.status === 'in_progress' || batch.status === 'finalizing') batch.status = 'cancelling';
        return sendJson(res, 200, wire(batch));
      }
      if (method === 'GET' && one[2] === undefined) {
        await advance(batch);
        return sendJson(res, 200, wire(batch));
      }
    }
    return apiError(res, 404, `Invalid URL (${method} ${path})`);
  }

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => route(req, res, raw))
      .catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: `mock batch server: ${String(error)}`, type: 'server_error' } });
        else res.destroy();
      });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    batches,
    submissions,
    get uploads() {
      return uploads;
    },
    get hold() {
      return state.hold;
    },
    get loseCreates() {
      return state.loseCreates;
    },
    set loseCreates(value: number) {
      state.loseCreates = value;
    },
    get reshapeCreated() {
      return state.reshapeCreated;
    },
    set reshapeCreated(value) {
      state.reshapeCreated = value;
    },
    set hold(value: boolean) {
      state.hold = value;
    },
    setHandler(next) {
      handler = next;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

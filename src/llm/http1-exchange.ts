/**
 * One HTTP/1.1 request and its response over a raw `net`/`tls` socket, and the keep-alive pool
 * those sockets return to. `node:http` spent 0.21–0.28 ms of CPU per request on its streams,
 * header objects and agent bookkeeping for what is here one write and one buffer scan (0.15 ms,
 * the answer's `JSON.parse` included; a client process alone against a local server): the
 * largest share of gemtraj's CPU per call against a fast endpoint. Only what a JSON API answer
 * needs: Content-Length, chunked or close-delimited bodies, 1xx answers skipped,
 * gzip/deflate/br.
 * http-post.ts adds redirects and the resend of a request a closing idle socket never took.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** What came back: status, headers (lower-case names, as Node gives them) and the decoded body. */
export interface ExchangeResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Why an exchange failed, and whether the request could not have reached the server. */
export interface ExchangeError extends Error {
  code?: string;
  /** True when a reused idle socket failed before the whole request was written: safe to send again. */
  unsent?: boolean;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** Headers Node keeps once when a server repeats them (as `IncomingMessage` does). */
const SINGLE = new Set(['content-type', 'content-length', 'location', 'retry-after', 'authorization', 'host', 'user-agent', 'etag', 'server', 'date', 'expires', 'last-modified']);
const INVALID_HEADER_CHAR = /[\r\n\0]/;

/** An idle keep-alive socket, the timer that closes it, and its listener for the server closing it. */
interface Idle {
  socket: net.Socket;
  timer: NodeJS.Timeout;
  drop: () => void;
}

/** Keep-alive sockets per origin; {@link close} ends them all. */
export class ConnectionPool {
  private readonly idle = new Map<string, Idle[]>();
  private readonly all = new Set<net.Socket>();

  constructor(private readonly idleMs: number) {}

  /**
   * Sends `head` + `body` and reads one response. Rejects with the socket's error (its `code`
   * kept: ECONNREFUSED, ECONNRESET, a TLS error), or `signal`'s reason when it aborted.
   */
  exchange(url: URL, head: string, body: Uint8Array, signal: AbortSignal, fresh = false): Promise<ExchangeResult> {
    return new Promise<ExchangeResult>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const origin = url.origin;
      const reused = fresh ? undefined : this.take(origin);
      const socket = reused ?? this.connect(url);
      let written = false;
      let received: Buffer | undefined;
      let settled = false;
      const finish = (error: ExchangeError | undefined, result?: ExchangeResult, keep = false): void => {
        if (settled) return;
        settled = true;
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        signal.removeEventListener('abort', onAbort);
        if (keep && written) this.release(origin, socket, result?.headers['keep-alive']);
        else socket.destroy();
        if (error !== undefined) reject(error);
        else resolve(result as ExchangeResult);
      };
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(signal.reason);
      };
      const onError = (error: ExchangeError): void => {
        if (reused !== undefined && !written && received === undefined) error.unsent = true;
        finish(error);
      };
      const onEnd = (): void => {
        // A close-delimited body ends here; anything else is an answer cut short.
        let done: ReturnType<typeof parse> | undefined;
        try {
          done = received === undefined ? undefined : parse(received, true);
        } catch (error) {
          finish(error as ExchangeError);
          return;
        }
        if (done !== undefined && done !== 'incomplete') {
          finish(undefined, done.result, false);
          return;
        }
        const error: ExchangeError = Object.assign(
          new Error(received === undefined ? 'socket hang up' : 'the connection closed before the answer was complete'),
          { code: 'ECONNRESET' },
        );
        if (reused !== undefined && !written && received === undefined) error.unsent = true;
        finish(error);
      };
      const onData = (chunk: Buffer): void => {
        received = received === undefined ? chunk : Buffer.concat([received, chunk]);
        let done: ReturnType<typeof parse>;
        try {
          done = parse(received, false);
        } catch (error) {
          finish(error as ExchangeError);
          return;
        }
        if (done === 'incomplete') return;
        if (done.rest > 0) {
          // Bytes after the answer: a protocol error; the answer stands, the socket does not.
          finish(undefined, done.result, false);
          return;
        }
        finish(undefined, done.result, done.keepAlive);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('end', onEnd);
      socket.on('close', onEnd);
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body, () => {
        written = true;
      });
      socket.uncork();
    });
  }

  /** Ends every socket, idle or busy. */
  close(): void {
    for (const list of this.idle.values()) for (const { timer } of list) clearTimeout(timer);
    this.idle.clear();
    for (const socket of this.all) socket.destroy();
    this.all.clear();
  }

  private connect(url: URL): net.Socket {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const secure = url.protocol === 'https:';
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    this.all.add(socket);
    socket.once('close', () => this.all.delete(socket));
    return socket;
  }

  /** The most recently used idle socket of `origin` that is still open, or `undefined`. */
  private take(origin: string): net.Socket | undefined {
    const list = this.idle.get(origin);
    while (list !== undefined && list.length > 0) {
      const { socket, timer, drop } = list.pop() as Idle;
      clearTimeout(timer);
      socket.off('data', drop).off('end', drop).off('error', ignore);
      if (socket.destroyed || socket.readableEnded) continue;
      socket.ref();
      return socket;
    }
    return undefined;
  }

  /**
   * Keeps the socket for the next request of `origin` for the idle time (or the shorter one a
   * `Keep-Alive: timeout=N` hint gives, less a second, as Node's agent does); an idle socket the
   * server closes, or that sends anything, is dropped.
   */
  private release(origin: string, socket: net.Socket, keepAlive: string | string[] | undefined): void {
    const hint = typeof keepAlive === 'string' ? /(?:^|,)\s*timeout=(\d+)/i.exec(keepAlive)?.[1] : undefined;
    const idleMs = hint === undefined ? this.idleMs : Math.min(this.idleMs, Number(hint) * 1000 - 1000);
    if (!(idleMs > 0) || socket.destroyed) {
      socket.destroy();
      return;
    }
    let list = this.idle.get(origin);
    if (list === undefined) this.idle.set(origin, (list = []));
    const drop = (): void => {
      clearTimeout(entry.timer);
      const at = list.indexOf(entry);
      if (at >= 0) list.splice(at, 1);
      socket.destroy();
    };
    const entry: Idle = { socket, timer: setTimeout(drop, idleMs), drop };
    entry.timer.unref();
    socket.on('error', ignore);
    socket.once('data', drop);
    socket.once('end', drop);
    socket.unref();
    list.push(entry);
  }
}

function ignore(): void {}

interface Parsed {
  result: ExchangeResult;
  keepAlive: boolean;
  /** Bytes left after the answer. */
  rest: number;
}

/**
 * The answer in `data` when it is complete: 'incomplete' while more is to come. `ended`: the
 * server closed the connection, which completes a body that has neither length nor chunks.
 */
function parse(data: Buffer, ended: boolean): Parsed | 'incomplete' {
  let start = 0;
  for (;;) {
    const headEnd = data.indexOf(CRLF2, start);
    if (headEnd < 0) return 'incomplete';
    const lines = data.toString('latin1', start, headEnd).split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (status === null) throw Object.assign(new Error(`not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`), { code: 'HPE_INVALID_CONSTANT' });
    const code = Number(status[2]);
    const headers = parseHeaders(lines);
    const bodyStart = headEnd + 4;
    // 1xx (100 Continue, 103 Early Hints): an interim answer, the real one follows.
    if (code >= 100 && code < 200) {
      start = bodyStart;
      continue;
    }
    const connection = String(headers.connection ?? '').toLowerCase();
    const keepAlive = status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    let body: Buffer;
    let end: number;
    const transfer = String(headers['transfer-encoding'] ?? '').toLowerCase();
    if (code === 204 || code === 304) {
      body = Buffer.alloc(0);
      end = bodyStart;
    } else if (transfer.endsWith('chunked')) {
      const chunked = dechunk(data, bodyStart);
      if (chunked === undefined) return 'incomplete';
      ({ body, end } = chunked);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (!Number.isSafeInteger(length) || length < 0) throw Object.assign(new Error(`bad content-length ${JSON.stringify(headers['content-length'])}`), { code: 'HPE_INVALID_CONTENT_LENGTH' });
      end = bodyStart + length;
      if (data.length < end) return 'incomplete';
      body = data.subarray(bodyStart, end);
    } else {
      if (!ended) return 'incomplete';
      body = data.subarray(bodyStart);
      end = data.length;
      return { result: { status: code, headers, text: decode(body, headers) }, keepAlive: false, rest: 0 };
    }
    return { result: { status: code, headers, text: decode(body, headers) }, keepAlive, rest: data.length - end };
  }
}

/** Header lines after the status line, as Node's `IncomingMessage.headers` holds them. */
function parseHeaders(lines: string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const known = headers[name];
    if (known === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(known)) known.push(value);
    else if (!SINGLE.has(name)) headers[name] = `${known}, ${value}`;
  }
  return headers as IncomingHttpHeaders;
}

/** A chunked body from `start`, when its last chunk (and trailers) are in. */
function dechunk(data: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.toString('latin1', at, lineEnd).split(';')[0] ?? '', 16);
    if (!Number.isSafeInteger(size) || size < 0) throw Object.assign(new Error('bad chunk size'), { code: 'HPE_INVALID_CHUNK_SIZE' });
    if (size === 0) {
      // No trailers: an empty line at once; else trailer lines, then the empty line.
      if (data.length < lineEnd + 4) return undefined;
      const end = data.toString('latin1', lineEnd, lineEnd + 4) === '\r\n\r\n' ? lineEnd : data.indexOf(CRLF2, lineEnd + 2);
      return end < 0 ? undefined : { body: Buffer.concat(parts), end: end + 4 };
    }
    const chunkStart = lineEnd + 2;
    if (data.length < chunkStart + size + 2) return undefined;
    parts.push(data.subarray(chunkStart, chunkStart + size));
    at = chunkStart + size + 2;
  }
}

/** The body as text, its `content-encoding` undone. */
function decode(body: Buffer, headers: IncomingHttpHeaders): string {
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  if (body.length === 0) return '';
  if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body).toString('utf8');
  if (encoding === 'deflate') return inflateSync(body).toString('utf8');
  if (encoding === 'br') return brotliDecompressSync(body).toString('utf8');
  return body.toString('utf8');
}

/** The request head: request line, host, the given headers and the body's length. */
export function requestHead(url: URL, headers: Record<string, string>, length: number): string {
  let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const name in headers) {
    const value = headers[name] as string;
    // Node refuses these too: a CR or LF in a value (an API key pasted with its newline) would split the header.
    if (INVALID_HEADER_CHAR.test(value) || INVALID_HEADER_CHAR.test(name)) {
      throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}content-length: ${length}\r\nconnection: keep-alive\r\n\r\n`;
}

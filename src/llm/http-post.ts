/**
 * One JSON POST over `node:http`/`node:https` with keep-alive sockets: the HTTP backend's wire.
 * Node's global `fetch` (undici behind WHATWG streams) and the SDK around it cost about 1.5 ms
 * of CPU per call; this costs about 0.3 ms (measured in a separate client process): the
 * transport was the largest single share of gemtraj's CPU per call. Only transport lives here:
 * status, headers and body text come back as they are, and http-backend.ts turns them into
 * answers or classified errors.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** What came back: status, headers (lower-case names, as Node gives them) and the decoded body. */
export interface PostResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * Idle keep-alive sockets are closed after this long (undici's default too): servers close
 * theirs after about 5 s (Node, uvicorn), and a request sent on a socket the server is closing
 * fails. A shorter `Keep-Alive: timeout=N` hint from the server wins (Node's agent reads it).
 */
const IDLE_SOCKET_MS = 4_000;

/**
 * Redirects followed when they keep the method and body (307, 308) and stay on the same origin:
 * the request carries the API key, which must not go to another host, port or scheme (`fetch`
 * drops it there; here such a redirect is returned as the answer, and so becomes an error).
 */
const MAX_REDIRECTS = 5;

/** Keep-alive agents for http: and https: URLs; {@link close} ends their sockets. */
export class HttpPoster {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, maxSockets: Infinity }),
    https: new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, maxSockets: Infinity }),
  };

  constructor(private readonly userAgent: string) {}

  /**
   * POSTs `body` (JSON text, or its UTF-8 bytes) to `url`. Rejects with the socket's error (`ECONNREFUSED`,
   * `ECONNRESET`, a TLS error) when no complete answer came, and with `signal`'s reason when
   * it aborted. A request whose reused keep-alive socket fails before the request was even
   * written (the server had closed it) is sent once more on a fresh socket. Once written, it
   * may be at work on the server: a failure then goes to the gateway, which retries it in the
   * open (counted, on the usage ledger), never silently here.
   */
  async post(url: URL, body: string | Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<PostResult> {
    let target = url;
    // Encoded once: its length is the content-length, and a resend or redirect sends it again.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    for (let redirects = 0; ; redirects++) {
      const result = await this.once(target, bytes, headers, signal, true);
      const location = result.headers.location;
      if ((result.status !== 307 && result.status !== 308) || typeof location !== 'string' || redirects >= MAX_REDIRECTS) return result;
      const next = new URL(location, target);
      if (next.origin !== target.origin) return result;
      target = next;
    }
  }

  private once(url: URL, body: Uint8Array, headers: Record<string, string>, signal: AbortSignal, mayResend: boolean): Promise<PostResult> {
    return new Promise<PostResult>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? this.agents.https : this.agents.http,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'accept-encoding': 'gzip, deflate, br',
          'user-agent': this.userAgent,
          ...headers,
          'content-length': String(body.length),
        },
      });
      let answered = false;
      const onAbort = (): void => {
        request.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => signal.removeEventListener('abort', onAbort);
      request.on('error', (error: NodeJS.ErrnoException) => {
        settle();
        if (signal.aborted) return;
        // The server closed an idle keep-alive socket as we reused it, before the request was out.
        if (mayResend && !answered && !request.writableFinished && request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
          this.once(url, body, headers, signal, false).then(resolve, reject);
          return;
        }
        reject(error);
      });
      request.on('response', (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        const stream = decoded(response);
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', (error) => {
          settle();
          response.destroy();
          if (!signal.aborted) reject(error);
        });
        // A connection dropped mid-body: an `error` (ECONNRESET "aborted"), or `close` before the end.
        response.on('error', (error) => {
          settle();
          if (!signal.aborted) reject(error);
        });
        response.on('close', () => {
          if (response.complete || signal.aborted) return;
          settle();
          reject(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
        });
        stream.on('end', () => {
          settle();
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      request.end(body);
    });
  }

  /** Ends the keep-alive sockets. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** The response body with its `content-encoding` undone. */
function decoded(response: http.IncomingMessage): Readable {
  const encoding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return response.pipe(createGunzip());
  if (encoding === 'deflate') return response.pipe(createInflate());
  if (encoding === 'br') return response.pipe(createBrotliDecompress());
  return response;
}

/**
 * One JSON POST with keep-alive sockets: the HTTP backend's wire. Node's global `fetch`
 * (undici behind WHATWG streams) and the SDK around it cost about 1.5 ms of CPU per call,
 * `node:http` 0.21–0.28 ms, the raw exchange of http1-exchange.ts 0.15 ms (a client process
 * alone): the transport was the largest single share of gemtraj's CPU per call. Only transport
 * lives here: status, headers and body text come back as they are, and http-backend.ts turns
 * them into answers or classified errors.
 */
import { ConnectionPool, requestHead, type ExchangeError, type ExchangeResult } from './http1-exchange.js';

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

/** Keep-alive sockets for http: and https: URLs; {@link close} ends them. */
export class HttpPoster {
  private readonly pool = new ConnectionPool(IDLE_SOCKET_MS);

  constructor(private readonly userAgent: string) {}

  /**
   * POSTs `body` (JSON text, or its UTF-8 bytes) to `url`. Rejects with the socket's error (`ECONNREFUSED`,
   * `ECONNRESET`, a TLS error) when no complete answer came, and with `signal`'s reason when
   * it aborted. A request whose reused keep-alive socket fails before the request was even
   * written (the server had closed it) is sent once more on a fresh socket. Once written, it
   * may be at work on the server: a failure then goes to the gateway, which retries it in the
   * open (counted, on the usage ledger), never silently here.
   */
  async post(url: URL, body: string | Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<ExchangeResult> {
    let target = url;
    // Encoded once: its length is the content-length, and a resend or redirect sends it again.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const all = {
      'content-type': 'application/json',
      accept: 'application/json',
      'accept-encoding': 'gzip, deflate, br',
      'user-agent': this.userAgent,
      ...headers,
    };
    for (let redirects = 0; ; redirects++) {
      const head = requestHead(target, all, bytes.length);
      const result = await this.pool.exchange(target, head, bytes, signal).catch((error: ExchangeError) => {
        // The server closed an idle keep-alive socket as we reused it, before the request was out.
        if (error.unsent === true && !signal.aborted) return this.pool.exchange(target, head, bytes, signal, true);
        throw error;
      });
      const location = result.headers.location;
      if ((result.status !== 307 && result.status !== 308) || typeof location !== 'string' || redirects >= MAX_REDIRECTS) return result;
      const next = new URL(location, target);
      if (next.origin !== target.origin) return result;
      target = next;
    }
  }

  /** Ends the keep-alive sockets. */
  close(): void {
    this.pool.close();
  }
}

/**
 * One HTTP/1.1 request and its response over a raw `net`/`tls` socket, and the keep-alive pool
 * those sockets return to. `node:http` spent 0.21–0.28 ms of CPU per request on its streams,
 * header objects and agent bookkeeping for what is here one write and one buffer scan (0.15 ms,
 * the answer's `JSON.parse` included; a client process alone against a local server): the
 * largest share of gemtraj's CPU per call against a fast endpoint. The answer is read by
 * http1-response.ts.
 * http-post.ts adds redirects and the resend of a request a closing idle socket never took.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ResponseParser, type ExchangeResult, type ParsedAnswer } from './http1-response.js';

export type { ExchangeResult } from './http1-response.js';

/** Why an exchange failed, and whether the request could not have reached the server. */
export interface ExchangeError extends Error {
  code?: string;
  /** True when a reused idle socket failed before the whole request was written: safe to send again. */
  unsent?: boolean;
}

const INVALID_HEADER_CHAR = /[\r\n\0]/;

/** An idle keep-alive socket, the timer that closes it, and its listener for the server closing it. */
interface Idle {
  socket: net.Socket;
  timer: NodeJS.Timeout;
  drop: () => void;
  /** The server closed the idle socket: {@link drop}, and learn its idle timeout. */
  closed: () => void;
}

/**
 * Share of the idle time after which a server was seen closing a keep-alive socket that this
 * pool keeps sockets idle for: a request sent just as the server closes the socket is lost
 * (ECONNRESET after it was written; not resent, see http-post.ts), and servers that send no
 * `Keep-Alive: timeout` hint (nginx `keepalive_timeout 1`, 75 s by default) close at a fixed idle
 * time that requests arriving at a steady pace keep hitting.
 */
const LEARNED_IDLE_SHARE = 0.75;
/**
 * A close after a shorter idle time teaches nothing: no server's idle timeout is that short, and
 * a server restarting (or a proxy recycling connections) closes sockets that were idle for
 * milliseconds, which would end keep-alive for the rest of the run.
 */
const MIN_LEARNED_IDLE_MS = 250;

/** Keep-alive sockets per origin; {@link close} ends them all. */
export class ConnectionPool {
  private readonly idle = new Map<string, Idle[]>();
  private readonly all = new Set<net.Socket>();
  /** Per origin, the shortest idle time after which its server closed a socket, times {@link LEARNED_IDLE_SHARE}. */
  private readonly learnedIdleMs = new Map<string, number>();

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
      let received = false;
      const parser = new ResponseParser();
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
        if (reused !== undefined && !written && !received) error.unsent = true;
        finish(error);
      };
      const onEnd = (): void => {
        // A close-delimited body ends here; anything else is an answer cut short.
        let done: ParsedAnswer | undefined;
        try {
          done = received ? parser.end() : undefined;
        } catch (error) {
          finish(error as ExchangeError);
          return;
        }
        if (done !== undefined) {
          finish(undefined, done.result, false);
          return;
        }
        const error: ExchangeError = Object.assign(
          new Error(!received ? 'socket hang up' : 'the connection closed before the answer was complete'),
          { code: 'ECONNRESET' },
        );
        if (reused !== undefined && !written && !received) error.unsent = true;
        finish(error);
      };
      const onData = (chunk: Buffer): void => {
        received = true;
        let done: ParsedAnswer | undefined;
        try {
          done = parser.push(chunk);
        } catch (error) {
          finish(error as ExchangeError);
          return;
        }
        if (done === undefined) return;
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
      // The callback also runs when the write failed (a reset already waiting on a reused
      // socket): that request never left, and must stay marked unsent so it is sent again.
      socket.write(body, (error) => {
        if (error == null) written = true;
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
      const { socket, timer, drop, closed } = list.pop() as Idle;
      clearTimeout(timer);
      socket.off('data', drop).off('end', closed).off('error', ignore);
      if (socket.destroyed || socket.readableEnded) continue;
      socket.ref();
      return socket;
    }
    return undefined;
  }

  /**
   * Keeps the socket for the next request of `origin` for the idle time (or the shorter one a
   * `Keep-Alive: timeout=N` hint gives, less a second, as Node's agent does, or the one learned
   * from the server closing idle sockets before); an idle socket the server closes, or that sends
   * anything, is dropped.
   */
  private release(origin: string, socket: net.Socket, keepAlive: string | string[] | undefined): void {
    const hint = typeof keepAlive === 'string' ? /(?:^|,)\s*timeout=(\d+)/i.exec(keepAlive)?.[1] : undefined;
    const idleMs = Math.min(
      hint === undefined ? this.idleMs : Math.min(this.idleMs, Number(hint) * 1000 - 1000),
      this.learnedIdleMs.get(origin) ?? Infinity,
    );
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
    const since = Date.now();
    const closed = (): void => {
      const idleFor = Date.now() - since;
      const learned = Math.floor(idleFor * LEARNED_IDLE_SHARE);
      if (idleFor >= MIN_LEARNED_IDLE_MS && learned < (this.learnedIdleMs.get(origin) ?? Infinity)) this.learnedIdleMs.set(origin, learned);
      drop();
    };
    const entry: Idle = { socket, timer: setTimeout(drop, idleMs), drop, closed };
    entry.timer.unref();
    socket.on('error', ignore);
    socket.once('data', drop);
    socket.once('end', closed);
    socket.unref();
    list.push(entry);
  }
}

function ignore(): void {}

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

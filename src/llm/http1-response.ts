/**
 * An HTTP/1.x answer read incrementally, as its bytes arrive. Each byte is looked at about once:
 * a large answer that comes in many small TCP segments (a remote endpoint's ~1.4 KiB reads)
 * used to be concatenated and parsed again from its first byte per segment, 6 s of CPU for a
 * 5 MB answer in 3,700 segments (bench/http1-segments-bench.mjs). Only what a JSON API answer
 * needs: Content-Length, chunked (trailers read and dropped) or close-delimited bodies, 1xx
 * answers skipped, gzip/deflate/br.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** What came back: status, headers (lower-case names, as Node gives them) and the decoded body. */
export interface ExchangeResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A complete answer. */
export interface ParsedAnswer {
  result: ExchangeResult;
  /** The connection may carry the next request. */
  keepAlive: boolean;
  /** Bytes received after the answer (a protocol error: the socket is not reused). */
  rest: number;
}

/**
 * Largest head (status line and headers) accepted. Node's own limit is 16 KiB; a server that
 * sends more without ending its head is not speaking HTTP to us, and is not buffered forever.
 */
const MAX_HEAD_BYTES = 64 * 1024;
/** Largest chunk-size or trailer line (a hexadecimal size with extensions is a few bytes). */
const MAX_LINE_BYTES = 8 * 1024;

const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
/** Headers Node keeps once when a server repeats them (as `IncomingMessage` does). */
const SINGLE = new Set(['content-type', 'content-length', 'location', 'retry-after', 'authorization', 'host', 'user-agent', 'etag', 'server', 'date', 'expires', 'last-modified']);

type Phase = 'head' | 'length' | 'close' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'done';

function protocolError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** One answer's parser: {@link push} each chunk as it comes, {@link end} when the server closed. */
export class ResponseParser {
  /** Received bytes not consumed yet: at most a head or one line, plus what came with it. */
  private pending: Buffer = EMPTY;
  /** Bytes of `pending` already searched for the end of the head. */
  private scanned = 0;
  private phase: Phase = 'head';
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private keepAlive = false;
  private readonly parts: Buffer[] = [];
  /** Body bytes (or bytes of the current chunk) still to come. */
  private remaining = 0;

  /** Adds received bytes: the answer once it is complete, `undefined` while more is to come. Throws on a protocol error. */
  push(chunk: Buffer): ParsedAnswer | undefined {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    return this.advance(false);
  }

  /** The server closed: the answer if that completes it (a close-delimited body), `undefined` if it was cut short. */
  end(): ParsedAnswer | undefined {
    return this.advance(true);
  }

  private advance(ended: boolean): ParsedAnswer | undefined {
    for (;;) {
      switch (this.phase) {
        case 'head': {
          const headEnd = this.pending.indexOf(CRLF2, Math.max(0, this.scanned - 3));
          if (headEnd < 0) {
            if (this.pending.length > MAX_HEAD_BYTES) throw protocolError(`the answer's head is longer than ${MAX_HEAD_BYTES} bytes`, 'HPE_HEADER_OVERFLOW');
            this.scanned = this.pending.length;
            return undefined;
          }
          this.head(this.pending.toString('latin1', 0, headEnd).split('\r\n'));
          this.pending = this.pending.subarray(headEnd + 4);
          this.scanned = 0;
          break;
        }
        case 'length':
        case 'chunk-data': {
          const take = Math.min(this.remaining, this.pending.length);
          if (take > 0) this.parts.push(this.pending.subarray(0, take));
          this.pending = this.pending.subarray(take);
          this.remaining -= take;
          if (this.remaining > 0) return undefined;
          this.phase = this.phase === 'length' ? 'done' : 'chunk-end';
          break;
        }
        case 'close':
          if (this.pending.length > 0) this.parts.push(this.pending);
          this.pending = EMPTY;
          if (!ended) return undefined;
          this.phase = 'done';
          break;
        case 'chunk-size': {
          const line = this.line();
          if (line === undefined) return undefined;
          const size = Number.parseInt(line.split(';')[0] ?? '', 16);
          if (!Number.isSafeInteger(size) || size < 0) throw protocolError('bad chunk size', 'HPE_INVALID_CHUNK_SIZE');
          this.remaining = size;
          this.phase = size === 0 ? 'trailer' : 'chunk-data';
          break;
        }
        case 'chunk-end':
          if (this.pending.length < 2) return undefined;
          if (this.pending[0] !== 13 || this.pending[1] !== 10) throw protocolError('a chunk does not end with CRLF', 'HPE_STRICT');
          this.pending = this.pending.subarray(2);
          this.phase = 'chunk-size';
          break;
        case 'trailer': {
          // Trailer lines are read and dropped; the empty line ends the answer.
          const line = this.line();
          if (line === undefined) return undefined;
          if (line === '') this.phase = 'done';
          break;
        }
        case 'done':
          return {
            result: { status: this.status, headers: this.headers, text: decode(this.body(), this.headers) },
            keepAlive: this.keepAlive,
            rest: this.pending.length,
          };
      }
    }
  }

  /** Reads the status line and headers, and picks how the body ends; a 1xx answer is skipped. */
  private head(lines: string[]): void {
    const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (status === null) throw protocolError(`not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`, 'HPE_INVALID_CONSTANT');
    const code = Number(status[2]);
    // 1xx (100 Continue, 103 Early Hints): an interim answer, the real one follows.
    if (code >= 100 && code < 200) return;
    const headers = parseHeaders(lines);
    this.status = code;
    this.headers = headers;
    const connection = String(headers.connection ?? '').toLowerCase();
    this.keepAlive = status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const transfer = String(headers['transfer-encoding'] ?? '').toLowerCase();
    if (code === 204 || code === 304) {
      this.phase = 'done';
    } else if (transfer.endsWith('chunked')) {
      this.phase = 'chunk-size';
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (!Number.isSafeInteger(length) || length < 0) throw protocolError(`bad content-length ${JSON.stringify(headers['content-length'])}`, 'HPE_INVALID_CONTENT_LENGTH');
      this.remaining = length;
      this.phase = 'length';
    } else {
      // Neither length nor chunks: the body ends when the server closes, and so does the connection.
      this.keepAlive = false;
      this.phase = 'close';
    }
  }

  /** The next CRLF-ended line of `pending` (consumed), or `undefined` until it is all in. */
  private line(): string | undefined {
    const end = this.pending.indexOf('\r\n', 0, 'latin1');
    if (end < 0) {
      if (this.pending.length > MAX_LINE_BYTES) throw protocolError(`a chunk line is longer than ${MAX_LINE_BYTES} bytes`, 'HPE_INVALID_CHUNK_SIZE');
      return undefined;
    }
    const line = this.pending.toString('latin1', 0, end);
    this.pending = this.pending.subarray(end + 2);
    return line;
  }

  private body(): Buffer {
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
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

/** The body as text, its `content-encoding` undone. */
function decode(body: Buffer, headers: IncomingHttpHeaders): string {
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  if (body.length === 0) return '';
  if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body).toString('utf8');
  // `deflate` is zlib-wrapped by the RFC; some servers send the raw stream (its first byte
  // cannot start a zlib header: the low nibble of a zlib stream's first byte is 8).
  if (encoding === 'deflate') return ((body[0] as number) & 0x0f) === 8 ? inflateSync(body).toString('utf8') : inflateRawSync(body).toString('utf8');
  if (encoding === 'br') return brotliDecompressSync(body).toString('utf8');
  return body.toString('utf8');
}

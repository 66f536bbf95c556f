/**
 * The incremental HTTP/1.x answer parser (src/llm/http1-response.ts): an answer must read the
 * same however the network splits it (remote endpoints deliver ~1.4 KiB segments, loopback
 * 64 KiB ones), and a server that never ends its head must not be buffered forever.
 */
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ResponseParser, type ParsedAnswer } from '../src/llm/http1-response.js';

const json = JSON.stringify({ choices: [{ message: { content: 'héllo wörld '.repeat(50) } }] });
const body = Buffer.from(json);

/** Feeds `wire` in pieces of `size` bytes; the answer, and the piece it completed on. */
function feed(wire: Buffer, size: number, ended = false): { answer: ParsedAnswer | undefined; at: number } {
  const parser = new ResponseParser();
  for (let at = 0; at < wire.length; at += size) {
    const answer = parser.push(wire.subarray(at, at + size));
    if (answer !== undefined) return { answer, at: at + size };
  }
  return { answer: ended ? parser.end() : undefined, at: wire.length };
}

function chunked(data: Buffer, piece: number, trailer = ''): Buffer {
  const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')];
  for (let at = 0; at < data.length; at += piece) {
    const part = data.subarray(at, at + piece);
    parts.push(Buffer.from(`${part.length.toString(16)};ext=1\r\n`), part, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\n${trailer}\r\n`));
  return Buffer.concat(parts);
}

describe('ResponseParser', () => {
  const gz = gzipSync(body);
  const answers: Array<[string, Buffer, boolean]> = [
    ['content-length', Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), body]), true],
    ['100 Continue then content-length', Buffer.concat([Buffer.from(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]), true],
    ['chunked with extensions', chunked(body, 97), true],
    ['chunked with trailers', chunked(body, 300, 'X-Trailer: 1\r\nX-Other: 2\r\n'), true],
    ['gzip, chunked', Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n'), chunked(gz, 50).subarray(17)]), true],
    ['close-delimited HTTP/1.0', Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n'), body]), false],
    // `deflate` means zlib-wrapped, but some servers send the raw stream: both are read.
    ['deflate (zlib)', Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: ${deflateSync(body).length}\r\n\r\n`), deflateSync(body)]), true],
    ['deflate (raw)', Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: ${deflateRawSync(body).length}\r\n\r\n`), deflateRawSync(body)]), true],
  ];
  for (const [name, wire, keepAlive] of answers) {
    it(`reads a ${name} answer the same whatever the segment size`, () => {
      for (const size of [1, 2, 3, 7, 1400, wire.length]) {
        const { answer } = feed(wire, size, !keepAlive);
        expect(answer?.result.text, `${name} in ${size}-byte pieces`).toBe(json);
        expect(answer?.result.status).toBe(200);
        expect(answer?.keepAlive).toBe(keepAlive);
        expect(answer?.rest).toBe(0);
      }
    });
  }

  it('completes a close-delimited answer only when the server closes, and a cut one never', () => {
    const wire = Buffer.from(`HTTP/1.1 200 OK\r\n\r\n${json}`);
    expect(feed(wire, 5).answer).toBeUndefined();
    expect(feed(wire, 5, true).answer?.result.text).toBe(json);
    const cut = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length + 1}\r\n\r\n${json}`);
    expect(feed(cut, 5, true).answer).toBeUndefined();
    expect(feed(chunked(body, 100).subarray(0, -2), 3, true).answer).toBeUndefined();
  });

  it('counts the bytes after the answer, which make the connection unusable', () => {
    const wire = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n`);
    expect(feed(wire, wire.length).answer?.rest).toBe(17);
  });

  it('refuses an endless head and a chunk that does not end in CRLF instead of buffering on', () => {
    const parser = new ResponseParser();
    parser.push(Buffer.from('HTTP/1.1 200 OK\r\n'));
    const line = Buffer.from(`X-Pad: ${'a'.repeat(1000)}\r\n`);
    expect(() => {
      for (let i = 0; i < 100; i++) parser.push(line);
    }).toThrow(expect.objectContaining({ code: 'HPE_HEADER_OVERFLOW' }));
    expect(() => feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n'), 4)).toThrow(expect.objectContaining({ code: 'HPE_STRICT' }));
    expect(() => feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), 4)).toThrow(expect.objectContaining({ code: 'HPE_INVALID_CHUNK_SIZE' }));
  });

  it('reads headers with odd spacing and case, and repeated ones as Node does', () => {
    const wire = Buffer.from('HTTP/1.1 429\r\ncontent-TYPE:application/json\r\nX-Dup: a\r\nx-dup:   b  \r\nRetry-After: 1\r\nretry-after: 9\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length :2\r\n\r\n{}');
    const answer = feed(wire, 3).answer;
    expect(answer?.result.status).toBe(429);
    expect(answer?.result.headers).toMatchObject({ 'content-type': 'application/json', 'x-dup': 'a, b', 'retry-after': '1', 'set-cookie': ['a=1', 'b=2'] });
    expect(answer?.result.text).toBe('{}');
  });
});

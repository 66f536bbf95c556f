/**
 * The raw HTTP/1.1 exchange under the chat wire (src/llm/http1-exchange.ts): the answer shapes
 * real servers send (Content-Length, chunked, close-delimited, compressed, 1xx first), keep-alive
 * reuse, and the failures a client must report rather than hide.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpPoster } from '../src/llm/http-post.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A raw TCP server: `respond` gets each request's head and body and writes what it likes. */
async function rawServer(respond: (socket: net.Socket, request: string, n: number) => void): Promise<{ url: URL; connections: () => number }> {
  let connections = 0;
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      for (;;) {
        const headEnd = data.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(data.slice(0, headEnd))?.[1] ?? 0);
        if (data.length < headEnd + 4 + length) return;
        const request = data.slice(0, headEnd + 4 + length);
        data = data.slice(headEnd + 4 + length);
        respond(socket, request, ++n);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions?api-version=1`), connections: () => connections };
}

function poster(): HttpPoster {
  const p = new HttpPoster('test/1');
  closers.push(async () => p.close());
  return p;
}

const signal = (): AbortSignal => new AbortController().signal;

/** A self-signed certificate for localhost (test only; no client trusts it). */
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDFktyAtDsHNMO5u4
1X39646V9sXoGS+Q45JH3d2O2FahRANCAAQ3QgArOSdI96oyei7a6QR5uwIIBD4y
AMW5eA1K+yVz3UFN6vXq7lCbitXG01v2IpGYJ0J2sSA/TF78MdLvnt+/
-----END PRIVATE KEY-----`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIUeuXGagwvGQ4tuIpbeoW0naTHzZAwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMTA2NDI1NFoYDzIxMjYxMTA3
MDY0MjU0WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ3QgArOSdI96oyei7a6QR5uwIIBD4yAMW5eA1K+yVz3UFN6vXq7lCb
itXG01v2IpGYJ0J2sSA/TF78MdLvnt+/o1MwUTAdBgNVHQ4EFgQULEhVpoOdJ3VE
3xuHQH+eAB/8RRMwHwYDVR0jBBgwFoAULEhVpoOdJ3VE3xuHQH+eAB/8RRMwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA0VyaS36cFxiT2GSTQ1bG
WHWhknJd7h6IL07lCQVTHy4CIQC8QxP55Aed88Z7LmInEeS8OeK8+SRk/uPuzahc
RkUXHg==
-----END CERTIFICATE-----`;

describe('HTTP/1.1 exchange', () => {
  it('sends one well-formed request and reuses the connection for the next', async () => {
    const requests: string[] = [];
    const server = await rawServer((socket, request) => {
      requests.push(request);
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Twice: a\r\nX-Twice: b\r\n\r\n{"ok":"é"}'.replace('11', String(Buffer.byteLength('{"ok":"é"}'))));
    });
    const p = poster();
    const first = await p.post(server.url, '{"q":"ü"}', { authorization: 'Bearer k' }, signal());
    const second = await p.post(server.url, '{}', { authorization: 'Bearer k' }, signal());
    expect(first).toMatchObject({ status: 200, text: '{"ok":"é"}' });
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['x-twice']).toBe('a, b');
    expect(second.status).toBe(200);
    expect(server.connections()).toBe(1);
    const [head, body] = (requests[0] as string).split('\r\n\r\n');
    expect(head?.split('\r\n')[0]).toBe('POST /v1/chat/completions?api-version=1 HTTP/1.1');
    expect(head).toContain(`\r\nhost: ${server.url.host}\r\n`);
    expect(head).toContain('\r\nauthorization: Bearer k\r\n');
    expect(head).toContain(`\r\ncontent-length: ${Buffer.byteLength('{"q":"ü"}')}`);
    expect(Buffer.from(body as string, 'latin1').toString('utf8')).toBe('{"q":"ü"}');
  });

  it('reads chunked, close-delimited, compressed answers and skips 1xx ones', async () => {
    const json = '{"choices":[{"message":{"content":"hi"}}]}';
    const server = await rawServer((socket, _request, n) => {
      if (n === 1) socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n${json.slice(0, 5)}\r\n${(json.length - 5).toString(16)};ext=1\r\n${json.slice(5)}\r\n0\r\nX-Trailer: t\r\n\r\n`);
      else if (n === 2) socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gzipSync(json).length}\r\n\r\n`), gzipSync(json)]));
      else if (n === 3) socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: ${brotliCompressSync(json).length}\r\n\r\n`), brotliCompressSync(json)]));
      else if (n === 4) socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: ${deflateSync(json).length}\r\n\r\n`), deflateSync(json)]));
      else socket.end(`HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n${json}`);
    });
    const p = poster();
    for (let i = 0; i < 5; i++) expect((await p.post(server.url, '{}', {}, signal())).text).toBe(json);
    // The 1.0 answer closed its connection; the next request opens another.
    expect((await p.post(server.url, '{}', {}, signal())).status).toBe(200);
  });

  it('reports an answer cut short and a request dropped by the server as ECONNRESET, not as an answer', async () => {
    const server = await rawServer((socket, _request, n) => {
      if (n === 1) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":');
      else socket.destroy();
    });
    const p = poster();
    await expect(p.post(server.url, '{}', {}, signal())).rejects.toMatchObject({ code: 'ECONNRESET', message: expect.stringMatching(/before the answer was complete/) });
    await expect(p.post(server.url, '{}', {}, signal())).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('gives up on a server that never ends its head instead of buffering it until the timeout', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      for (let i = 0; i < 200; i++) socket.write(`X-Pad-${i}: ${'a'.repeat(1000)}\r\n`);
    });
    await expect(poster().post(server.url, '{}', {}, signal())).rejects.toMatchObject({ code: 'HPE_HEADER_OVERFLOW' });
  });

  it('returns a 413 the server sends before reading the body, and does not reuse that connection', async () => {
    // nginx `client_max_body_size`: the answer comes after the head, while the body is still being sent.
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.on('error', () => {});
      socket.once('data', () => {
        const body = '{"error":{"message":"request too large","type":"invalid_request_error"}}';
        socket.end(`HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        socket.resume();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`);
    const p = poster();
    const big = Buffer.alloc(5 * 1024 * 1024, 0x61);
    for (let i = 0; i < 2; i++) expect((await p.post(url, big, {}, signal())).status).toBe(413);
    expect(connections).toBe(2);
  });

  it('opens a fresh connection when the server closed the idle one', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
      // Closes the connection once idle, as servers do after their keep-alive timeout.
      setTimeout(() => socket.end(), 20);
    });
    const p = poster();
    await p.post(server.url, '{}', {}, signal());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await p.post(server.url, '{}', {}, signal())).status).toBe(200);
    expect(server.connections()).toBe(2);
  });

  it('sends again on a fresh connection when the write to a reused one fails at once (the server reset it while idle)', async () => {
    // The server runs in a worker thread, so that it resets the idle connection while this
    // thread is busy: the reset is waiting in the kernel when the next request is written.
    const worker = new Worker(
      `const net = require('node:net');
       const { parentPort } = require('node:worker_threads');
       let connections = 0;
       const server = net.createServer((socket) => {
         connections++;
         socket.on('error', () => {});
         socket.on('data', () => {
           socket.write('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}');
           if (connections === 1) setTimeout(() => socket.resetAndDestroy(), 30);
         });
       });
       server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
       parentPort.on('message', () => parentPort.postMessage(connections));`,
      { eval: true },
    );
    closers.push(async () => void (await worker.terminate()));
    const port = await new Promise<number>((resolve) => worker.once('message', resolve));
    const url = new URL(`http://127.0.0.1:${port}/v1/chat/completions`);
    const p = poster();
    expect((await p.post(url, '{}', {}, signal())).status).toBe(200);
    // Busy for 300 ms: the reset arrives meanwhile and is not yet seen by the pool.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    expect((await p.post(url, '{}', {}, signal())).status).toBe(200);
    worker.postMessage('connections?');
    expect(await new Promise((resolve) => worker.once('message', resolve))).toBe(2);
  });

  it('learns an idle timeout the server does not announce, so as not to send just as it closes', async () => {
    // nginx `keepalive_timeout 1`: the server closes a connection idle for 300 ms, with no
    // `Keep-Alive: timeout` hint. A request sent at that moment is lost (ECONNRESET once written).
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
      clearTimeout((socket as net.Socket & { idle?: NodeJS.Timeout }).idle);
      (socket as net.Socket & { idle?: NodeJS.Timeout }).idle = setTimeout(() => socket.end(), 300);
    });
    const p = poster();
    await p.post(server.url, '{}', {}, signal());
    await new Promise((resolve) => setTimeout(resolve, 400));
    await p.post(server.url, '{}', {}, signal());
    expect(server.connections()).toBe(2);
    // Idle for most of the server's timeout: a fresh connection, not one about to close.
    await new Promise((resolve) => setTimeout(resolve, 260));
    await p.post(server.url, '{}', {}, signal());
    expect(server.connections()).toBe(3);
    // Requests closer together still share a connection.
    await p.post(server.url, '{}', {}, signal());
    expect(server.connections()).toBe(3);
  });

  it('aborts a hanging request with the signal’s reason and names a refused connection', async () => {
    const server = await rawServer(() => {});
    const p = poster();
    const controller = new AbortController();
    const pending = p.post(server.url, '{}', {}, controller.signal);
    setTimeout(() => controller.abort(new Error('timed out here')), 30);
    await expect(pending).rejects.toThrow('timed out here');
    const closed = await rawServer(() => {});
    const port = closed.url.port;
    await closers.pop()?.();
    await expect(p.post(new URL(`http://127.0.0.1:${port}/v1`), '{}', {}, signal())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses a header value that would split the request, as node:http does', async () => {
    const server = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    await expect(poster().post(server.url, '{}', { authorization: 'Bearer k\r\nx-injected: 1' }, signal())).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
  });

  it('talks to a node:http server with keep-alive, as real endpoints are', async () => {
    let sockets = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: JSON.parse(body) as unknown, url: req.url }));
      });
    });
    server.on('connection', () => sockets++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`);
    const p = poster();
    const answers = await Promise.all([1, 2, 3].map((i) => p.post(url, JSON.stringify({ i }), {}, signal())));
    expect(answers.map((a) => JSON.parse(a.text) as unknown)).toEqual([1, 2, 3].map((i) => ({ echo: { i }, url: '/v1/chat/completions' })));
    await p.post(url, '{"i":4}', {}, signal());
    expect(sockets).toBe(3);
  });

  it('speaks TLS to https: URLs and checks the certificate', async () => {
    const server = https.createServer({ key: TEST_KEY, cert: TEST_CERT }, (_req, res) => res.end('{}'));
    let handshakes = 0;
    server.on('secureConnection', () => handshakes++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const url = new URL(`https://localhost:${(server.address() as AddressInfo).port}/v1/chat/completions`);
    // Self-signed: refused, as the SDK and node:https refuse it.
    await expect(poster().post(url, '{}', {}, signal())).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(handshakes).toBe(0);
  });
});

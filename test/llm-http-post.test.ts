/**
 * The chat wire (src/llm/http-post.ts) where it differs from a plain client: the API key never
 * follows a redirect to another origin, and a request that reached the server is never sent
 * again behind the gateway's back (the gateway retries it in the open, on the usage ledger).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpPoster } from '../src/llm/http-post.js';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: http.RequestListener): Promise<URL> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`);
}

const json = (res: http.ServerResponse, body: unknown): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('HttpPoster', () => {
  it('does not take the API key to another origin on a 307, and still follows one on the same origin', async () => {
    const seen: Array<string | undefined> = [];
    const other = await serve((req, res) => {
      seen.push(req.headers.authorization);
      json(res, { from: 'other' });
    });
    // "localhost" is another origin than 127.0.0.1 even on the same machine.
    const elsewhere = `http://localhost:${other.port}/v1/chat/completions`;
    const origin = await serve((req, res) => {
      req.resume();
      if (req.url === '/moved') return json(res, { from: 'moved', auth: req.headers.authorization });
      res.writeHead(307, { location: req.url === '/v1/chat/completions' ? elsewhere : '/moved' });
      res.end();
    });
    const poster = new HttpPoster('test');
    try {
      const away = await poster.post(origin, '{}', { authorization: 'Bearer sk-SECRET' }, new AbortController().signal);
      expect(away.status).toBe(307);
      expect(seen).toEqual([]);
      const same = await poster.post(new URL('/same', origin), '{}', { authorization: 'Bearer sk-SECRET' }, new AbortController().signal);
      expect(same.status).toBe(200);
      expect(JSON.parse(same.text)).toEqual({ from: 'moved', auth: 'Bearer sk-SECRET' });
    } finally {
      poster.close();
    }
  });

  it('does not resend a request the server received and then dropped', async () => {
    let received = 0;
    const url = await serve((req, res) => {
      received++;
      req.resume();
      req.on('end', () => {
        // The second request is at work on the server when its connection dies.
        if (received === 2) setTimeout(() => req.socket.destroy(), 100);
        else json(res, {});
      });
    });
    const poster = new HttpPoster('test');
    try {
      await poster.post(url, '{}', {}, new AbortController().signal);
      await expect(poster.post(url, '{"paid":true}', {}, new AbortController().signal)).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(received).toBe(2);
    } finally {
      poster.close();
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import {
  errorReply,
  faultMix,
  jsonReply,
  lastUserContent,
  startMockServer,
  type MockServer,
} from '../src/testing/mock-server.js';

let server: MockServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
    body: JSON.stringify(body),
  });
}

const chat = { model: 'm', messages: [{ role: 'user', content: 'hello there' }] };

describe('mock server', () => {
  it('answers a chat completion and records the request', async () => {
    server = await startMockServer({ handler: (req) => jsonReply({ echo: lastUserContent(req) }) });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const res = await post(server.url, chat);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }>; usage: { prompt_tokens: number } };
    expect(JSON.parse(body.choices[0]!.message.content)).toEqual({ echo: 'hello there' });
    expect(body.choices[0]!.finish_reason).toBe('stop');
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(server.count).toBe(1);
    expect(server.requests[0]!.body.model).toBe('m');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer x');
  });

  it('serves GET /v1/models and 404s unknown models when `models` is set', async () => {
    server = await startMockServer({ models: ['known'] });
    const list = (await (await fetch(`${server.url}/models`)).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((m) => m.id)).toEqual(['known']);
    const res = await post(server.url, { ...chat, model: 'other' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });

  it('sends statuses with headers, raw and truncated bodies, and resets', async () => {
    const replies = [
      errorReply(429, 'slow down', { headers: { 'retry-after': '1' } }),
      { kind: 'raw' as const, body: '{not json' },
      { kind: 'truncated' as const },
      { kind: 'reset' as const },
    ];
    server = await startMockServer({ handler: (_req, i) => replies[i]! });
    const r429 = await post(server.url, chat);
    expect(r429.status).toBe(429);
    expect(r429.headers.get('retry-after')).toBe('1');
    const raw = await post(server.url, chat);
    expect(await raw.text()).toBe('{not json');
    const truncated = await post(server.url, chat);
    expect(truncated.status).toBe(200);
    await expect(truncated.json()).rejects.toThrow();
    await expect(post(server.url, chat)).rejects.toThrow();
  });

  it('close() ends hanging requests at once', async () => {
    server = await startMockServer({ handler: () => ({ kind: 'hang' }) });
    const pending = post(server.url, chat).then(
      () => 'answered',
      () => 'failed',
    );
    while (server.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await server.close();
    server = undefined;
    expect(await pending).toBe('failed');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('applies latency', async () => {
    server = await startMockServer({ latencyMs: 60 });
    const started = Date.now();
    await (await post(server.url, chat)).json();
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('faultMix is deterministic per seed and request index and respects the rate', async () => {
    const decide = async (seed: number): Promise<string[]> => {
      const handler = faultMix({ rate: 0.3, seed, kinds: ['500', '429', 'empty'] });
      const kinds: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const reply = await handler({ method: 'POST', path: '/v1/chat/completions', headers: {}, body: chat, receivedAt: 0 }, i);
        kinds.push(reply.kind === 'status' ? String(reply.status) : reply.kind === 'text' && reply.content === '' ? 'empty' : 'ok');
      }
      return kinds;
    };
    const a = await decide(7);
    expect(await decide(7)).toEqual(a);
    expect(await decide(8)).not.toEqual(a);
    const faults = a.filter((k) => k !== 'ok').length;
    expect(faults).toBeGreaterThan(240);
    expect(faults).toBeLessThan(360);
    for (const kind of ['500', '429', 'empty']) expect(a).toContain(kind);
  });

  it('faultMix length cuts the handler content and counts injections', async () => {
    const handler = faultMix({ rate: 1, kinds: ['length'] }, () => jsonReply({ items: [1, 2, 3, 4, 5, 6] }));
    const reply = await handler({ method: 'POST', path: '/', headers: {}, body: chat, receivedAt: 0 }, 0);
    expect(reply).toMatchObject({ kind: 'text', finishReason: 'length' });
    expect(reply.kind === 'text' && reply.content).toBe('{"items":[1');
    expect(handler.injected.length).toBe(1);
  });

  it('handles many concurrent requests', async () => {
    server = await startMockServer({ recordRequests: false, latencyMs: 5, jitterMs: 5 });
    const results = await Promise.all(Array.from({ length: 200 }, () => post(server!.url, chat).then((r) => r.status)));
    expect(results.every((s) => s === 200)).toBe(true);
    expect(server.count).toBe(200);
    expect(server.requests).toHaveLength(0);
    expect(server.maxInFlight).toBeGreaterThan(1);
  });
});

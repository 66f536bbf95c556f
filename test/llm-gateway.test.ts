import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { caught } from './helpers/caught.js';
import { z as zod } from 'zod';
import { FatalEndpointError, TransientEndpointError } from '../src/llm/errors.js';
import { createGateway, type Gateway, type GatewayEvent, type GatewayInit } from '../src/llm/gateway.js';
import { backoffDelay, parseRetryAfter } from '../src/llm/retry.js';
import type { CompletionRequest } from '../src/llm/types.js';
import {
  errorReply,
  jsonReply,
  startMockServer,
  textReply,
  type MockHandler,
  type MockReply,
  type MockServer,
} from '../src/testing/mock-server.js';

const SECRET = 'sk-test-SECRET-123456789';
const dir = mkdtempSync(join(tmpdir(), 'gemtraj-llm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: MockServer[] = [];
const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function mock(handler: MockHandler, options: { latencyMs?: number; models?: string[] } = {}): Promise<MockServer> {
  const server = await startMockServer({ handler, ...options });
  servers.push(server);
  return server;
}

function gateway(baseUrls: string[], init: Partial<GatewayInit> = {}): Gateway {
  const g = createGateway({
    baseUrls,
    apiKey: SECRET,
    model: 'mock-model',
    timeoutMs: 1000,
    backoffBaseMs: 5,
    backoffMaxMs: 50,
    maxRetries: 3,
    ...init,
  });
  gateways.push(g);
  return g;
}

const req: CompletionRequest = { stage: 'generate', messages: [{ role: 'user', content: 'Say hi.' }] };

describe('complete()', () => {
  it('returns text, finish reason, usage and model', async () => {
    const server = await mock(() => ({ kind: 'text', content: 'hi', usage: { prompt_tokens: 10, completion_tokens: 2 } }));
    const g = gateway([server.url]);
    const result = await g.complete({ ...req, temperature: 0.2, max_tokens: 50, seed: 3 });
    expect(result).toEqual({ text: 'hi', finishReason: 'stop', usage: { prompt_tokens: 10, completion_tokens: 2 }, model: 'mock-model', cached: false });
    expect(server.requests[0]!.body).toMatchObject({ model: 'mock-model', temperature: 0.2, max_tokens: 50, seed: 3 });
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('uses per-stage models and sends a placeholder key when none is set', async () => {
    const server = await mock(() => textReply('ok'));
    const g = gateway([server.url], { apiKey: undefined, models: { judge: 'judge-model' } });
    expect(g.modelFor('judge')).toBe('judge-model');
    expect(g.modelFor('extract')).toBe('mock-model');
    await g.complete({ ...req, stage: 'judge' });
    expect(server.requests[0]!.body.model).toBe('judge-model');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer none');
  });

  it('returns tool calls when the model makes them', async () => {
    const server = await mock(() => ({
      kind: 'text',
      content: null,
      toolCalls: [{ id: 'call_1', name: 'lookup_order', arguments: '{"order_id":"A17"}' }],
    }));
    const g = gateway([server.url]);
    const tools = [{ type: 'function' as const, function: { name: 'lookup_order', parameters: { type: 'object' } } }];
    const result = await g.complete({ ...req, tools });
    expect(result).toMatchObject({
      text: '',
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"A17"}' } }],
    });
    expect(server.requests[0]!.body.tools).toEqual(tools);
  });

  it('an aborted call rejects at once, without counting as a failure', async () => {
    const server = await mock(() => ({ kind: 'hang' }));
    const g = gateway([server.url], { timeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await caught(() => g.complete({ ...req, signal: controller.signal }));
    expect(error.name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(g.usage().totals.failed_calls).toBe(0);
  });
});

describe('retries', () => {
  it('honours Retry-After on 429', async () => {
    const server = await mock((_r, i) =>
      i === 0 ? errorReply(429, 'Rate limit reached', { code: 'rate_limit_exceeded', headers: { 'retry-after': '1' } }) : textReply('ok'),
    );
    const g = gateway([server.url], { backoffMaxMs: 5000 });
    const events: GatewayEvent[] = [];
    g.onEvent((e) => events.push(e));
    const started = Date.now();
    expect((await g.complete(req)).text).toBe('ok');
    const gap = server.requests[1]!.receivedAt - server.requests[0]!.receivedAt;
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(events.find((e) => e.type === 'retry')).toMatchObject({ status: 429, delay_ms: 1000 });
    expect(g.stats().rateLimited).toBe(1);
  });

  it('caps Retry-After by backoffMaxMs', async () => {
    const server = await mock((_r, i) => (i === 0 ? errorReply(429, 'slow', { headers: { 'retry-after': '30' } }) : textReply('ok')));
    const g = gateway([server.url], { backoffMaxMs: 100 });
    const started = Date.now();
    await g.complete(req);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('retries a 500 then succeeds', async () => {
    const server = await mock((_r, i) => (i === 0 ? errorReply(500, 'boom', { type: 'server_error' }) : textReply('ok')));
    const g = gateway([server.url]);
    expect((await g.complete(req)).text).toBe('ok');
    expect(server.count).toBe(2);
    expect(g.stats().retries).toBe(1);
    expect(g.usage().totals).toMatchObject({ calls: 1, retries: 1, failed_calls: 0 });
  });

  it('retries resets, truncated bodies, malformed JSON and 200s without choices', async () => {
    const faults: MockReply[] = [
      { kind: 'reset' },
      { kind: 'truncated' },
      { kind: 'raw', body: '{"choices": [' },
      { kind: 'raw', body: '{"object": "error"}' },
    ];
    const server = await mock((_r, i) => faults[i] ?? textReply('finally'));
    const g = gateway([server.url], { maxRetries: 4 });
    expect((await g.complete(req)).text).toBe('finally');
    expect(server.count).toBe(5);
  });

  it('a hanging request times out, is retried, then fails with TransientEndpointError', async () => {
    const server = await mock(() => ({ kind: 'hang' }));
    const g = gateway([server.url], { timeoutMs: 200, maxRetries: 2 });
    const started = Date.now();
    const error = await caught(() => g.complete(req));
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect((error as TransientEndpointError).attempts).toBe(3);
    expect(error.message).toContain('timed out');
    expect(server.count).toBe(3);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(g.stats().timeouts).toBe(3);
    expect(g.usage().totals.failed_calls).toBe(1);
  });

  it('parses Retry-After forms and computes full-jitter backoff', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '150', 'retry-after': '2' }))).toBe(150);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(backoffDelay(3, { baseMs: 100, maxMs: 10_000 }, () => 0.999)).toBe(799);
    expect(backoffDelay(20, { baseMs: 100, maxMs: 10_000 }, () => 0.5)).toBe(5000);
    expect(backoffDelay(0, { baseMs: 100, maxMs: 1000, retryAfterMs: 5000 })).toBe(1000);
  });
});

describe('fatal errors', () => {
  it('401 → one clear FatalEndpointError, no retry, no key in the message', async () => {
    const server = await mock(() => errorReply(401, `Incorrect API key provided: ${SECRET}.`, { code: 'invalid_api_key' }));
    const g = gateway([server.url]);
    const error = await caught(() => g.complete(req));
    expect(error).toBeInstanceOf(FatalEndpointError);
    expect((error as FatalEndpointError).kind).toBe('auth');
    expect((error as FatalEndpointError).status).toBe(401);
    expect(error.message).toMatch(/Authentication failed/);
    expect(error.message).toContain('OPENAI_API_KEY');
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('SECRET-123456789');
    expect(server.count).toBe(1);
  });

  it('429 insufficient_quota is not retried', async () => {
    const server = await mock(() =>
      errorReply(429, 'You exceeded your current quota, please check your plan and billing details.', {
        code: 'insufficient_quota',
        type: 'insufficient_quota',
      }),
    );
    const g = gateway([server.url]);
    const error = await caught(() => g.complete(req));
    expect(error).toMatchObject({ name: 'FatalEndpointError', kind: 'quota', status: 429 });
    expect(error.message).toContain('quota');
    expect(server.count).toBe(1);
  });

  it('404 says the model is unknown at that base URL', async () => {
    const server = await mock(() => textReply('never'), { models: ['other-model'] });
    const g = gateway([server.url], { model: 'gpt-nonexistent' });
    const error = await caught(() => g.complete(req));
    expect(error).toMatchObject({ name: 'FatalEndpointError', kind: 'not_found' });
    expect(error.message).toContain('Model "gpt-nonexistent" is unknown at');
    expect(error.message).toContain(server.url);
    expect(server.count).toBe(1);
  });

  it('403 is fatal', async () => {
    const server = await mock(() => errorReply(403, 'Country not supported'));
    const error = await caught(() => gateway([server.url]).complete(req));
    expect(error).toMatchObject({ kind: 'forbidden', status: 403 });
  });

  it('400 rejecting response_format carries the server message and the mode hint', async () => {
    const server = await mock(() => errorReply(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."));
    const g = gateway([server.url]);
    const error = await caught(() =>
      g.structured({ ...req, schema: zod.object({ a: zod.string() }), schemaName: 'x' }),
    );
    expect(error).toMatchObject({ name: 'FatalEndpointError', kind: 'bad_request', status: 400 });
    expect(error.message).toContain("'response_format' of type 'json_schema' is not supported");
    expect(error.message).toContain('--structured-output json_object');
    expect(server.count).toBe(1);
  });

  it('the API key never appears in any error message', async () => {
    const replies: MockReply[] = [
      errorReply(401, `bad key ${SECRET}`),
      errorReply(400, `Invalid request with key=${SECRET}`),
      errorReply(500, `internal: Authorization: Bearer ${SECRET}`),
      { kind: 'raw', status: 502, body: `<html>proxy saw ${SECRET}</html>`, contentType: 'text/html' },
    ];
    for (const reply of replies) {
      const server = await mock(() => reply);
      const g = gateway([server.url], { maxRetries: 1 });
      const error = await caught(() => g.complete(req));
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain('123456789');
      expect(String(error.stack)).not.toContain(SECRET);
    }
  });
});

describe('response cache', () => {
  it('identical requests in flight at once share one paid call', async () => {
    const server = await mock(() => textReply('shared'), { latencyMs: 50 });
    const g = gateway([server.url], { cachePath: join(dir, 'inflight', 'cache.sqlite') });
    const results = await Promise.all([g.complete(req), g.complete(req), g.complete(req)]);
    expect(server.count).toBe(1);
    expect(results.map((r) => r.text)).toEqual(['shared', 'shared', 'shared']);
    expect(results.filter((r) => r.cached)).toHaveLength(2);
    expect(g.usage().totals).toMatchObject({ calls: 1, cached_calls: 2 });
    // A different sample of the same prompt is a different request.
    await g.complete({ ...req, sampleIndex: 1 });
    expect(server.count).toBe(2);
  });

  it('a second gateway over the same cache file answers without calling the server', async () => {
    const server = await mock(() => ({ kind: 'text', content: 'cached answer', usage: { prompt_tokens: 100, completion_tokens: 20 } }));
    const cachePath = join(dir, 'a', 'cache.sqlite');
    const prices = { 'mock-model': { prompt_per_million: 1, completion_per_million: 2 } };
    const first = gateway([server.url], { cachePath, prices });
    expect((await first.complete(req)).cached).toBe(false);
    await first.close();

    const second = gateway([server.url], { cachePath, prices });
    const result = await second.complete(req);
    expect(result).toMatchObject({ text: 'cached answer', cached: true, usage: { prompt_tokens: 100, completion_tokens: 20 } });
    expect(server.count).toBe(1);
    const totals = second.usage().totals;
    expect(totals).toMatchObject({ calls: 0, cached_calls: 1, prompt_tokens: 0, cost_usd: 0, saved_prompt_tokens: 100, saved_completion_tokens: 20 });
    expect(totals.saved_cost_usd).toBeCloseTo(140 / 1e6, 12);
  });

  it('sampleIndex, sampling params and model change the key; failures are not cached', async () => {
    let fail = true;
    const server = await mock(() => (fail ? errorReply(500, 'x') : textReply('ok')));
    const cachePath = join(dir, 'b.sqlite');
    const g = gateway([server.url], { cachePath, maxRetries: 0 });
    await expect(g.complete(req)).rejects.toBeInstanceOf(TransientEndpointError);
    fail = false;
    await g.complete(req);
    expect(server.count).toBe(2);
    await g.complete(req);
    expect(server.count).toBe(2);
    await g.complete({ ...req, sampleIndex: 1 });
    expect(server.count).toBe(3);
    await g.complete({ ...req, sampleIndex: 1 });
    await g.complete({ ...req, sampleIndex: 0 });
    expect(server.count).toBe(3);
    await g.complete({ ...req, temperature: 0.7 });
    expect(server.count).toBe(4);
    await g.complete({ ...req, stage: 'judge' }); // same model, same messages: a hit
    expect(server.count).toBe(4);
  });

  it('caches structured re-asks too', async () => {
    const server = await mock((_r, i) => (i === 0 ? jsonReply({ a: 1 }) : jsonReply({ a: 'ok' })));
    const cachePath = join(dir, 'c.sqlite');
    const schema = zod.object({ a: zod.string() });
    const first = gateway([server.url], { cachePath });
    expect(await first.structured({ ...req, schema, schemaName: 's' })).toMatchObject({ ok: true, attempts: 2 });
    const second = gateway([server.url], { cachePath });
    expect(await second.structured({ ...req, schema, schemaName: 's' })).toMatchObject({ ok: true, attempts: 2, value: { a: 'ok' } });
    expect(server.count).toBe(2);
    expect(second.usage().totals.cached_calls).toBe(2);
  });
});

describe('usage accounting', () => {
  it('sums calls, tokens and cost per stage and model', async () => {
    const server = await mock(() => ({ kind: 'text', content: 'x', usage: { prompt_tokens: 1000, completion_tokens: 500 } }));
    const g = gateway([server.url], {
      models: { judge: 'judge-model' },
      prices: { 'mock-model': { prompt_per_million: 2, completion_per_million: 8 } },
    });
    const events: GatewayEvent[] = [];
    g.onEvent((e) => events.push(e));
    await g.complete(req);
    await g.complete({ ...req, stage: 'extract' });
    await g.complete({ ...req, stage: 'judge' });
    const usage = g.usage();
    expect(usage.by_stage.generate!['mock-model']).toMatchObject({ calls: 1, prompt_tokens: 1000, completion_tokens: 500 });
    expect(usage.by_stage.generate!['mock-model']!.cost_usd).toBeCloseTo(0.006, 10);
    expect(usage.by_stage.judge!['judge-model']).toMatchObject({ calls: 1, cost_usd: 0 });
    expect(usage.by_model['mock-model']).toMatchObject({ calls: 2, prompt_tokens: 2000 });
    expect(usage.totals).toMatchObject({ calls: 3, prompt_tokens: 3000, completion_tokens: 1500 });
    expect(usage.totals.cost_usd).toBeCloseTo(0.012, 10);
    expect(usage.unpriced_models).toEqual(['judge-model']);
    const calls = events.filter((e) => e.type === 'call');
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({ stage: 'generate', cached: false, prompt_tokens: 1000, completion_tokens: 500 });
    expect((calls[0] as { cost_usd: number }).cost_usd).toBeCloseTo(0.006, 10);
  });
});

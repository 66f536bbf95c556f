import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { BackendError, type ChatResponse } from '../src/llm/backend.js';
import { DEFAULT_CACHE_FILE, ResponseCache, cacheKey } from '../src/llm/cache.js';
import { FatalEndpointError, RequestRejectedError, TransientEndpointError } from '../src/llm/errors.js';
import { gatewayFromConfig } from '../src/llm/from-config.js';
import { createGateway, type Gateway, type GatewayEvent, type GatewayInit } from '../src/llm/gateway.js';
import type { CompletionRequest } from '../src/llm/types.js';
import { RUN_FILES } from '../src/pipeline/run-dir.js';
import type { Message, Tool } from '../src/records.js';
import { FakeBackend, type FakeScript } from '../src/testing/fake-backend.js';

const dir = mkdtempSync(join(tmpdir(), 'gemtraj-backend-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

const ok = (text: string, extra: Partial<ChatResponse> = {}): ChatResponse => ({ text, finishReason: 'stop', ...extra });

function gateway(script: FakeScript, init: Partial<GatewayInit> = {}): { gateway: Gateway; backend: FakeBackend } {
  const backend = new FakeBackend(script);
  // Zero backoff: retries happen at once, no timers in the test.
  const g = createGateway({ model: 'fake-model', backend, backoffBaseMs: 0, backoffMaxMs: 0, maxRetries: 3, ...init });
  gateways.push(g);
  return { gateway: g, backend };
}

const ask = (content: string, extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  stage: 'extract',
  messages: [{ role: 'user', content }],
  ...extra,
});

let cacheNo = 0;
const cachePath = (): string => join(dir, `cache-${++cacheNo}.sqlite`);

describe('gateway over a custom backend', () => {
  it('needs no base URL or key, sends the wire request, and closes the backend', async () => {
    const { gateway: g, backend } = gateway(() => ok('hello', { model: 'fake-model-2025', usage: { prompt_tokens: 7, completion_tokens: 2 } }));
    const result = await g.complete(ask('hi', { temperature: 0.2, max_tokens: 50, tools: [] }));
    expect(result).toEqual({ text: 'hello', finishReason: 'stop', usage: { prompt_tokens: 7, completion_tokens: 2 }, model: 'fake-model-2025', cached: false });
    // Unset parameters and an empty tool list are left out, not sent as undefined or [].
    expect(backend.requests).toEqual([{ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, max_tokens: 50 }]);
    expect(g.stats().replicas).toEqual([]);
    await g.close();
    expect(backend.closed).toBe(true);
  });

  it('serves a repeated request from the cache without calling the backend', async () => {
    const { gateway: g, backend } = gateway(() => ok('cached answer', { usage: { prompt_tokens: 10, completion_tokens: 4 } }), { cachePath: cachePath() });
    const first = await g.complete(ask('same prompt'));
    const second = await g.complete(ask('same prompt'));
    expect(backend.requests).toHaveLength(1);
    expect(first.cached).toBe(false);
    expect(second).toEqual({ ...first, cached: true });
    // A different sample index is a different answer.
    await g.complete(ask('same prompt', { sampleIndex: 1 }));
    expect(backend.requests).toHaveLength(2);
    expect(g.usage().totals).toMatchObject({ calls: 2, cached_calls: 1, saved_prompt_tokens: 10, saved_completion_tokens: 4 });
  });

  it('keeps the cache key of existing run directories', async () => {
    // An entry written under the key recipe every earlier version used must still be found.
    const path = cachePath();
    const tool: Tool = { type: 'function', function: { name: 'lookup', description: 'd', parameters: { type: 'object', properties: {} } } };
    const call = { id: 'call_1', type: 'function' as const, function: { name: 'lookup', arguments: '{}' } };
    // Messages already in wire shape, so the record and wire forms are the same objects.
    const messages: Message[] = [
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'call_1', content: '{}' },
    ];
    const params = { tools: [tool], temperature: 0.5, top_p: 0.9, max_tokens: 100, seed: 3, sampleIndex: 2 };
    const key = cacheKey({ model: 'fake-model', messages, ...params });
    expect(key).toBe('64a8ca85bab34fbb2989d89c273866df4c29ce22f8edb2144c157bcc3e8b9c58');
    const seeded = new ResponseCache(path);
    seeded.put(key, { text: 'from an old run', finishReason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1 }, model: 'fake-model' });
    seeded.close();

    const { gateway: g, backend } = gateway(() => ok('paid again'), { cachePath: path });
    const result = await g.complete({ stage: 'generate', messages, ...params });
    expect(result).toMatchObject({ text: 'from an old run', cached: true });
    expect(backend.requests).toHaveLength(0);
  });

  it('shares one backend call between identical concurrent requests', async () => {
    let answer: (response: ChatResponse) => void = () => {};
    const held = new Promise<ChatResponse>((resolve) => {
      answer = resolve;
    });
    const { gateway: g, backend } = gateway(() => held, { cachePath: cachePath() });
    const a = g.complete(ask('duplicate'));
    const b = g.complete(ask('duplicate'));
    await new Promise((resolve) => setImmediate(resolve));
    answer(ok('once'));
    const [ra, rb] = await Promise.all([a, b]);
    expect(backend.requests).toHaveLength(1);
    expect([ra.cached, rb.cached]).toEqual([false, true]);
    expect(rb.text).toBe('once');
  });

  it('retries a retryable failure and counts rate limits and timeouts', async () => {
    const failures = [
      BackendError.retry('fake://a', 'HTTP 429: slow down', { status: 429, rateLimited: true }),
      BackendError.retry('fake://a', 'timeout: request timed out', { timedOut: true, replicaFault: true }),
    ];
    const { gateway: g, backend } = gateway(
      (_request, n) => {
        const failure = failures[n - 1];
        if (failure !== undefined) throw failure;
        return ok('third time');
      },
      { concurrency: 4 },
    );
    const events: GatewayEvent[] = [];
    g.onEvent((event) => events.push(event));
    const result = await g.complete(ask('flaky'));
    expect(result.text).toBe('third time');
    expect(backend.requests).toHaveLength(3);
    expect(events.filter((e) => e.type === 'retry').map((e) => (e.type === 'retry' ? [e.attempt, e.status] : []))).toEqual([
      [1, 429],
      [2, undefined],
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'call', attempts: 3, cached: false });
    expect(g.stats()).toMatchObject({ retries: 2, rateLimited: 1, timeouts: 1, limit: 2, maxLimit: 4 });
    expect(g.usage().totals.retries).toBe(2);
  });

  it('gives up after the retries with a transient error naming where it went', async () => {
    const { gateway: g, backend } = gateway(() => {
      throw BackendError.retry('fake://replica-9', 'HTTP 503: overloaded', { status: 503 });
    }, { maxRetries: 2 });
    const error = await g.complete(ask('never')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect((error as TransientEndpointError).message).toBe(
      'Gave up after 3 attempts at fake://replica-9 (model "fake-model", stage extract): HTTP 503: overloaded',
    );
    expect((error as TransientEndpointError).status).toBe(503);
    expect(backend.requests).toHaveLength(3);
    expect(g.usage().totals.failed_calls).toBe(1);
  });

  it('stops every later call after a fatal failure, without calling the backend', async () => {
    const fatal = new FatalEndpointError('Authentication failed at fake://a', 401, 'auth');
    const { gateway: g, backend } = gateway(() => {
      throw new BackendError({ action: 'fatal', error: fatal }, 'fake://a');
    });
    const events: GatewayEvent[] = [];
    g.onEvent((event) => events.push(event));
    await expect(g.complete(ask('one'))).rejects.toBe(fatal);
    await expect(g.complete(ask('two'))).rejects.toBe(fatal);
    await expect(g.structured({ ...ask('three'), schema: (await import('zod')).z.object({}), schemaName: 'x' })).rejects.toBe(fatal);
    expect(backend.requests).toHaveLength(1);
    expect(events.filter((e) => e.type === 'failed').every((e) => e.type === 'failed' && e.fatal)).toBe(true);
    expect(g.usage().totals.failed_calls).toBe(3);
  });

  it('rejects one refused request and goes on with the next', async () => {
    const refused = new RequestRejectedError('the request is too long for model "fake-model"', 400, 'llm_context_length');
    const { gateway: g, backend } = gateway((request) => {
      if (request.messages[0]?.content === 'too long') throw new BackendError({ action: 'reject', error: refused }, 'fake://a');
      return ok('fine');
    });
    await expect(g.complete(ask('too long'))).rejects.toBe(refused);
    expect((await g.complete(ask('short'))).text).toBe('fine');
    expect(backend.requests).toHaveLength(2);
    expect(g.stats()).toMatchObject({ retries: 0, circuitOpen: false });
  });

  it('accounts usage and cost per stage and model, estimating when the backend does not know', async () => {
    const { gateway: g } = gateway(
      (request) => (request.model === 'judge-model' ? ok('12345678') : ok('x', { usage: { prompt_tokens: 1000, completion_tokens: 500 } })),
      {
        models: { judge: 'judge-model' },
        prices: { 'fake-model': { prompt_per_million: 2, completion_per_million: 8 } },
      },
    );
    await g.complete(ask('a'));
    await g.complete(ask('b'));
    // No usage from the backend: 4 characters a token, prompt 'abcdefgh' → 2, answer → 2.
    const judged = await g.complete({ stage: 'judge', messages: [{ role: 'user', content: 'abcdefgh' }] });
    expect(judged.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2 });
    const usage = g.usage();
    expect(usage.by_stage.extract?.['fake-model']).toMatchObject({ calls: 2, prompt_tokens: 2000, completion_tokens: 1000, cost_usd: 0.012 });
    expect(usage.by_model['judge-model']).toMatchObject({ calls: 1, prompt_tokens: 2, completion_tokens: 2, cost_usd: 0 });
    expect(usage.totals).toMatchObject({ calls: 3, prompt_tokens: 2002, completion_tokens: 1002 });
    expect(usage.unpriced_models).toEqual(['judge-model']);
  });

  it('passes an abort through without retrying', async () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const { gateway: g, backend } = gateway(() => {
      controller.abort(reason);
      throw reason;
    });
    await expect(g.complete(ask('abort me', { signal: controller.signal }))).rejects.toBe(reason);
    expect(backend.requests).toHaveLength(1);
    expect(g.stats().retries).toBe(0);
  });

  it('still requires base URLs without a backend', () => {
    expect(() => createGateway({ model: 'm', apiKey: undefined })).toThrow(/baseUrls must hold at least one URL/);
  });
});

describe('gatewayFromConfig', () => {
  it('builds a gateway over a given backend from the config alone, cache in the run directory', async () => {
    const out = join(dir, 'run-a');
    const config = loadConfig({ env: {}, flags: { model: 'cfg-model', models: { judge: 'cfg-judge' }, max_retries: 0 } });
    const backend = new FakeBackend(() => ok('from config'));
    const g = gatewayFromConfig(config, { outDir: out, env: {}, backend });
    gateways.push(g);
    expect(g.modelFor('extract')).toBe('cfg-model');
    expect(g.modelFor('judge')).toBe('cfg-judge');
    await g.complete(ask('q'));
    expect((await g.complete(ask('q'))).cached).toBe(true);
    expect(backend.requests).toHaveLength(1);
    // The default cache file is the run directory's.
    const cache = new ResponseCache(join(out, RUN_FILES.cache));
    expect(cache.size()).toBe(1);
    cache.close();
  });

  it('reads the endpoint from the given environment when no backend is given', () => {
    const config = loadConfig({ env: {}, flags: {} });
    expect(() => gatewayFromConfig(config, { env: {} })).toThrow(/needs an OpenAI-compatible model endpoint/);
    const g = gatewayFromConfig(config, { env: { OPENAI_API_KEY: 'sk-test-fromconfig-1' } });
    gateways.push(g);
    expect(g.modelFor('extract')).toBe('gpt-4.1-mini');
    expect(g.stats().replicas.map((r) => r.baseUrl)).toEqual(['https://api.openai.com/v1']);
  });

  it('names the same cache file as the run directory layout', () => {
    expect(RUN_FILES.cache).toBe(DEFAULT_CACHE_FILE);
  });
});

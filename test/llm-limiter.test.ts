import { afterEach, describe, expect, it, vi } from 'vitest';
import { FatalEndpointError, TransientEndpointError } from '../src/llm/errors.js';
import { createGateway, type Gateway, type GatewayInit } from '../src/llm/gateway.js';
import { AdaptiveLimiter, CircuitBreaker, TokenBucket } from '../src/llm/limiter.js';
import type { CompletionRequest } from '../src/llm/types.js';
import { errorReply, faultMix, jsonReply, startMockServer, textReply, type MockHandler, type MockServer } from '../src/testing/mock-server.js';
import { createServer } from 'node:net';
import { z } from 'zod';

const servers: MockServer[] = [];
const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function mock(handler: MockHandler, latencyMs = 0): Promise<MockServer> {
  const server = await startMockServer({ handler, latencyMs });
  servers.push(server);
  return server;
}

/**
 * Holds the first `total` requests in groups of `size`: a group is answered once it is full
 * (or once all `total` have arrived), so the server sees `size` requests in flight together
 * however slowly a loaded machine sends them. Later requests pass straight through. A group
 * that never fills is let go after 10 s: the test then fails on its assertion, not a hang.
 */
function inGroups(size: number, total: number, then: MockHandler): MockHandler {
  let arrived = 0;
  let group: { waiting: number; open: () => void; opened: Promise<void> } | undefined;
  const newGroup = () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const timer = setTimeout(open, 10_000);
    void opened.then(() => clearTimeout(timer));
    return { waiting: 0, open, opened };
  };
  return async (request, index) => {
    if (arrived < total) {
      arrived++;
      group ??= newGroup();
      const mine = group;
      mine.waiting++;
      if (mine.waiting === size || arrived === total) {
        group = undefined;
        mine.open();
      }
      await mine.opened;
    }
    return then(request, index);
  };
}

function gateway(baseUrls: string[], init: Partial<GatewayInit> = {}): Gateway {
  const g = createGateway({
    baseUrls,
    apiKey: 'sk-test-SECRET-123456789',
    model: 'mock-model',
    // Far above any answer time on a loaded machine: these tests are not about timeouts.
    timeoutMs: 10_000,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    maxRetries: 3,
    ...init,
  });
  gateways.push(g);
  return g;
}

const req: CompletionRequest = { stage: 'filter', messages: [{ role: 'user', content: 'x'.repeat(400) }] };

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('AdaptiveLimiter', () => {
  it('never exceeds the limit and serves waiters in order', async () => {
    const limiter = new AdaptiveLimiter({ max: 2 });
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const order: number[] = [];
    const c = limiter.acquire().then((p) => (order.push(3), p));
    const d = limiter.acquire().then((p) => (order.push(4), p));
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(2);
    a.release();
    a.release(); // double release is harmless
    (await c).release();
    b.release();
    (await d).release();
    expect(order).toEqual([3, 4]);
    expect(limiter.inFlight).toBe(0);
  });

  it('halves once per generation on 429 and adds one per N successes', async () => {
    const limiter = new AdaptiveLimiter({ max: 16, increaseEvery: 2 });
    const permits = await Promise.all(Array.from({ length: 16 }, () => limiter.acquire()));
    for (const p of permits) {
      p.release();
      limiter.onRateLimited(p); // a storm of 429 from requests that were all in flight together
    }
    expect(limiter.limit).toBe(8);
    const next = await limiter.acquire();
    next.release();
    limiter.onRateLimited(next);
    expect(limiter.limit).toBe(4);
    for (let i = 0; i < 8; i++) limiter.onSuccess();
    expect(limiter.limit).toBe(8);
    for (let i = 0; i < 100; i++) limiter.onSuccess();
    expect(limiter.limit).toBe(16);
  });

  it('an aborted waiter leaves the queue', async () => {
    const limiter = new AdaptiveLimiter({ max: 1 });
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    expect(limiter.queued).toBe(0);
    held.release();
    expect(limiter.inFlight).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('starts full, then paces at the per-minute rate', async () => {
    vi.useFakeTimers();
    try {
      const bucket = new TokenBucket(600); // 10 per second
      for (let i = 0; i < 600; i++) await bucket.take(1);
      let done = false;
      const taken = bucket.take(2).then(() => (done = true));
      await vi.advanceTimersByTimeAsync(199);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await taken;
      expect(done).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('goes into debt when real usage exceeds the estimate', () => {
    const bucket = new TokenBucket(1000);
    bucket.adjust(1500);
    expect(bucket.available).toBeLessThan(0);
    bucket.adjust(-5000);
    expect(bucket.available).toBeLessThanOrEqual(1000);
  });
});

describe('CircuitBreaker', () => {
  it('opens when more than maxErrorRate of the window failed', () => {
    const breaker = new CircuitBreaker({ maxErrorRate: 0.5, window: 10 });
    for (let i = 0; i < 10; i++) breaker.record(i % 2 === 1); // 5 of 10: not more than half
    expect(breaker.isOpen).toBe(false);
    breaker.record(true); // slides out a success: 6 of 10
    expect(breaker.isOpen).toBe(true);
    expect(() => breaker.check()).toThrow(FatalEndpointError);
  });
});

describe('gateway flow control', () => {
  it('reaches the configured concurrency and never more', async () => {
    // Groups of 8 held together: 8 in flight at once is certain; a ninth would show.
    const server = await mock(inGroups(8, 40, () => textReply('ok')));
    const g = gateway([server.url], { concurrency: 8 });
    await Promise.all(Array.from({ length: 40 }, () => g.complete({ ...req, sampleIndex: Math.random() })));
    expect(server.count).toBe(40);
    expect(server.maxInFlight).toBe(8);
  });

  it('AIMD: a 429 storm shrinks the limit, then successes bring it back', async () => {
    let storm = true;
    // The first wave is held until all 16 arrived: they are in flight together when refused.
    const server = await mock(
      inGroups(16, 16, () => (storm ? errorReply(429, 'Rate limit', { headers: { 'retry-after-ms': '10' } }) : textReply('ok'))),
    );
    const g = gateway([server.url], { concurrency: 16, maxRetries: 2, adaptiveIncreaseEvery: 1 });
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => g.complete(req)));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof TransientEndpointError)).toBe(true);
    expect(g.stats().limit).toBeLessThanOrEqual(4);
    expect(g.stats().rateLimited).toBe(48);

    storm = false;
    const maxBefore = server.maxInFlight;
    for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: 16 }, (_, j) => g.complete({ ...req, sampleIndex: i * 100 + j })));
    expect(g.stats().limit).toBe(16);
    expect(maxBefore).toBe(16);
  });

  it('the circuit breaker opens and stops further calls with one message', async () => {
    const server = await mock(() => errorReply(503, 'overloaded'));
    const g = gateway([server.url], { maxRetries: 0, errorWindow: 4, maxErrorRate: 0.5 });
    for (let i = 0; i < 3; i++) await expect(g.complete(req)).rejects.toBeInstanceOf(TransientEndpointError);
    const count = server.count;
    const error = await g.complete(req).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalEndpointError);
    expect((error as FatalEndpointError).kind).toBe('circuit_open');
    expect((error as Error).message).toMatch(/3 of the last 3 requests failed/);
    expect(server.count).toBe(count);
    expect(g.stats().circuitOpen).toBe(true);
  });

  it('spreads load over replicas and skips a dead one', async () => {
    // Requests held in groups of 8 (over both servers): the least-loaded pick then alternates
    // between them whatever the machine's speed, instead of whichever answered first.
    const group = inGroups(8, 60, () => textReply('x'));
    const replica = (name: string): MockHandler => async (r, i) => {
      await group(r, i);
      return textReply(name);
    };
    const a = await mock(replica('a'));
    const b = await mock(replica('b'));
    const dead = `http://127.0.0.1:${await deadPort()}/v1`;
    const g = gateway([a.url, dead, b.url], { concurrency: 8, replicaCooldownMs: 60_000 });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => g.complete({ ...req, sampleIndex: i })));
    expect(results).toHaveLength(60);
    expect(a.count + b.count).toBe(60);
    expect(a.count).toBeGreaterThan(15);
    expect(b.count).toBeGreaterThan(15);
    const deadStats = g.stats().replicas.find((r) => r.baseUrl === dead)!;
    expect(deadStats.coolingDown).toBe(true);
    // Only the first wave tried it; afterwards it is skipped.
    expect(deadStats.sent).toBeLessThanOrEqual(8);
    expect(g.usage().totals.failed_calls).toBe(0);
  });

  it('rpm paces requests', async () => {
    const server = await mock(() => textReply('ok'));
    const g = gateway([server.url], { rpm: 120 }); // 2 per second once the initial bucket is spent
    // Measured from before the burst: a slow machine can only make this longer, never shorter.
    const started = Date.now();
    await Promise.all(Array.from({ length: 120 }, (_, i) => g.complete({ ...req, sampleIndex: i })));
    await g.complete({ ...req, sampleIndex: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('tpm charges the real usage after the call', async () => {
    // 1000 tokens per second; the first answer reports a whole minute's worth of tokens.
    const server = await mock((_r, i) => ({
      kind: 'text',
      content: 'ok',
      usage: { prompt_tokens: 100, completion_tokens: i === 0 ? 59_900 : 1 },
    }));
    const g = gateway([server.url], { tpm: 60_000 });
    // Measured from before the first call, for the same reason as above.
    const started = Date.now();
    await g.complete(req);
    await g.complete({ ...req, sampleIndex: 1 }); // estimate 100 tokens: waits ~100 ms for them
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it('survives a seeded fault mix with structured calls', async () => {
    const handler = faultMix(
      { rate: 0.3, seed: 7, retryAfterMs: 5, kinds: ['429', '429_no_retry_after', '500', '503', 'reset', 'truncated', 'schema_invalid', 'empty', 'length', 'hang'] },
      () => jsonReply({ items: ['a', 'b', 'c'] }),
    );
    const server = await mock(handler);
    // The timeout only has to catch the injected hangs; 1 s leaves answers room on a loaded machine.
    const g = gateway([server.url], { concurrency: 16, timeoutMs: 1000, maxRetries: 8, maxErrorRate: 1 });
    const schema = z.object({ items: z.array(z.string()) });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => g.structured({ ...req, sampleIndex: i, schema, schemaName: 'items', maxRepairs: 4 })),
    );
    // A cut-off answer fails its request at once (no re-ask); every other fault is recovered.
    const failed = results.filter((r) => !r.ok);
    for (const r of failed) expect(r.ok ? '' : r.error).toContain('finish_reason "length"');
    expect(failed.length).toBeLessThanOrEqual(handler.injected.length);
    expect(results.length - failed.length).toBeGreaterThanOrEqual(90);
    expect(handler.injected.none).toBeGreaterThan(0);
    expect(handler.injected.hang + handler.injected.reset + handler.injected.truncated).toBeGreaterThan(0);
    expect(g.stats().retries).toBeGreaterThan(0);
  });
});

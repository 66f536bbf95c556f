/**
 * The usage ledger (src/llm/usage-ledger.ts) through the gateway: every process's usage adds up,
 * cache hits are not paid calls, a request that died with its process is an unconfirmed call,
 * a torn last line is dropped, and an older run.json's usage is taken as the base.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendError } from '../src/llm/backend.js';
import { createGateway } from '../src/llm/gateway.js';
import { TransientEndpointError } from '../src/llm/errors.js';
import { emptyFigures, type UsageReport } from '../src/llm/usage.js';
import { USAGE_LEDGER_FILE } from '../src/llm/usage-ledger.js';
import { FakeBackend } from '../src/testing/fake-backend.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function runDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-ledger-'));
  dirs.push(dir);
  return dir;
}

const answer = () => new FakeBackend(() => ({ text: 'ok', finishReason: 'stop', usage: { prompt_tokens: 10, completion_tokens: 2 } }));
const ask = (content: string) => ({ stage: 'extract' as const, messages: [{ role: 'user' as const, content }] });

function open(dir: string, backend = answer()) {
  return createGateway({
    model: 'm',
    backend,
    cachePath: join(dir, 'cache.sqlite'),
    usageLedgerPath: join(dir, USAGE_LEDGER_FILE),
    prices: { m: { prompt_per_million: 1, completion_per_million: 2 } },
    maxRetries: 1,
    backoffBaseMs: 0,
    backoffMaxMs: 0,
  });
}

describe('usage ledger', () => {
  it('sums the usage of every process; cache hits are not paid', async () => {
    const dir = runDir();
    const first = open(dir);
    await first.complete(ask('a'));
    await first.complete(ask('b'));
    await first.close();
    const second = open(dir);
    await second.complete(ask('a')); // cached
    await second.complete(ask('c'));
    const total = second.runUsage()?.totals;
    await second.close();
    expect(total).toMatchObject({ calls: 3, cached_calls: 1, unconfirmed_calls: 0, prompt_tokens: 30, completion_tokens: 6, saved_prompt_tokens: 10 });
    expect(total?.cost_usd).toBeCloseTo(3 * (10 + 2 * 2) / 1e6, 12);
    expect(second.usage().totals.calls).toBe(1); // this process's own
  });

  it('puts an answer on the ledger before the next request takes its place on the wire', async () => {
    // Otherwise a kill between the two lines leaves one more request "in flight" than the
    // concurrency allows, and an answer already read counts as unconfirmed.
    const dir = runDir();
    const gateway = createGateway({
      model: 'm',
      backend: answer(),
      usageLedgerPath: join(dir, USAGE_LEDGER_FILE),
      concurrency: 1,
      maxRetries: 0,
    });
    await Promise.all([ask('a'), ask('b'), ask('c')].map((request) => gateway.complete(request)));
    await gateway.close();
    const events = readFileSync(join(dir, USAGE_LEDGER_FILE), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { e: string }).e);
    expect(events).toEqual(['sent', 'paid', 'sent', 'paid', 'sent', 'paid']);
  });

  it('counts a request sent by a process that died as an unconfirmed call, and drops a torn line', async () => {
    const dir = runDir();
    // A process that sent a request and died: its ledger has the `sent` line only.
    const hanging = open(dir, new FakeBackend(() => new Promise(() => undefined)));
    void hanging.complete(ask('a'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    appendFileSync(join(dir, USAGE_LEDGER_FILE), '{"e":"paid","s":"extr'); // a line cut short
    const next = open(dir);
    await next.complete(ask('b'));
    const total = next.runUsage()?.totals;
    await next.close();
    expect(total).toMatchObject({ calls: 2, unconfirmed_calls: 1, prompt_tokens: 10 });
    // The torn tail was cut off: every line is whole JSON.
    const lines = readFileSync(join(dir, USAGE_LEDGER_FILE), 'utf8').split('\n').filter(Boolean);
    expect(() => lines.map((l) => JSON.parse(l) as unknown)).not.toThrow();
  });

  it('counts failed attempts as retries and failures, not as paid calls', async () => {
    const dir = runDir();
    const failing = new FakeBackend(() => {
      throw BackendError.retry('http://x', 'HTTP 500', { status: 500 });
    });
    const g = open(dir, failing);
    await expect(g.complete(ask('a'))).rejects.toBeInstanceOf(TransientEndpointError);
    await g.close();
    const again = open(dir);
    const total = again.runUsage()?.totals;
    await again.close();
    expect(total).toMatchObject({ calls: 0, unconfirmed_calls: 0, retries: 1, failed_calls: 1 });
  });

  it('takes the usage of an older run.json as its base once', async () => {
    const dir = runDir();
    const before: UsageReport = {
      by_stage: { extract: { m: { ...emptyFigures(), calls: 5, prompt_tokens: 50 } } },
      by_model: { m: { ...emptyFigures(), calls: 5, prompt_tokens: 50 } },
      totals: { ...emptyFigures(), calls: 5, prompt_tokens: 50 },
      unpriced_models: [],
    };
    const g = open(dir);
    expect(g.runUsage(before)?.totals.calls).toBe(5);
    await g.complete(ask('a'));
    expect(g.runUsage(before)?.totals.calls).toBe(6);
    await g.close();
    const h = open(dir);
    expect(h.runUsage(before)?.totals).toMatchObject({ calls: 6, prompt_tokens: 60 });
    await h.close();
  });
});

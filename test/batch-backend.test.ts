/**
 * The Batch API backend against the mock Files + Batches server: requests collected into one
 * wave, split under the line and byte limits, answers into the response cache, failed and
 * expired lines retried in the next wave or rejected with the provider's error, a crash while
 * polling (or between upload and the creation answer) resumed without submitting any request
 * twice, and `gemtraj run --batch` ending with the dataset of a live run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BatchApi } from '../src/llm/batch-api.js';
import { BatchBackend, type BatchBackendOptions } from '../src/llm/batch-backend.js';
import { BatchJournal } from '../src/llm/batch-journal.js';
import { inputLine } from '../src/llm/batch-lines.js';
import { RequestRejectedError } from '../src/llm/errors.js';
import { createGateway, type Gateway } from '../src/llm/gateway.js';
import { runMain } from '../src/testing/cli-harness.js';
import { corpusLines, type CorpusOptions } from '../src/testing/corpus.js';
import { startMockBatchServer, type MockBatchServer } from '../src/testing/mock-batch-server.js';
import { errorReply, lastUserContent, startMockServer, textReply, type MockHandler } from '../src/testing/mock-server.js';
import { contentById, readRunFiles } from '../src/testing/run-files.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const echo: MockHandler = (request) => textReply(`answer to ${lastUserContent(request)}`);

let dir: string;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-batch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function server(options: Parameters<typeof startMockBatchServer>[0] = {}): Promise<MockBatchServer> {
  const s = await startMockBatchServer({ handler: echo, ...options });
  open.push(s);
  return s;
}

let runNo = 0;
/** A gateway over a batch backend; `run` names the run directory (reuse it to resume). */
function batchGateway(s: MockBatchServer, run = `run-${++runNo}`, more: Partial<BatchBackendOptions> = {}): { gateway: Gateway; backend: BatchBackend; out: string } {
  const out = join(dir, run);
  const backend = new BatchBackend({
    api: new BatchApi({ baseUrl: s.url, apiKey: 'sk-test-batch-0123456789', timeoutMs: 10_000 }),
    journal: new BatchJournal(join(out, 'batches.sqlite')),
    maxRequests: 50_000,
    maxBytes: 200_000_000,
    collectMs: 30,
    pollMinMs: 5,
    pollMaxMs: 20,
    where: s.url,
    ...more,
  });
  const gateway = createGateway({ backend, model: 'teacher', cachePath: join(out, 'cache.sqlite'), backoffBaseMs: 1, backoffMaxMs: 5, maxRetries: 3, concurrency: 1000 });
  return { gateway, backend, out };
}

/** A batch backend over `s` with small limits and fast polls, its journal in `out`. */
function smallBackend(s: { url: string }, out: string, more: Partial<BatchBackendOptions> = {}): BatchBackend {
  return new BatchBackend({
    api: new BatchApi({ baseUrl: s.url, apiKey: undefined, timeoutMs: 10_000 }),
    journal: new BatchJournal(join(out, 'batches.sqlite')),
    maxRequests: 100,
    maxBytes: 1e6,
    collectMs: 10,
    pollMinMs: 5,
    pollMaxMs: 10,
    where: s.url,
    ...more,
  });
}

const ask = (gateway: Gateway, text: string) => gateway.complete({ stage: 'generate', messages: [{ role: 'user', content: text }] });
const texts = (n: number) => Array.from({ length: n }, (_, i) => `question ${i}`);

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

/** A rerun in run directory `run`: every question gets its answer; the caller checks what the provider saw. */
async function rerunAnswers(s: MockBatchServer, run: string, questions: string[]): Promise<void> {
  const second = batchGateway(s, run);
  const results = await Promise.all(questions.map((t) => ask(second.gateway, t)));
  expect(results.map((r) => r.text)).toEqual(questions.map((t) => `answer to ${t}`));
  await second.gateway.close();
}

describe('batch backend', () => {
  it('sends concurrent requests as one batch and caches the answers', async () => {
    const s = await server();
    const { gateway } = batchGateway(s, 'one-wave');
    const results = await Promise.all(texts(12).map((t) => ask(gateway, t)));
    expect(results.map((r) => r.text)).toEqual(texts(12).map((t) => `answer to ${t}`));
    expect(s.batches).toHaveLength(1);
    expect(s.batches[0]?.customIds).toHaveLength(12);
    expect(s.batches[0]?.status).toBe('completed');
    // The answers are in the cache: asking again sends nothing.
    const again = await ask(gateway, 'question 3');
    expect(again.cached).toBe(true);
    expect(s.batches).toHaveLength(1);
    expect(gateway.usage().totals.calls).toBe(12);
    await gateway.close();
  });

  it('splits a wave under the limits on requests and bytes per batch', async () => {
    const s = await server({ maxRequestsPerBatch: 4 });
    const { gateway } = batchGateway(s, 'split', { maxRequests: 4 });
    await Promise.all(texts(10).map((t) => ask(gateway, t)));
    // Batches of one wave are uploaded concurrently: their creation order is not fixed.
    expect(s.batches.map((b) => b.customIds.length).sort((a, b) => b - a)).toEqual([4, 4, 2]);
    await gateway.close();

    const s2 = await server();
    // Bytes of one input line (newline included): three fit, four do not.
    const line = Buffer.byteLength(inputLine('0'.repeat(64), { model: 'teacher', messages: [{ role: 'user', content: 'question 0' }] })) + 1;
    const { gateway: g2 } = batchGateway(s2, 'split-bytes', { maxBytes: 3 * line + 5 });
    await Promise.all(texts(7).map((t) => ask(g2, t)));
    expect(s2.batches.map((b) => b.customIds.length).sort((a, b) => b - a)).toEqual([3, 3, 1]);
    await g2.close();
  });

  it('retries failed and expired lines in the next wave, and rejects on the provider\'s 400', async () => {
    const seen = new Map<string, number>();
    const s = await server({
      handler: (request) => {
        const text = lastUserContent(request);
        const n = (seen.get(text) ?? 0) + 1;
        seen.set(text, n);
        if (text === 'too long') return errorReply(400, "This model's maximum context length is 8192 tokens.", { code: 'context_length_exceeded' });
        if (text === 'flaky' && n === 1) return errorReply(500, 'The server had an error while processing your request.', { type: 'server_error' });
        return echo(request, 0);
      },
      expire: (() => {
        let expired = false;
        return (_id: string, line: number) => {
          if (expired || line !== 0) return false;
          return (expired = true);
        };
      })(),
    });
    const { gateway } = batchGateway(s, 'failures');
    const [a, b, c, d] = await Promise.allSettled([ask(gateway, 'first'), ask(gateway, 'flaky'), ask(gateway, 'plain'), ask(gateway, 'too long')]);
    expect(a.status === 'fulfilled' && a.value.text).toBe('answer to first'); // expired once, then answered
    expect(b.status === 'fulfilled' && b.value.text).toBe('answer to flaky'); // 500 once, then answered
    expect(c.status === 'fulfilled' && c.value.text).toBe('answer to plain');
    expect(d.status).toBe('rejected');
    expect(d.status === 'rejected' && d.reason).toBeInstanceOf(RequestRejectedError);
    expect(s.batches[0]?.status).toBe('expired');
    expect(s.batches.length).toBe(2);
    expect([...(s.batches[1]?.customIds ?? [])].length).toBe(2); // the expired and the flaky one
    expect(gateway.stats().retries).toBe(2);
    await gateway.close();
  });

  it('rides out 5xx and 429 answers of the Files and Batches API itself, uploading each file once', async () => {
    const faults: string[] = [];
    const s = await server({
      apiFault: (method, path, n) => {
        // The first upload is refused for the rate, and every other poll fails.
        if (method === 'POST' && path === '/v1/files' && !faults.includes('upload')) {
          faults.push('upload');
          return errorReply(429, 'Rate limit reached for requests', { code: 'rate_limit_exceeded', type: 'requests' });
        }
        // Then the creation, once: the file already uploaded is used again, not uploaded twice.
        if (method === 'POST' && path === '/v1/batches' && !faults.includes('create')) {
          faults.push('create');
          return errorReply(429, 'Rate limit reached for requests', { code: 'rate_limit_exceeded', type: 'requests' });
        }
        if (method === 'GET' && path.startsWith('/v1/batches/') && n % 2 === 0) {
          faults.push('poll');
          return errorReply(500, 'The server had an error while processing your request.', { type: 'server_error' });
        }
        return undefined;
      },
    });
    const { gateway } = batchGateway(s, 'api-faults');
    const results = await Promise.all(texts(5).map((t) => ask(gateway, t)));
    expect(results.map((r) => r.text)).toEqual(texts(5).map((t) => `answer to ${t}`));
    expect(faults).toContain('upload');
    expect(faults).toContain('create');
    expect(faults).toContain('poll');
    expect(s.batches).toHaveLength(1);
    expect(s.uploads).toBe(1);
    await gateway.close();
  });

  it('stops with one clear message when the endpoint has no Batches API', async () => {
    const live = await startMockServer();
    open.push(live);
    const out = join(dir, 'no-batches');
    const gateway = createGateway({ backend: smallBackend(live, out), model: 'teacher', cachePath: join(out, 'cache.sqlite') });
    await expect(ask(gateway, 'hello')).rejects.toThrow(/HTTP 404 for the Files and Batches API.*without --batch/);
    await gateway.close();
  });

  it('resumes polling after a crash: no request is submitted twice', async () => {
    const s = await server();
    s.hold = true;
    const first = batchGateway(s, 'crash');
    const pending = texts(8).map((t) => ask(first.gateway, t).catch(() => undefined));
    await until(() => s.batches.length === 1 && s.batches[0]?.status === 'in_progress', 'the batch to run');
    // The process dies here: nothing is closed, the promises never settle.
    void pending;
    s.hold = false;
    await rerunAnswers(s, 'crash', texts(8));
    expect(s.uploads).toBe(1);
    expect(s.batches).toHaveLength(1);
    expect([...s.submissions.values()].every((n) => n === 1)).toBe(true);
  });

  it('leaves a batch open when a poll or a download is refused (a rotated key, a 404): the next run collects it, nothing is submitted twice', async () => {
    let refuse: 'poll' | 'download' | undefined;
    const s = await server({
      apiFault: (method, path) => {
        if (refuse === 'poll' && method === 'GET' && path.startsWith('/v1/batches/')) return errorReply(401, 'Incorrect API key provided: sk-new***.', { code: 'invalid_api_key' });
        if (refuse === 'download' && method === 'GET' && path.startsWith('/v1/files/')) return errorReply(404, 'No such File object: file-x', { code: 'not_found' });
        return undefined;
      },
    });
    for (const fault of ['poll', 'download'] as const) {
      s.hold = true;
      refuse = undefined;
      const run = `refused-${fault}`;
      const first = batchGateway(s, run);
      const questions = texts(4).map((t) => `${fault}: ${t}`);
      const asked = Promise.allSettled(questions.map((t) => ask(first.gateway, t)));
      const before = s.batches.length;
      await until(() => s.batches.length === before + 1 && s.batches.at(-1)?.status === 'in_progress', 'the batch to run');
      refuse = fault;
      s.hold = false;
      const outcomes = await asked;
      expect(outcomes.every((o) => o.status === 'rejected' && /stays open in .*batches\.sqlite: the next run polls it again/.test(String(o.reason)))).toBe(true);
      await first.gateway.close();
      const journal = new BatchJournal(join(dir, run, 'batches.sqlite'));
      expect(journal.open()).toHaveLength(1);
      journal.close();
      refuse = undefined;
      await rerunAnswers(s, run, questions);
      expect(s.batches).toHaveLength(before + 1);
      expect([...s.submissions.values()].every((n) => n === 1)).toBe(true);
    }
  });

  it('speaks Together\'s dialect (the created batch in `job`, statuses in capitals): each request submitted once, the run ends', async () => {
    const s = await server({ together: true });
    const { gateway } = batchGateway(s, 'together');
    const results = await Promise.all(texts(4).map((t) => ask(gateway, t)));
    expect(results.map((r) => r.text)).toEqual(texts(4).map((t) => `answer to ${t}`));
    expect(s.batches).toHaveLength(1);
    expect([...s.submissions.values()].every((n) => n === 1)).toBe(true);
    await gateway.close();
  });

  it('a stop during a wave counts no call: the requests are answered to the next run, which counts them', async () => {
    const s = await server();
    s.hold = true;
    const out = join(dir, 'stopped');
    const gatewayOf = (): Gateway =>
      createGateway({ backend: smallBackend(s, out, { collectMs: 20 }), model: 'teacher', cachePath: join(out, 'cache.sqlite'), usageLedgerPath: join(out, 'usage.jsonl'), answersOutliveProcess: true, concurrency: 100 });
    const first = gatewayOf();
    const stop = new AbortController();
    const asked = Promise.allSettled(texts(3).map((t) => first.complete({ stage: 'generate', messages: [{ role: 'user', content: t }], signal: stop.signal })));
    await until(() => s.batches.length === 1 && s.batches[0]?.status === 'in_progress', 'the batch to run');
    stop.abort();
    await asked;
    // What this process would write to run.json: no call it did not read an answer for.
    expect(first.runUsage()?.totals).toMatchObject({ calls: 0, unconfirmed_calls: 0 });
    await first.close();
    s.hold = false;
    const second = gatewayOf();
    await Promise.all(texts(3).map((t) => ask(second, t)));
    expect(second.runUsage()?.totals).toMatchObject({ calls: 3, unconfirmed_calls: 0 });
    expect(s.batches).toHaveLength(1);
    await second.close();
  });

  it('rejects a request that no batch file can hold (over batch.max_bytes) instead of uploading it', async () => {
    const s = await server();
    const gateway = createGateway({ backend: smallBackend(s, join(dir, 'oversize'), { maxBytes: 1024 }), model: 'teacher', cachePath: join(dir, 'oversize', 'cache.sqlite'), maxRetries: 0 });
    const [big, small] = await Promise.allSettled([ask(gateway, 'x'.repeat(2000)), ask(gateway, 'short')]);
    expect(big.status).toBe('rejected');
    expect(big.status === 'rejected' ? String(big.reason) : '').toMatch(/more than batch\.max_bytes \(1024\): no batch file can hold it/);
    expect(small.status === 'fulfilled' && small.value.text).toBe('answer to short');
    expect(s.batches.flatMap((b) => b.customIds)).toHaveLength(1);
    await gateway.close();
  });

  it('does not create a batch again when the creation\'s answer is not a batch object: the next run finds it by its metadata', async () => {
    const s = await server();
    s.reshapeCreated = (batch) => ({ result: batch });
    const first = batchGateway(s, 'unreadable-create');
    const outcomes = await Promise.allSettled(texts(3).map((t) => ask(first.gateway, t)));
    expect(outcomes.every((o) => o.status === 'rejected' && /not a batch object.*stays open/.test(String(o.reason)))).toBe(true);
    expect(s.batches).toHaveLength(1);
    await first.gateway.close();
    s.reshapeCreated = undefined;
    await rerunAnswers(s, 'unreadable-create', texts(3));
    expect(s.batches).toHaveLength(1);
    expect(s.uploads).toBe(1);
  });

  it('finds a batch whose creation answer was lost by its input file when the provider keeps no metadata', async () => {
    const s = await server({ dropMetadata: true });
    s.loseCreates = 1;
    const { gateway } = batchGateway(s, 'no-metadata');
    const results = await Promise.all(texts(3).map((t) => ask(gateway, t)));
    expect(results.map((r) => r.text)).toEqual(texts(3).map((t) => `answer to ${t}`));
    expect(s.batches).toHaveLength(1);
    expect(s.uploads).toBe(1);
    await gateway.close();
  });

  it('opens a journal made before the input file was recorded, and records it from then on', () => {
    const file = join(dir, 'old-journal', 'batches.sqlite');
    new BatchJournal(file).close();
    // The schema of versions before the `file` column.
    const old = new Database(file);
    old.exec('ALTER TABLE batches DROP COLUMN file');
    old.close();
    const journal = new BatchJournal(file);
    journal.begin('gemtraj-a', ['k1'], 10);
    expect(journal.fileOf('gemtraj-a')).toBeUndefined();
    journal.uploaded('gemtraj-a', 'file-1');
    expect(journal.fileOf('gemtraj-a')).toBe('file-1');
    journal.close();
  });

  it('submits one batch per model: stages with their own models share a wave, not a file', async () => {
    const s = await server();
    const out = join(dir, 'two-models');
    const gateway = createGateway({ backend: smallBackend(s, out, { collectMs: 30 }), model: 'teacher', models: { judge: 'judge-model' }, cachePath: join(out, 'cache.sqlite'), concurrency: 100 });
    const results = await Promise.all([
      ...texts(3).map((t) => gateway.complete({ stage: 'generate', messages: [{ role: 'user', content: t }] })),
      ...texts(2).map((t) => gateway.complete({ stage: 'judge', messages: [{ role: 'user', content: `judge ${t}` }] })),
    ]);
    expect(results).toHaveLength(5);
    expect(s.batches).toHaveLength(2);
    expect(s.batches.map((b) => b.customIds.length).sort()).toEqual([2, 3]);
    await gateway.close();
  });

  it.each([
    { kept: true, by: 'its metadata' },
    { kept: false, by: 'its recorded input file (a provider that keeps no metadata)' },
  ])('finds a batch whose creation answer was lost, after a kill, by $by', async ({ kept }) => {
    const s = await server({ dropMetadata: !kept });
    s.hold = true;
    const out = join(dir, `lost-create-${kept}`);
    const api = new BatchApi({ baseUrl: s.url, apiKey: undefined, timeoutMs: 10_000 });
    // This process dies after the provider created the batch and before the answer was recorded.
    const dying = Object.assign(Object.create(api) as BatchApi, {
      create: async (...args: Parameters<BatchApi['create']>) => {
        await api.create(...args);
        return new Promise<never>(() => undefined);
      },
    });
    const first = batchGateway(s, `lost-create-${kept}`, { api: dying, journal: new BatchJournal(join(out, 'batches.sqlite')) });
    void Promise.all(texts(3).map((t) => ask(first.gateway, t).catch(() => undefined)));
    await until(() => s.batches.length === 1, 'the batch to be created');
    s.hold = false;
    await rerunAnswers(s, `lost-create-${kept}`, texts(3));
    expect(s.batches).toHaveLength(1);
    expect(s.uploads).toBe(1);
  });

  it('submits a half-created batch again when the provider cannot list batches (nothing to find it by)', async () => {
    let listing = true;
    const s = await server({ apiFault: (method, path) => (!listing && method === 'GET' && path === '/v1/batches' ? errorReply(404, 'Invalid URL (GET /v1/batches)', {}) : undefined) });
    const out = join(dir, 'no-listing');
    const api = new BatchApi({ baseUrl: s.url, apiKey: undefined, timeoutMs: 10_000 });
    // Killed before the creation: the journal holds the batch, the provider has none.
    const dying = Object.assign(Object.create(api) as BatchApi, { create: () => new Promise<never>(() => undefined) });
    const first = batchGateway(s, 'no-listing', { api: dying, journal: new BatchJournal(join(out, 'batches.sqlite')) });
    void Promise.all(texts(2).map((t) => ask(first.gateway, t).catch(() => undefined)));
    await until(() => s.uploads === 1, 'the upload');
    listing = false;
    await rerunAnswers(s, 'no-listing', texts(2));
    expect(s.batches).toHaveLength(1);
  });

  it('prices batch calls at the batch share of the table price', async () => {
    const s = await server();
    const out = join(dir, 'priced');
    const backend = smallBackend(s, out);
    const gateway = createGateway({
      backend,
      model: 'teacher',
      cachePath: join(out, 'cache.sqlite'),
      prices: { teacher: { prompt_per_million: 2, completion_per_million: 8 } },
      priceFactor: 0.5,
    });
    const r = await ask(gateway, 'price me');
    const expected = ((r.usage.prompt_tokens * 2 + r.usage.completion_tokens * 8) / 1e6) * 0.5;
    expect(gateway.usage().totals.cost_usd).toBeCloseTo(expected, 12);
    await gateway.close();
  });
});

const CORPUS: CorpusOptions = { count: 12, seed: 9, narrative: 0.1, markers: { '[[judge-fail]]': 0.15, '[[bad-args]]': 0.1 } };

describe('gemtraj run --batch', () => {
  it('ends with the dataset of a live run, and a rerun submits nothing', async () => {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
    const config = join(dir, 'batch.json');
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40, poll_min_ms: 5, poll_max_ms: 20 } }));
    const env = { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, GEMTRAJ_MODEL: undefined };
    for (const k of Object.keys(env)) delete process.env[k];

    const live = await startMockServer({ handler: scriptedTeacher() });
    open.push(live);
    const liveOut = join(dir, 'live');
    const a = await runMain(['run', corpus, '--out', liveOut, '--base-url', live.url, '--model', 'teacher', '--quiet']);
    expect(a.code).toBe(0);

    const s = await server({ handler: scriptedTeacher() });
    const batchOut = join(dir, 'batched');
    const b = await runMain(['run', corpus, '--out', batchOut, '--base-url', s.url, '--model', 'teacher', '--batch', '--config', config, '--quiet']);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const liveFiles = readRunFiles(liveOut);
    const batchFiles = readRunFiles(batchOut);
    expect(contentById(batchFiles.final)).toEqual(contentById(liveFiles.final));
    expect(contentById(batchFiles.rejected)).toEqual(contentById(liveFiles.rejected));
    expect(batchFiles.final.length).toBeGreaterThan(0);
    // Waves follow the stages: far fewer batches than requests, none of them twice.
    expect(s.batches.length).toBeGreaterThan(1);
    expect(s.batches.length).toBeLessThan(live.count / 3);
    expect([...s.submissions.values()].every((n) => n === 1)).toBe(true);

    // Answers the cache holds are not kept twice: the rerun drops them from the journal.
    const uploads = s.uploads;
    const c = await runMain(['run', corpus, '--out', batchOut, '--base-url', s.url, '--model', 'teacher', '--batch', '--config', config, '--quiet']);
    expect(c.code).toBe(0);
    expect(s.uploads).toBe(uploads);
    const journal = new Database(join(batchOut, 'batches.sqlite'), { readonly: true });
    expect((journal.prepare('SELECT COUNT(*) AS n FROM lines WHERE response IS NOT NULL').get() as { n: number }).n).toBe(0);
    expect((journal.prepare("SELECT COUNT(*) AS n FROM lines WHERE state = 'answered'").get() as { n: number }).n).toBeGreaterThan(0);
    journal.close();
  });
});

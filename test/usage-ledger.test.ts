/**
 * The usage ledger (src/llm/usage-ledger.ts) through the gateway: every process's usage adds up,
 * cache hits are not paid calls, a request that died with its process is an unconfirmed call,
 * a torn last line is dropped, and an older run.json's usage is taken as the base.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendError } from '../src/llm/backend.js';
import { createGateway } from '../src/llm/gateway.js';
import { TransientEndpointError } from '../src/llm/errors.js';
import { emptyFigures, UsageAccounting, type UsageEvent, type UsageReport } from '../src/llm/usage.js';
import { USAGE_LEDGER_FILE, UsageLedger } from '../src/llm/usage-ledger.js';
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

  it('in batch mode records answers only, and they leave another process\'s unconfirmed calls unconfirmed', async () => {
    const dir = runDir();
    // A live process killed with a request on the wire: its `sent` line stays without outcome.
    const hanging = open(dir, new FakeBackend(() => new Promise(() => undefined)));
    void hanging.complete(ask('a'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Then a batch-mode process (answers may reach another process): no `sent` line, outcomes tagged.
    const batch = createGateway({
      model: 'm',
      backend: answer(),
      cachePath: join(dir, 'cache.sqlite'),
      usageLedgerPath: join(dir, USAGE_LEDGER_FILE),
      answersOutliveProcess: true,
      prices: { m: { prompt_per_million: 1, completion_per_million: 2 } },
    });
    await batch.complete(ask('b'));
    await batch.complete(ask('c'));
    await batch.close();
    const events = readFileSync(join(dir, USAGE_LEDGER_FILE), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { e: string; o?: number });
    expect(events.filter((e) => e.e === 'sent')).toHaveLength(1);
    expect(events.filter((e) => e.e === 'paid').every((e) => e.o === 1)).toBe(true);
    // The dead process's request is still unconfirmed; the batch answers are two calls of their own.
    const total = new UsageLedger(join(dir, USAGE_LEDGER_FILE)).previous().totals;
    expect(total).toMatchObject({ calls: 3, unconfirmed_calls: 1 });
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

  describe('replay in chunks', () => {
    // A ledger with a multibyte model name (a chunk boundary can fall inside a character), a
    // line that is not JSON in the middle, and a torn last line.
    function ledgerText(): string {
      const lines: string[] = [];
      const models = ['m', 'modèle-ü', '模型'];
      for (let n = 0; n < 300; n++) {
        const m = models[n % models.length] ?? 'm';
        const s = n % 2 === 0 ? 'extract' : 'judge';
        lines.push(JSON.stringify({ e: 'sent', s, m }));
        if (n % 7 === 3) lines.push(JSON.stringify({ e: 'retry', s, m }));
        if (n % 11 !== 5) lines.push(JSON.stringify({ e: 'paid', s, m, p: 100 + n, c: 10 + n, usd: n % 3 === 2 ? null : n / 1e6 }));
        if (n === 150) lines.push('{"e":"paid","s":"ext'); // cut back by a full disk: skipped
      }
      return `${lines.join('\n')}\n{"e":"paid","s":"extract","m":"m","p":1`;
    }

    // What a whole-file read gives (the replay before chunking).
    function wholeFileReport(text: string): UsageReport {
      const accounting = new UsageAccounting({});
      for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
        if (line === '') continue;
        try {
          accounting.apply(JSON.parse(line) as UsageEvent);
        } catch {
          // not JSON
        }
      }
      return accounting.report(true);
    }

    it('gives the sums of a whole-file read, lines split across chunks included', () => {
      const text = ledgerText();
      const expected = wholeFileReport(text);
      expect(expected.totals.calls).toBeGreaterThan(200);
      for (const chunkBytes of [1, 2, 3, 7, 64, 100, 4096, 1 << 20]) {
        const dir = runDir();
        const path = join(dir, USAGE_LEDGER_FILE);
        writeFileSync(path, text);
        const ledger = new UsageLedger(path, { chunkBytes });
        expect(ledger.previous(), `chunk ${chunkBytes}`).toEqual(expected);
        ledger.close();
      }
    });

    it('cuts the torn last line off at the byte offset of the last whole line', () => {
      const text = ledgerText();
      const whole = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8');
      const dir = runDir();
      const path = join(dir, USAGE_LEDGER_FILE);
      writeFileSync(path, text);
      const ledger = new UsageLedger(path, { chunkBytes: 5 });
      ledger.append({ e: 'retry', s: 'extract', m: 'm' });
      ledger.close();
      const after = readFileSync(path);
      expect(after.subarray(0, whole).toString('utf8')).toBe(text.slice(0, text.lastIndexOf('\n') + 1));
      expect(after.subarray(whole).toString('utf8')).toBe('{"e":"retry","s":"extract","m":"m"}\n');
    });

    it('leaves a ledger ending on a whole line as it is', () => {
      const dir = runDir();
      const path = join(dir, USAGE_LEDGER_FILE);
      const text = '{"e":"sent","s":"extract","m":"m"}\n{"e":"paid","s":"extract","m":"m","p":1,"c":2,"usd":null}\n';
      writeFileSync(path, text);
      const ledger = new UsageLedger(path, { chunkBytes: 4 });
      expect(ledger.previous().totals).toMatchObject({ calls: 1, prompt_tokens: 1, completion_tokens: 2, unconfirmed_calls: 0 });
      ledger.append({ e: 'retry', s: 'extract', m: 'm' });
      ledger.close();
      expect(readFileSync(path, 'utf8')).toBe(`${text}{"e":"retry","s":"extract","m":"m"}\n`);
    });

    it('reports a ledger that cannot be read as a read failure naming it', () => {
      const dir = runDir();
      const path = join(dir, USAGE_LEDGER_FILE);
      mkdirSync(path); // reading a folder fails with EISDIR
      expect(() => new UsageLedger(path)).toThrow(`cannot read the usage ledger ${path}: EISDIR`);
      // The gateway that opens it says the same (not "cannot write").
      expect(() => open(dir)).toThrow(`cannot read the usage ledger ${path}: EISDIR`);
    });
  
    it('compacts a ledger over the size limit into one base line with the same sums, at the first append', () => {
      const text = ledgerText();
      const dir = runDir();
      const path = join(dir, USAGE_LEDGER_FILE);
      const uncompacted = join(dir, 'copy.jsonl');
      writeFileSync(path, text);
      // A process that never appends (one refused by the run's lock) leaves the file as it is.
      new UsageLedger(path, { compactBytes: 100 }).close();
      expect(readFileSync(path, 'utf8')).toBe(text);

      const ledger = new UsageLedger(path, { compactBytes: 100, chunkBytes: 10 });
      const before = ledger.previous();
      expect(before).toEqual(wholeFileReport(text));
      ledger.append({ e: 'sent', s: 'judge', m: 'm' });
      ledger.append({ e: 'paid', s: 'judge', m: 'm', p: 3, c: 4, usd: 0.5 });
      ledger.close();
      const lines = readFileSync(path, 'utf8').split('\n');
      expect(lines).toHaveLength(4); // base, the two events, and the end after the last newline
      expect((JSON.parse(lines[0] ?? '') as { e: string }).e).toBe('base');
      expect(lines.slice(1, 3)).toEqual(['{"e":"sent","s":"judge","m":"m"}', '{"e":"paid","s":"judge","m":"m","p":3,"c":4,"usd":0.5}']);

      // The same sums as the ledger left whole with the same event appended.
      writeFileSync(uncompacted, `${text.slice(0, text.lastIndexOf('\n') + 1)}${lines[1]}\n${lines[2]}\n`);
      const whole = new UsageLedger(uncompacted, { compactBytes: Number.MAX_SAFE_INTEGER });
      const compacted = new UsageLedger(path, { compactBytes: Number.MAX_SAFE_INTEGER });
      expect(compacted.previous()).toEqual(whole.previous());
      expect(compacted.previous().totals.unconfirmed_calls).toBeGreaterThan(0); // sends never answered
      whole.close();
      compacted.close();
    });

    it('leaves a ledger under the size limit uncompacted', () => {
      const text = ledgerText();
      const dir = runDir();
      const path = join(dir, USAGE_LEDGER_FILE);
      writeFileSync(path, text);
      const ledger = new UsageLedger(path, { compactBytes: Buffer.byteLength(text) });
      ledger.append({ e: 'retry', s: 'extract', m: 'm' });
      ledger.close();
      expect(readFileSync(path, 'utf8')).toBe(`${text.slice(0, text.lastIndexOf('\n') + 1)}{"e":"retry","s":"extract","m":"m"}\n`);
    });
  });
});

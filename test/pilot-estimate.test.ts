/**
 * `--estimate --pilot N` on a mock run: the first N documents run for real, and the
 * extrapolated call count lands within 15% of what the whole run really takes; the pilot's
 * answers are cached, so the run that follows does not pay for them again.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, runMain, spawnCli } from '../src/testing/cli-harness.js';
import { corpusLines, type CorpusOptions } from '../src/testing/corpus.js';
import { startMockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const CORPUS: CorpusOptions = { count: 40, seed: 3, narrative: 0.1, markers: { '[[judge-fail]]': 0.1, '[[bad-args]]': 0.08, '[[malformed]]': 0.05 } };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-pilot-'));
  for (const k of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'GEMTRAJ_MODEL']) delete process.env[k];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--estimate --pilot', () => {
  it('lands within 15% of the real call count, and the pilot is not paid twice', async () => {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
    const real = await startMockServer({ handler: scriptedTeacher() });
    const full = await runMain(['run', corpus, '--out', join(dir, 'real'), '--base-url', real.url, '--model', 'teacher', '--quiet']);
    expect(full.code).toBe(0);
    const realCalls = real.count;
    await real.close();

    const server = await startMockServer({ handler: scriptedTeacher() });
    const out = join(dir, 'piloted');
    const est = await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--estimate', '--pilot', '10', '--quiet']);
    expect(est.code).toBe(0);
    const calls = Number(/^calls (\d+)/m.exec(est.stdout)?.[1]);
    expect(est.stdout).toMatch(/pilot: 10 of 40 documents/);
    expect(est.stdout).toMatch(/cost: unpriced/);
    expect(est.stdout).toMatch(/time at the configured concurrency/);
    expect(Math.abs(calls - realCalls) / realCalls).toBeLessThanOrEqual(0.15);
    const pilotCalls = server.count;
    expect(pilotCalls).toBeGreaterThan(0);

    // The run after the pilot pays only for the other 30 documents.
    const rest = await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--quiet']);
    expect(rest.code).toBe(0);
    expect(server.count).toBe(realCalls);
    await server.close();
    console.log(`pilot estimate ${calls} calls, real ${realCalls} (${(((calls - realCalls) / realCalls) * 100).toFixed(1)}%)`);
    // The pilot's paid calls are the run's: its run.json counts every call the server answered once.
    const usage = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { usage: { totals: { calls: number } } }).usage.totals;
    expect(usage.calls).toBe(realCalls);
  });

  it('measures documents already done (a pilot again, a larger pilot, after a run) the same, from the cache', async () => {
    const corpus = join(dir, 'corpus-again.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
    const server = await startMockServer({ handler: scriptedTeacher() });
    const out = join(dir, 'again');
    const pilot = async (n: number): Promise<number> => {
      const r = await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--estimate', '--pilot', String(n), '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      return Number(/^calls (\d+)/m.exec(r.stdout)?.[1]);
    };
    const first = await pilot(10);
    const paid = server.count;
    // Nothing new to pay, and the same measure: the ten documents replay from the cache.
    expect(await pilot(10)).toBe(first);
    expect(server.count).toBe(paid);
    // A larger pilot measures all twenty, the ten cached ones included.
    const twenty = await pilot(20);
    const fresh = await startMockServer({ handler: scriptedTeacher() });
    const alone = await runMain(['run', corpus, '--out', join(dir, 'again-fresh'), '--base-url', fresh.url, '--model', 'teacher', '--estimate', '--pilot', '20', '--quiet']);
    await fresh.close();
    expect(twenty).toBe(Number(/^calls (\d+)/m.exec(alone.stdout)?.[1]));
    // After the whole run, a pilot still measures.
    expect((await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--quiet'])).code).toBe(0);
    expect(await pilot(10)).toBe(first);
    await server.close();
  });

  it('gives no estimate when the endpoint never answers, and exits as the run would', async () => {
    const corpus = join(dir, 'corpus-dead.jsonl');
    writeFileSync(corpus, `${corpusLines({ ...CORPUS, count: 5 }).join('\n')}\n`);
    const server = await startMockServer({ handler: scriptedTeacher() });
    const url = server.url;
    await server.close();
    const r = await runMain(['run', corpus, '--out', join(dir, 'dead'), '--base-url', url, '--model', 'teacher', '--estimate', '--pilot', '3', '--max-retries', '0', '--quiet']);
    expect(r.code).toBe(3);
    expect(r.stdout).not.toMatch(/^calls /m);
    expect(r.stderr).toMatch(/no estimate/);
  });

  it('checks the run directory as a run would: another corpus is refused, and nothing is written into it', async () => {
    const a = join(dir, 'corpus-a.jsonl');
    const b = join(dir, 'corpus-b.jsonl');
    writeFileSync(a, `${corpusLines({ ...CORPUS, count: 6 }).join('\n')}\n`);
    writeFileSync(b, `${corpusLines({ ...CORPUS, count: 6, seed: 99 }).join('\n')}\n`);
    const server = await startMockServer({ handler: scriptedTeacher() });
    const out = join(dir, 'foreign');
    expect((await runMain(['run', a, '--out', out, '--base-url', server.url, '--model', 'teacher', '--quiet'])).code).toBe(0);
    const paid = server.count;
    const ledger = readFileSync(join(out, 'usage.jsonl'), 'utf8');
    const pilot = await runMain(['run', b, '--out', out, '--base-url', server.url, '--model', 'teacher', '--estimate', '--pilot', '3', '--quiet']);
    expect(pilot.code).toBe(2);
    expect(pilot.stderr).toMatch(/another corpus/);
    expect(server.count).toBe(paid);
    expect(readFileSync(join(out, 'usage.jsonl'), 'utf8')).toBe(ledger);
    await server.close();
  });

  it('keeps the usage an older run.json recorded without a ledger', async () => {
    const corpus = join(dir, 'corpus-base.jsonl');
    writeFileSync(corpus, `${corpusLines({ ...CORPUS, count: 8 }).join('\n')}\n`);
    const server = await startMockServer({ handler: scriptedTeacher() });
    const calls = (out: string): number => (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { usage: { totals: { calls: number } } }).usage.totals.calls;
    const results: number[] = [];
    for (const pilot of [false, true]) {
      const out = join(dir, pilot ? 'base-pilot' : 'base-plain');
      expect((await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--quiet', '--max-docs', '5'])).code).toBe(0);
      // A directory from before the ledger (or a batch run of an earlier version): usage in run.json only.
      rmSync(join(out, 'usage.jsonl'));
      if (pilot) expect((await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--estimate', '--pilot', '3', '--quiet'])).code).toBe(0);
      expect((await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--quiet'])).code).toBe(0);
      results.push(calls(out));
    }
    expect(results[1]).toBe(results[0]);
    await server.close();
  });

  it.skipIf(!existsSync(builtCli()))('stopped by Ctrl-C, gives no estimate and leaves no scratch folder', { timeout: 30_000 }, async () => {
    const corpus = join(dir, 'corpus-stop.jsonl');
    writeFileSync(corpus, `${corpusLines({ ...CORPUS, count: 20 }).join('\n')}\n`);
    const teacher = scriptedTeacher();
    const server = await startMockServer({ handler: async (request, index) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return teacher(request, index);
    } });
    const scratch = join(dir, 'tmp-stop');
    mkdirSync(scratch);
    const { child, done } = spawnCli(['run', corpus, '--out', join(dir, 'stopped'), '--base-url', server.url, '--model', 'teacher', '--estimate', '--pilot', '20', '--quiet'], { TMPDIR: scratch });
    while (server.count < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stdout).not.toMatch(/^calls /m);
    expect(result.stderr).toMatch(/pilot interrupted/);
    expect(readdirSync(scratch).filter((name) => name.startsWith('gemtraj-pilot-'))).toEqual([]);
    // A second Ctrl-C quits at once: the scratch folder goes all the same.
    const twice = spawnCli(['run', corpus, '--out', join(dir, 'stopped-twice'), '--base-url', server.url, '--model', 'teacher', '--estimate', '--pilot', '20', '--quiet'], { TMPDIR: scratch });
    const before = server.count;
    while (server.count < before + 2) await new Promise((resolve) => setTimeout(resolve, 20));
    twice.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    twice.child.kill('SIGINT');
    expect((await twice.done).code).toBe(130);
    expect(readdirSync(scratch).filter((name) => name.startsWith('gemtraj-pilot-'))).toEqual([]);
    await server.close();
  });

  it('makes no folder when no model is named', async () => {
    const corpus = join(dir, 'corpus-nomodel.jsonl');
    writeFileSync(corpus, `${corpusLines({ ...CORPUS, count: 2 }).join('\n')}\n`);
    const out = join(dir, 'no-model');
    const r = await runMain(['run', corpus, '--out', out, '--base-url', 'http://127.0.0.1:9/v1', '--estimate', '--pilot', '1', '--quiet']);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

/**
 * Offline batches: `gemtraj batch export` writes the waiting wave as a Batch API file, an
 * offline `vllm run-batch` stand-in answers it, `gemtraj batch import` loads the answers, and
 * the loop ends with the dataset of a live run; failed lines are asked for again.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { corpusLines, type CorpusOptions } from '../src/testing/corpus.js';
import { runBatchFile } from '../src/testing/mock-batch-server.js';
import { errorReply, startMockServer, type MockHandler } from '../src/testing/mock-server.js';
import { ResponseCache } from '../src/llm/cache.js';
import { contentById, readRunFiles } from '../src/testing/run-files.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const CORPUS: CorpusOptions = { count: 10, seed: 21, narrative: 0.1, markers: { '[[judge-fail]]': 0.15 } };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-offline-'));
  for (const k of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'GEMTRAJ_MODEL']) delete process.env[k];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gemtraj batch export / import', () => {
  it('loops export → vllm run-batch → import to the dataset of a live run', async () => {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
    const config = join(dir, 'fast.json');
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40 } }));

    const live = await startMockServer({ handler: scriptedTeacher() });
    const liveOut = join(dir, 'live');
    expect((await runMain(['run', corpus, '--out', liveOut, '--base-url', live.url, '--model', 'teacher', '--quiet'])).code).toBe(0);
    await live.close();

    // The GPU machine's vLLM: answers like the live teacher, except that one line fails once.
    const teacher = scriptedTeacher();
    let failedOnce = false;
    const vllm: MockHandler = (request, index) => {
      if (!failedOnce) {
        failedOnce = true;
        return errorReply(500, 'CUDA out of memory', { type: 'server_error' });
      }
      return teacher(request, index);
    };
    const out = join(dir, 'offline');
    const requests = join(out, 'batch-requests.jsonl');
    const results = join(dir, 'results.jsonl');
    let waves = 0;
    let lines = 0;
    for (;;) {
      const exported = await runMain(['batch', 'export', corpus, '--out', out, '--model', 'teacher', '--config', config]);
      expect(exported.code).toBe(0);
      if (exported.stderr.includes('nothing left to export')) break;
      expect(exported.stdout.trim()).toBe(requests);
      const input = readFileSync(requests, 'utf8');
      const first = JSON.parse(input.split('\n')[0] as string) as Record<string, unknown>;
      expect(Object.keys(first).sort()).toEqual(['body', 'custom_id', 'method', 'url']);
      expect(first.url).toBe('/v1/chat/completions');
      lines += input.trim().split('\n').length;
      writeFileSync(results, await runBatchFile(input, vllm));
      const imported = await runMain(['batch', 'import', results, '--out', out]);
      expect(imported.code).toBe(0);
      expect(imported.stderr).toMatch(/imported \d+ answers/);
      if (++waves > 15) throw new Error('the export loop does not end');
    }
    expect(waves).toBeGreaterThan(1);
    expect(existsSync(join(out, 'trajectories.jsonl'))).toBe(true);
    const offline = readRunFiles(out);
    const reference = readRunFiles(liveOut);
    expect(contentById(offline.final)).toEqual(contentById(reference.final));
    expect(contentById(offline.rejected)).toEqual(contentById(reference.rejected));
    // Every request once, plus the one line that failed and was asked for again.
    expect(lines).toBe(live.count + 1);
    // Exported requests are not failed calls (the answers came back through import).
    const usage = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { usage: { totals: { failed_calls: number } } }).usage.totals;
    expect(usage.failed_calls).toBe(0);
  });

  it('counts each answer of the offline batches once, as a paid call at the batch price, over every wave and a rerun', async () => {
    const { corpus } = files('usage', 6);
    const config = join(dir, 'priced.json');
    // $1 per million prompt tokens and $2 per million completion tokens; batches at 0.5 of that.
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40, price_factor: 0.5 }, prices: { teacher: { prompt_per_million: 1, completion_per_million: 2 } } }));
    type Totals = { calls: number; cached_calls: number; prompt_tokens: number; completion_tokens: number; cost_usd: number; unconfirmed_calls: number };
    const totalsOf = (out: string): Totals => (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { usage: { totals: Totals } }).usage.totals;

    const live = await startMockServer({ handler: scriptedTeacher() });
    const liveOut = join(dir, 'usage-live');
    expect((await runMain(['run', corpus, '--out', liveOut, '--base-url', live.url, '--model', 'teacher', '--config', config, '--quiet'])).code).toBe(0);
    await live.close();
    const reference = totalsOf(liveOut);

    const out = join(dir, 'usage-offline');
    expect(await loop(corpus, out, scriptedTeacher(), config)).toBeGreaterThan(1);
    const offline = totalsOf(out);
    // Every answer the GPU machine made is one paid call with its tokens, whichever wave used it.
    expect(offline.calls).toBe(reference.calls);
    expect(offline.prompt_tokens).toBe(reference.prompt_tokens);
    expect(offline.completion_tokens).toBe(reference.completion_tokens);
    expect(offline.unconfirmed_calls).toBe(0);
    expect(offline.cost_usd).toBeCloseTo(reference.cost_usd * 0.5, 9);
    const cache = new ResponseCache(join(out, 'cache.sqlite'));
    expect(cache.offlineUncounted()).toBe(0);
    cache.close();

    // Another run directory over the same cache uses the same answers again: all cache hits,
    // none counted as paid a second time.
    const sharing = join(dir, 'usage-sharing.json');
    writeFileSync(sharing, JSON.stringify({ batch: { collect_ms: 40, price_factor: 0.5 }, prices: { teacher: { prompt_per_million: 1, completion_per_million: 2 } }, cache: join(out, 'cache.sqlite') }));
    const second = join(dir, 'usage-second');
    const again = await runMain(['batch', 'export', corpus, '--out', second, '--model', 'teacher', '--config', sharing]);
    expect(again.stderr).toContain('nothing left to export');
    expect(totalsOf(second).calls).toBe(0);
    expect(totalsOf(second).cached_calls).toBe(reference.calls);
  });

  it('prices offline answers at the batch price when a live run uses them first, and estimates the tokens of lines without usage', async () => {
    const { corpus } = files('mixed', 6);
    const config = join(dir, 'mixed.json');
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40, price_factor: 0.5 }, prices: { teacher: { prompt_per_million: 1, completion_per_million: 2 } } }));
    type Totals = { calls: number; prompt_tokens: number; completion_tokens: number; cost_usd: number };
    const totalsOf = (out: string): Totals => (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { usage: { totals: Totals } }).usage.totals;
    const live = await startMockServer({ handler: scriptedTeacher(), latencyMs: 150 });
    try {
      const liveOut = join(dir, 'mixed-live');
      expect((await runMain(['run', corpus, '--out', liveOut, '--base-url', live.url, '--model', 'teacher', '--config', config, '--quiet'])).code).toBe(0);
      const reference = totalsOf(liveOut);

      // One offline wave, then the run is finished live.
      const out = join(dir, 'mixed-offline');
      expect((await runMain(['batch', 'export', corpus, '--out', out, '--model', 'teacher', '--config', config])).code).toBe(0);
      const results = join(dir, 'mixed-results.jsonl');
      const output = (await runBatchFile(readFileSync(join(out, 'batch-requests.jsonl'), 'utf8'), scriptedTeacher())).trim().split('\n');
      let waveCost = 0;
      for (const line of output) {
        const usage = (JSON.parse(line) as { response: { body: { usage: { prompt_tokens: number; completion_tokens: number } } } }).response.body.usage;
        waveCost += (usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6;
      }
      writeFileSync(results, `${output.join('\n')}\n`);
      expect((await runMain(['batch', 'import', results, '--out', out])).code).toBe(0);
      // A pilot over the imported answers measures the endpoint's calls, not the cache reads.
      const pilot = await runMain(['run', corpus, '--out', out, '--base-url', live.url, '--model', 'teacher', '--config', config, '--estimate', '--pilot', '3']);
      expect(pilot.code).toBe(0);
      expect(Number(/mean call (\d+) ms/.exec(pilot.stdout)?.[1]), pilot.stdout).toBeGreaterThanOrEqual(150);
      expect((await runMain(['run', corpus, '--out', out, '--base-url', live.url, '--model', 'teacher', '--config', config, '--quiet'])).code).toBe(0);
      const mixed = totalsOf(out);
      expect(mixed.calls).toBe(reference.calls);
      expect(mixed.prompt_tokens).toBe(reference.prompt_tokens);
      expect(mixed.cost_usd).toBeCloseTo(reference.cost_usd - 0.5 * waveCost, 9);

      // Output lines without usage: their tokens are estimated at first use, not counted as 0.
      const bare = join(dir, 'mixed-bare');
      expect((await runMain(['batch', 'export', corpus, '--out', bare, '--model', 'teacher', '--config', config])).code).toBe(0);
      const stripped = (await runBatchFile(readFileSync(join(bare, 'batch-requests.jsonl'), 'utf8'), scriptedTeacher()))
        .trim()
        .split('\n')
        .map((line) => {
          const parsed = JSON.parse(line) as { response: { body: { usage?: unknown } } };
          delete parsed.response.body.usage;
          return JSON.stringify(parsed);
        });
      writeFileSync(results, `${stripped.join('\n')}\n`);
      expect((await runMain(['batch', 'import', results, '--out', bare])).code).toBe(0);
      expect((await runMain(['batch', 'export', corpus, '--out', bare, '--model', 'teacher', '--config', config])).code).toBe(0);
      const estimated = totalsOf(bare);
      expect(estimated.calls).toBe(stripped.length);
      expect(estimated.prompt_tokens).toBeGreaterThan(100 * stripped.length);
      expect(estimated.completion_tokens).toBeGreaterThan(0);
    } finally {
      await live.close();
    }
  });

  it('loads the answers into the cache the export read, when the config names one (import is given only --out)', async () => {
    const { corpus } = files('shared', 6);
    const shared = join(dir, 'elsewhere.sqlite');
    const config = join(dir, 'shared-cache.json');
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40 }, cache: shared }));
    const out = join(dir, 'shared-out');
    expect(await loop(corpus, out, scriptedTeacher(), config)).toBeGreaterThan(1);
    expect(existsSync(join(out, 'cache.sqlite'))).toBe(false);
    const cache = new ResponseCache(shared);
    expect(cache.size()).toBeGreaterThan(0);
    cache.close();
  });

  it('finds a cache the export named by a relative path when import runs from another folder', async () => {
    const { corpus } = files('relative', 4);
    const config = join(dir, 'relative.json');
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40 } }));
    const out = join(dir, 'relative-out');
    const here = process.cwd();
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    try {
      process.chdir(join(dir, 'a'));
      expect((await runMain(['batch', 'export', corpus, '--out', out, '--model', 'teacher', '--config', config, '--cache', 'rel-cache.sqlite'])).code).toBe(0);
      const results = join(dir, 'relative-results.jsonl');
      writeFileSync(results, await runBatchFile(readFileSync(join(out, 'batch-requests.jsonl'), 'utf8'), scriptedTeacher()));
      process.chdir(join(dir, 'b'));
      const imported = await runMain(['batch', 'import', results, '--out', out]);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stderr).toContain(join(dir, 'a', 'rel-cache.sqlite'));
      expect(existsSync(join(dir, 'b', 'rel-cache.sqlite'))).toBe(false);
    } finally {
      process.chdir(here);
    }
  });

  it('writes every pending request into the wave, however short batch.collect_ms is', async () => {
    const waveOf = async (name: string, collectMs: number): Promise<number> => {
      const config = join(dir, `collect-${name}.json`);
      writeFileSync(config, JSON.stringify({ batch: { collect_ms: collectMs } }));
      const out = join(dir, `collect-${name}`);
      expect((await runMain(['batch', 'export', files('collect', 60).corpus, '--out', out, '--model', 'teacher', '--config', config, '--quiet'])).code).toBe(0);
      return readFileSync(join(out, 'batch-requests.jsonl'), 'utf8').trim().split('\n').length;
    };
    const patient = await waveOf('patient', 1500);
    expect(patient).toBeGreaterThan(16);
    expect(await waveOf('short', 20)).toBe(patient);
  });

  /** A corpus of `count` documents and a config that collects a wave in 40 ms, named after `name`. */
  function files(name: string, count: number): { corpus: string; config: string } {
    const corpus = join(dir, `corpus-${name}.jsonl`);
    writeFileSync(corpus, `${corpusLines({ ...CORPUS, count }).join('\n')}\n`);
    const config = join(dir, `fast-${name}.json`);
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40 } }));
    return { corpus, config };
  }

  /** export → answer with `vllm` → import, until export says the run is complete; the number of waves. */
  async function loop(corpus: string, out: string, vllm: MockHandler, config: string): Promise<number> {
    const results = join(out, '..', `${out.split('/').pop() ?? 'out'}-results.jsonl`);
    for (let waves = 0; waves <= 15; waves++) {
      const exported = await runMain(['batch', 'export', corpus, '--out', out, '--model', 'teacher', '--config', config]);
      expect(exported.code, exported.stderr).toBe(0);
      if (exported.stderr.includes('nothing left to export')) return waves;
      writeFileSync(results, await runBatchFile(readFileSync(join(out, 'batch-requests.jsonl'), 'utf8'), vllm));
      expect((await runMain(['batch', 'import', results, '--out', out])).code).toBe(0);
    }
    throw new Error('the export loop does not end');
  }

  it('ends when the endpoint refuses a line for good: its record is rejected with the endpoint\'s reason, as with --batch', async () => {
    const { corpus, config } = files('400', 4);
    const teacher = scriptedTeacher();
    let refusedKey: string | undefined;
    const vllm: MockHandler = (request, index) => {
      // Always the same request: the first one of the first wave.
      const key = JSON.stringify(request.body.messages);
      refusedKey ??= key;
      if (key === refusedKey) return errorReply(400, "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens.", { type: 'invalid_request_error', code: 'context_length_exceeded' });
      return teacher(request, index);
    };
    const out = join(dir, 'offline-400');
    expect(await loop(corpus, out, vllm, config)).toBeGreaterThan(1);
    const rejected = readRunFiles(out).rejected as Array<{ stage: string; reasons: Array<{ check: string }> }>;
    expect(rejected.some((r) => r.reasons.some((reason) => reason.check === 'llm_context_length'))).toBe(true);
  });

  it('imports only answers to the requests the export wrote, each once; a wrong folder or file is refused by name', async () => {
    const { corpus, config } = files('checks', 3);
    const out = join(dir, 'offline-checks');
    expect((await runMain(['batch', 'export', corpus, '--out', out, '--model', 'teacher', '--config', config])).code).toBe(0);
    const requests = readFileSync(join(out, 'batch-requests.jsonl'), 'utf8');
    const good = (await runBatchFile(requests, scriptedTeacher())).trim().split('\n');
    const first = JSON.parse(good[0] as string) as { custom_id: string; response: { body: { choices: Array<{ message: { content: string } }>; model: string } } };
    const garbage = JSON.parse(JSON.stringify(first)) as typeof first;
    garbage.response.body.choices[0]!.message.content = 'GARBAGE';
    const foreign = { ...first, custom_id: 'f'.repeat(64) };
    const other = JSON.parse(good[1] as string) as typeof first;
    other.response.body.model = 'other-model';
    const results = join(dir, 'checks-results.jsonl');
    writeFileSync(results, [JSON.stringify(first), JSON.stringify(garbage), JSON.stringify(foreign), JSON.stringify(other), ...good.slice(2)].map((l) => `${l}\n`).join(''));
    const imported = await runMain(['batch', 'import', results, '--out', out]);
    expect(imported.code).toBe(0);
    expect(imported.stderr).toMatch(new RegExp(`imported ${good.length} answers`));
    expect(imported.stderr).toMatch(/1 lines for requests already answered skipped/);
    expect(imported.stderr).toMatch(/1 lines for requests this export did not write skipped/);
    expect(imported.stderr).toMatch(/another model than the export asked for: 1 by other-model/);
    // Imported again: every answer is there already, none replaced.
    expect((await runMain(['batch', 'import', results, '--out', out])).stderr).toMatch(/imported 0 answers/);
    const cache = new ResponseCache(join(out, 'cache.sqlite'));
    expect(cache.get(first.custom_id)?.text).not.toBe('GARBAGE');
    cache.close();
    // A mistyped --out is no run directory with exported requests; a missing file is named.
    const typo = await runMain(['batch', 'import', results, '--out', join(dir, 'offline-chekcs')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/no exported requests here/);
    expect(existsSync(join(dir, 'offline-chekcs'))).toBe(false);
    const missing = await runMain(['batch', 'import', join(dir, 'nope.jsonl'), '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.jsonl: no such file/);
  });

  it('records only refusals of the request itself: an endpoint failure (unknown model) is asked for again, and without --out nothing is recorded', async () => {
    const { corpus, config } = files('fatal', 3);
    const out = join(dir, 'offline-fatal');
    const exportWave = async (): Promise<string> => {
      const r = await runMain(['batch', 'export', corpus, '--out', out, '--model', 'teacher', '--config', config]);
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(join(out, 'batch-requests.jsonl'), 'utf8');
    };
    const requests = await exportWave();
    const firstKey = (JSON.parse(requests.split('\n')[0] as string) as { custom_id: string }).custom_id;
    let n = 0;
    const unknownModel: MockHandler = () => errorReply(404, 'The model `teacher` does not exist.', { type: 'invalid_request_error', code: 'model_not_found' });
    const contextFirst: MockHandler = (request, index) =>
      n++ === 0 ? errorReply(400, "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens.", { type: 'invalid_request_error', code: 'context_length_exceeded' }) : scriptedTeacher()(request, index);
    const results = join(dir, 'fatal-results.jsonl');
    writeFileSync(results, await runBatchFile(requests, unknownModel));
    const imported = await runMain(['batch', 'import', results, '--out', out]);
    expect(imported.code).toBe(3);
    expect(imported.stderr).toMatch(/failed for the endpoint's own reason/);
    expect(existsSync(join(out, 'batch-refused.jsonl'))).toBe(false);
    // The next export asks for them again (the endpoint may be fixed meanwhile).
    expect(await exportWave()).toContain(firstKey);
    // A refusal of the request itself, imported with only the cache: said, not recorded.
    writeFileSync(results, await runBatchFile(requests, contextFirst));
    const byCache = await runMain(['batch', 'import', results, '--cache', join(out, 'cache.sqlite')]);
    expect(byCache.code).toBe(0);
    expect(byCache.stderr).toMatch(/not recorded without --out/);
    expect(existsSync(join(out, 'batch-refused.jsonl'))).toBe(false);
  });
});

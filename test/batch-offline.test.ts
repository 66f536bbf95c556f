/**
 * Offline batches: `gemtraj batch export` writes the waiting wave as a Batch API file, an
 * offline `vllm run-batch` stand-in answers it, `gemtraj batch import` loads the answers, and
 * the loop ends with the dataset of a live run; failed lines are asked for again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { corpusLines, type CorpusOptions } from '../src/testing/corpus.js';
import { runBatchFile } from '../src/testing/mock-batch-server.js';
import { errorReply, startMockServer, type MockHandler } from '../src/testing/mock-server.js';
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
});

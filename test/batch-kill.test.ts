/**
 * A real `node dist/cli/main.js run --batch` killed with SIGKILL while it polls, then rerun:
 * the rerun polls the batches the first process created instead of submitting their requests
 * again, every request is submitted once in all, and the dataset equals that of a live run.
 * Also killed at the second wave, when the first wave's answers are already in the cache.
 *
 * Needs the build (`npm test` builds first); skipped with a message when dist/ is missing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, runMain, spawnCli } from '../src/testing/cli-harness.js';
import { corpusLines, type CorpusOptions } from '../src/testing/corpus.js';
import { startMockBatchServer, type MockBatchServer } from '../src/testing/mock-batch-server.js';
import { startMockServer } from '../src/testing/mock-server.js';
import { contentById, readRunFiles } from '../src/testing/run-files.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const HAVE_DIST = existsSync(builtCli());
if (!HAVE_DIST) console.warn(`batch-kill.test.ts skipped: ${builtCli()} is missing — run \`npm run build\` first (npm test does).`);

const CORPUS: CorpusOptions = { count: 12, seed: 17, narrative: 0.1, markers: { '[[judge-fail]]': 0.15, '[[bad-args]]': 0.1 } };
const env = { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, GEMTRAJ_MODEL: undefined };

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 3000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe.skipIf(!HAVE_DIST)('kill -9 during batch polling, and rerun', () => {
  let dir: string;
  let corpus: string;
  let config: string;
  let server: MockBatchServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-batch-kill-'));
    corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
    config = join(dir, 'fast.json');
    writeFileSync(config, JSON.stringify({ batch: { collect_ms: 40, poll_min_ms: 10, poll_max_ms: 40 } }));
    server = await startMockBatchServer({ handler: scriptedTeacher() });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('submits no request twice and ends with the dataset of a live run', async () => {
    for (const k of Object.keys(env)) delete process.env[k];
    const live = await startMockServer({ handler: scriptedTeacher() });
    const liveOut = join(dir, 'live');
    expect((await runMain(['run', corpus, '--out', liveOut, '--base-url', live.url, '--model', 'teacher', '--quiet'])).code).toBe(0);
    await live.close();

    const out = join(dir, 'batched');
    const args = ['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--batch', '--config', config, '--quiet'];
    // Killed while the first wave is in progress, then while the second one is.
    for (const wave of [1, 2]) {
      server.hold = wave === 1;
      const run = spawnCli(args, env);
      if (wave === 2) {
        await until(() => server.batches.length >= 2, 'the second wave');
        server.hold = true;
      }
      await until(() => server.batches.at(-1)?.status === 'in_progress', `wave ${wave} in progress`);
      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');
    }
    const batchesBefore = server.batches.length;
    server.hold = false;
    const last = await spawnCli(args, env).done;
    expect(last.stderr).toBe('');
    expect(last.code).toBe(0);
    expect(server.batches.length).toBeGreaterThan(batchesBefore);
    expect([...server.submissions.entries()].filter(([, n]) => n > 1)).toEqual([]);
    const batched = readRunFiles(out);
    const reference = readRunFiles(liveOut);
    expect(contentById(batched.final)).toEqual(contentById(reference.final));
    expect(contentById(batched.rejected)).toEqual(contentById(reference.rejected));
    // Every answer counted once, whichever process read it (the second one read the first
    // wave's before it was killed): the usage ledger records answers, not submissions.
    const usage = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { usage: { totals: { calls: number; unconfirmed_calls: number } } }).usage.totals;
    expect(usage.calls).toBe(server.submissions.size);
    expect(usage.unconfirmed_calls).toBe(0);
  });

  /** A `run --batch` into `<dir>/<name>` whose first wave the provider holds in progress. */
  async function batchRunInWave(name: string): Promise<{ out: string; args: string[]; before: number; run: ReturnType<typeof spawnCli> }> {
    for (const k of Object.keys(env)) delete process.env[k];
    const out = join(dir, name);
    const args = ['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--batch', '--config', config, '--quiet'];
    server.hold = true;
    const before = server.batches.length;
    const run = spawnCli(args, env);
    await until(() => server.batches.length > before && server.batches.at(-1)?.status === 'in_progress', 'a wave in progress');
    return { out, args, before, run };
  }

  it('Ctrl-C during a wave stops at once, leaves the batch open, and counts each answer once over the rerun', async () => {
    const { out, args, before, run } = await batchRunInWave('interrupted');
    const stoppedAt = Date.now();
    run.child.kill('SIGINT');
    const stopped = await run.done;
    // No 20 s grace for answers that may be hours away (a generous bound for a loaded machine).
    expect(Date.now() - stoppedAt).toBeLessThan(12_000);
    expect(stopped.code).toBe(130);
    server.hold = false;
    const last = await spawnCli(args, env).done;
    expect(last.code, last.stderr).toBe(0);
    const usage = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { usage: { totals: { calls: number; unconfirmed_calls: number } } }).usage.totals;
    const submitted = new Set(server.batches.slice(before).flatMap((b) => b.customIds));
    expect(usage.unconfirmed_calls).toBe(0);
    expect(usage.calls).toBe(submitted.size);
  });

  it('gemtraj batch forget gives up a batch the provider lost: its requests go into the next wave', async () => {
    const { out, args, before, run } = await batchRunInWave('forgotten');
    run.child.kill('SIGKILL');
    await run.done;
    const lost = server.batches.at(-1);
    expect((await runMain(['batch', 'forget', 'batch_nope', '--out', out])).stderr).toMatch(/no open batch batch_nope; open: /);
    const forgot = await runMain(['batch', 'forget', lost?.id ?? '', '--out', out]);
    expect(forgot.code).toBe(0);
    expect(forgot.stderr).toMatch(/forgotten: its \d+ request\(s\) go into the next wave/);
    server.hold = false;
    const last = await spawnCli(args, env).done;
    expect(last.code, last.stderr).toBe(0);
    // The lost batch's requests were submitted again, in a new batch.
    const again = server.batches.slice(before + 1).flatMap((b) => b.customIds);
    expect(lost?.customIds.every((id) => again.includes(id))).toBe(true);
  });

  it('refuses a live rerun while batches are still open (it would pay for them again), unless told to', async () => {
    for (const k of Object.keys(env)) delete process.env[k];
    const out = join(dir, 'switched');
    server.hold = true;
    const run = spawnCli(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--batch', '--config', config, '--quiet'], env);
    await until(() => server.batches.at(-1)?.status === 'in_progress', 'a wave in progress');
    run.child.kill('SIGKILL');
    await run.done;
    server.hold = false;
    const live = await startMockServer({ handler: scriptedTeacher() });
    const refused = await runMain(['run', corpus, '--out', out, '--base-url', live.url, '--model', 'teacher', '--quiet']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/still open at the provider.*--batch/);
    expect(live.count).toBe(0);
    const forced = await runMain(['run', corpus, '--out', out, '--base-url', live.url, '--model', 'teacher', '--quiet', '--allow-config-change']);
    expect(forced.code).toBe(0);
    await live.close();
  });
});

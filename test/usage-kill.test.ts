/**
 * Usage after kills: a real `node dist/cli/main.js run` is killed with SIGKILL at seeded random
 * moments and rerun on the same `--out` until it finishes; run.json's usage must then count
 * every request the server received and exactly the tokens of the answers that were read. A
 * request in flight at a kill is an `unconfirmed_calls` (inside `calls`): whether it reached
 * the server before the process died is unknowable to the client, so `calls` may exceed the
 * server's count by those only. Before the usage ledger, run.json kept only what each session had written at
 * its last heartbeat, and killed sessions' calls were lost.
 *
 * Needs the build (`npm test` builds first); skipped with a message when dist/ is missing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_FILES } from '../src/pipeline/run-dir.js';
import type { UsageReport } from '../src/llm/usage.js';
import { builtCli, spawnCli } from '../src/testing/cli-harness.js';
import { corpusLines, type CorpusOptions } from '../src/testing/corpus.js';
import { seededRandom, startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const HAVE_DIST = existsSync(builtCli());
if (!HAVE_DIST) console.warn(`usage-kill.test.ts skipped: ${builtCli()} is missing — run \`npm run build\` first (npm test does).`);

const CORPUS: CorpusOptions = { count: 16, seed: 11, narrative: 0.1, markers: { '[[judge-fail]]': 0.1 } };
const LATENCY_MS = 60;
const CONCURRENCY = 4;
/**
 * Every answer's usage: fixed, so that tokens follow from the number of answers read; above any
 * prompt of this run, since a smaller count reads as a silently truncated prompt (context-watch).
 */
const USAGE = { prompt_tokens: 20_000, completion_tokens: 7 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function usageOf(dir: string): UsageReport {
  const runJson = JSON.parse(readFileSync(join(dir, RUN_FILES.runJson), 'utf8')) as { usage: UsageReport };
  return runJson.usage;
}

describe.skipIf(!HAVE_DIST)('usage after kill -9 and resume', () => {
  let server: MockServer;
  let dir: string;
  let corpus: string;
  /** Requests received, by the run that sent them. */
  const received = new Map<string, number>();
  let currentRun = 'ref';
  let onRequest: (() => void) | undefined;

  beforeAll(async () => {
    const teacher = scriptedTeacher();
    server = await startMockServer({
      handler: async (request, index) => {
        received.set(currentRun, (received.get(currentRun) ?? 0) + 1);
        onRequest?.();
        await sleep(LATENCY_MS);
        const reply = await teacher(request, index);
        return reply.kind === 'text' ? { ...reply, usage: USAGE } : reply;
      },
      recordRequests: false,
    });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-usage-kill-'));
    corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
  });

  afterAll(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const args = (out: string) => ['run', '--dedup', 'off', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--concurrency', String(CONCURRENCY), '--quiet'];
  const env = { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, GEMTRAJ_MODEL: undefined };

  it('counts every request the server received, and the tokens of every answer read', async () => {
    // Uninterrupted: the figures are exact.
    const ref = join(dir, 'reference');
    currentRun = 'ref';
    const reference = await spawnCli(args(ref), env).done;
    expect(reference.stderr).toBe('');
    expect(reference.code).toBe(0);
    const refCount = received.get('ref') ?? 0;
    expect(refCount).toBeGreaterThan(30);
    const refUsage = usageOf(ref).totals;
    expect([refUsage.calls, refUsage.unconfirmed_calls ?? 0, refUsage.prompt_tokens, refUsage.completion_tokens]).toEqual([
      refCount,
      0,
      refCount * USAGE.prompt_tokens,
      refCount * USAGE.completion_tokens,
    ]);

    // Killed at random moments after the run's first request, then resumed to the end.
    const out = join(dir, 'killed');
    const random = seededRandom(8080);
    let kills = 0;
    let finished = false;
    for (let attempt = 1; attempt <= 10 && !finished; attempt++) {
      currentRun = String(attempt);
      const run = spawnCli(args(out), env);
      const killAfter = attempt <= 4 ? 30 + Math.floor(random() * 600) : undefined;
      let timer: NodeJS.Timeout | undefined;
      if (killAfter !== undefined) {
        onRequest = () => {
          onRequest = undefined;
          timer = setTimeout(() => run.child.kill('SIGKILL'), killAfter);
        };
      }
      const result = await run.done;
      onRequest = undefined;
      if (timer !== undefined) clearTimeout(timer);
      if (result.signal === 'SIGKILL') kills++;
      else {
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        finished = true;
      }
    }
    expect(finished).toBe(true);
    expect(kills).toBeGreaterThanOrEqual(2);

    const made = [...received].filter(([run]) => run !== 'ref').reduce((sum, [, n]) => sum + n, 0);
    const usage = usageOf(out);
    const t = usage.totals;
    const unconfirmed = t.unconfirmed_calls ?? 0;
    // Every request received is a call; those whose answer died with a process are unconfirmed
    // (at most the requests in flight at each kill), and every other answer's tokens are counted.
    const detail = JSON.stringify({ made, calls: t.calls, unconfirmed, kills, received: [...received] });
    // A request sent when its process died may or may not have reached the server (no client
    // can tell): those are the unconfirmed calls, at most the requests in flight at each kill.
    // Every request the server received is counted, and nothing else but those.
    expect(unconfirmed, detail).toBeLessThanOrEqual(kills * CONCURRENCY);
    expect(t.calls, detail).toBeGreaterThanOrEqual(made);
    expect(t.calls - unconfirmed, detail).toBeLessThanOrEqual(made);
    expect(t.prompt_tokens).toBe((t.calls - unconfirmed) * USAGE.prompt_tokens);
    expect(t.completion_tokens).toBe((t.calls - unconfirmed) * USAGE.completion_tokens);
    // Per model and per stage, the same sums as the totals.
    expect(usage.by_model.teacher).toEqual(t);
    const byStage = Object.values(usage.by_stage).reduce((sum, models) => sum + (models?.teacher?.calls ?? 0), 0);
    expect(byStage).toBe(t.calls);
    // Cache hits on resume are not paid calls; the killed runs paid at least the reference's calls.
    expect(made).toBeGreaterThanOrEqual(refCount);
  }, 180_000);
});

/**
 * SIGTERM and SIGHUP — how Slurm, Kubernetes and systemd stop a job — take Ctrl-C's graceful
 * path: what is in flight settles, run.json says "interrupted", the lock is removed, exit 130,
 * and a rerun finishes the corpus. A real child process of the built CLI.
 * Needs the build (`npm test` builds first); skipped with a message when dist/ is missing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, runMain, spawnCli } from '../src/testing/cli-harness.js';
import { corpusLines } from '../src/testing/corpus.js';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const HAVE_DIST = existsSync(builtCli());
if (!HAVE_DIST) console.warn(`stop-signals.test.ts skipped: ${builtCli()} is missing — run \`npm run build\` first (npm test does).`);

const work = mkdtempSync(join(tmpdir(), 'gemtraj-signals-'));
let server: MockServer;
beforeAll(async () => {
  server = await startMockServer({ handler: scriptedTeacher(), latencyMs: 150 });
  writeFileSync(join(work, 'corpus.jsonl'), `${corpusLines({ count: 12, seed: 3 }).join('\n')}\n`);
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!HAVE_DIST)('stop signals', () => {
  it.each(['SIGTERM', 'SIGHUP'] as const)('%s stops like Ctrl-C: run.json interrupted, lock removed, exit 130, rerun finishes', { timeout: 60_000 }, async (signal) => {
    const out = join(work, signal);
    const args = ['run', join(work, 'corpus.jsonl'), '--out', out, '--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_SIGNAL_KEY', '--concurrency', '2'];
    const started = server.count;
    const { child, done } = spawnCli(args, { GEMTRAJ_SIGNAL_KEY: 'sk-test-signals' });
    while (server.count < started + 3) await new Promise((r) => setTimeout(r, 20));
    child.kill(signal);
    const atSignal = server.count;
    const result = await done;
    // Calls in flight settle, but no new step starts. Allowed: the 2 in flight (a step in flight
    // may re-ask once) and those started before the child handles the signal (12-13 before).
    expect(server.count - atSignal).toBeLessThanOrEqual(4);
    expect(result.stderr).not.toMatch(/^gemtraj: /m);
    expect(result.stderr).toMatch(/interrupted: finishing the work in flight/);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(130);
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { status: string };
    expect(runJson.status).toBe('interrupted');
    process.env.GEMTRAJ_SIGNAL_KEY = 'sk-test-signals';
    const rerun = await runMain([...args, '--quiet', '--concurrency', '8']);
    delete process.env.GEMTRAJ_SIGNAL_KEY;
    expect(rerun.code).toBe(0);
    expect((JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { counts: { balanced: boolean } }).counts.balanced).toBe(true);
  });
});

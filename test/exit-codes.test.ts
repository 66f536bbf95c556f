/**
 * Exit statuses that schedulers rely on (README "Commands" and the Kubernetes
 * `podFailurePolicy`, which fails an index on 2 and retries the rest):
 * - every command exits 2 on an unknown option, a missing argument or option, and a bad value;
 * - a run whose every model call failed (a refused connection, a host that does not resolve,
 *   500s throughout) exits 3 with one message, never 0;
 * - a base URL with `user:pass@` is a configuration error (2) before any request, and the
 *   password is not echoed;
 * - a run in which the endpoint answered some requests and then died exits 4 (incomplete);
 *   rerun after the endpoint is back, it finishes with 0.
 */
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_BAD_INPUT, EXIT_ENDPOINT, EXIT_INCOMPLETE } from '../src/errors.js';
import { runMain } from '../src/testing/cli-harness.js';
import { corpusLines } from '../src/testing/corpus.js';
import { startMockServer, type MockReply } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';

let root: string;
let corpus: string;
let fastConfig: string;
const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL, model: process.env.GEMTRAJ_MODEL };

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gemtraj-exit-'));
  corpus = join(root, 'corpus.jsonl');
  writeFileSync(corpus, `${corpusLines({ count: 3, seed: 4 }).join('\n')}\n`);
  // Short retries: a failing endpoint gives up in milliseconds.
  fastConfig = join(root, 'fast.yaml');
  writeFileSync(fastConfig, 'max_retries: 1\nbackoff_base_ms: 1\nbackoff_max_ms: 2\ntimeout_s: 5\nquiet: true\n');
  delete process.env.OPENAI_API_KEY;
  delete process.env.OPENAI_BASE_URL;
  delete process.env.GEMTRAJ_MODEL;
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  for (const [name, value] of [['OPENAI_API_KEY', saved.key], ['OPENAI_BASE_URL', saved.url], ['GEMTRAJ_MODEL', saved.model]] as const) {
    if (value !== undefined) process.env[name] = value;
  }
});

/** One bad command line per row: [what, argv]. Nothing here reaches an endpoint or writes output. */
const BAD_COMMAND_LINES: Array<[string, string[]]> = [
  ['unknown command', ['no-such-command']],
  ['unknown global option', ['--no-such-flag']],
  ['run: unknown option', ['run', 'in.jsonl', '--out', 'o', '--no-such-flag']],
  ['run: missing <input>', ['run', '--out', 'o']],
  ['run: missing --out', ['run', 'in.jsonl']],
  ['run: bad --concurrency', ['run', 'in.jsonl', '--out', 'o', '--concurrency', 'abc']],
  ['run: bad --max-retries', ['run', 'in.jsonl', '--out', 'o', '--max-retries', '-1']],
  ['run: bad --filter choice', ['run', 'in.jsonl', '--out', 'o', '--filter', 'nope']],
  ['run --estimate: bad --pilot', ['run', 'in.jsonl', '--out', 'o', '--estimate', '--pilot', '0']],
  ['run: bad --shard (config check)', ['run', 'in.jsonl', '--out', 'o', '--shard', 'x/y']],
  ['synthesize: unknown option', ['synthesize', 'in.jsonl', '--out', 'o', '--no-such-flag']],
  ['synthesize: bad --repaired-calls', ['synthesize', 'in.jsonl', '--out', 'o', '--repaired-calls', 'nope']],
  ['filter: unknown option', ['filter', 'in.jsonl', '--out', 'o', '--no-such-flag']],
  ['filter: no input', ['filter', '--out', 'o']],
  ['filter train: missing --labels', ['filter', 'train', '--out', 'm.json']],
  ['filter train: bad --epochs', ['filter', 'train', '--labels', 'l.jsonl', '--out', 'm.json', '--epochs', '0']],
  ['filter eval: unknown option', ['filter', 'eval', '--labels', 'l.jsonl', '--no-such-flag']],
  ['extract: unknown option', ['extract', 's.jsonl', '--out', 'o', '--no-such-flag']],
  ['extract: bad --timeout', ['extract', 's.jsonl', '--out', 'o', '--timeout', 'soon']],
  ['generate: unknown option', ['generate', 'e.jsonl', '--out', 'o', '--no-such-flag']],
  ['generate: missing <extractions>', ['generate', '--out', 'o']],
  ['refine: unknown option', ['refine', 't.jsonl', '--out', 'o', '--no-such-flag']],
  ['refine: bad --rpm', ['refine', 't.jsonl', '--out', 'o', '--rpm', '0']],
  ['dedup: unknown option', ['dedup', 'in.jsonl', '--out', 'o', '--no-such-flag']],
  ['dedup: bad --dedup', ['dedup', 'in.jsonl', '--out', 'o', '--dedup', 'off']],
  ['validate: unknown option', ['validate', 't.jsonl', '--out', 'o', '--no-such-flag']],
  ['validate: bad --from', ['validate', 't.jsonl', '--out', 'o', '--from', 'nope']],
  ['validate: bad --min-tool-calls', ['validate', 't.jsonl', '--out', 'o', '--min-tool-calls', '-2']],
  ['export: unknown option', ['export', 't.jsonl', '--out', 'x.jsonl', '--no-such-flag']],
  ['export: bad --format', ['export', 't.jsonl', '--out', 'x.jsonl', '--format', 'nope']],
  ['export: bad --target', ['export', 't.jsonl', '--out', 'x.jsonl', '--target', 'nope']],
  ['push: missing --repo', ['push', 'folder']],
  ['push: unknown option', ['push', 'folder', '--repo', 'a/b', '--no-such-flag']],
  ['stats: unknown option', ['stats', 'run', '--no-such-flag']],
  ['merge: missing --out', ['merge', 'a', 'b']],
  ['merge: unknown option', ['merge', 'a', 'b', '--out', 'o', '--no-such-flag']],
  ['report: bad --samples', ['report', 'run', '--samples', 'many']],
  ['report: missing <dir>', ['report']],
  ['view: bad --port', ['view', 'run', '--port', '70000']],
  ['view: unknown option', ['view', 'run', '--no-such-flag']],
  ['split: bad --test', ['split', 't.jsonl', '--out', 'o', '--test', '2.5']],
  ['split: bad --seed', ['split', 't.jsonl', '--out', 'o', '--seed', 'x']],
  ['eval: unknown option', ['eval', 'h.jsonl', '--out', 'o', '--no-such-flag']],
  ['eval: bad --from', ['eval', 'h.jsonl', '--out', 'o', '--from', 'nope']],
  ['batch: unknown subcommand', ['batch', 'nope']],
  ['batch export: missing --out', ['batch', 'export', 'in.jsonl']],
  ['batch export: bad --pipeline', ['batch', 'export', 'in.jsonl', '--out', 'o', '--pipeline', 'nope']],
  ['batch import: unknown option', ['batch', 'import', 'out.jsonl', '--no-such-flag']],
];

describe('bad command lines exit 2', () => {
  it.each(BAD_COMMAND_LINES)('%s', async (_what, argv) => {
    const result = await runMain(argv);
    expect(result.code, result.stderr).toBe(EXIT_BAD_INPUT);
    expect(result.stderr).not.toBe('');
  });
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const runArgs = (out: string, baseUrl: string, extra: string[] = []) => [
  'run', corpus, '--out', out, '--base-url', baseUrl, '--model', 'teacher', '--config', fastConfig, '--dedup', 'off', ...extra,
];

/** The one message of a run the endpoint never answered. */
function expectNeverAnswered(stderr: string): void {
  const lines = stderr.split('\n').filter((l) => l.startsWith('gemtraj:'));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^gemtraj: the model endpoint never answered: all \d+ request\(s\) failed/);
}

describe('a run whose every model call failed does not exit 0', () => {
  it('connection refused (a closed port): 3', async () => {
    const port = await closedPort();
    const result = await runMain(runArgs(join(root, 'refused'), `http://127.0.0.1:${port}/v1`));
    expect(result.code, result.stderr).toBe(EXIT_ENDPOINT);
    expectNeverAnswered(result.stderr);
    expect(result.stderr).toMatch(/ECONNREFUSED|refused/i);
  });

  it('a host that does not resolve (.invalid): 3', async () => {
    const result = await runMain(runArgs(join(root, 'nodns'), 'http://gemtraj-test.invalid/v1'));
    expect(result.code, result.stderr).toBe(EXIT_ENDPOINT);
    expectNeverAnswered(result.stderr);
  });

  it('HTTP 500 on every request: 3', async () => {
    const server = await startMockServer({ handler: () => ({ kind: 'status', status: 500, body: { error: { message: 'boom', type: 'server_error' } } }) });
    try {
      const result = await runMain(runArgs(join(root, 'five-hundreds'), server.url));
      expect(result.code, result.stderr).toBe(EXIT_ENDPOINT);
      expectNeverAnswered(result.stderr);
      expect(server.count).toBeGreaterThan(0);
      // run.json agrees with the exit status: not `finished`, and says what is left.
      const runJson = JSON.parse(readFileSync(join(root, 'five-hundreds', 'run.json'), 'utf8')) as { status: string; stop_reason?: string };
      expect(runJson.status).toBe('incomplete');
      expect(runJson.stop_reason).toMatch(/^\d+ record\(s\) were not made because the endpoint failed/);
    } finally {
      await server.close();
    }
  });

  it('a stage command (extract) whose every call failed: 3', async () => {
    const segmented = join(root, 'segmented');
    const filter = await runMain(['filter', corpus, '--out', segmented, '--filter', 'local', '--dedup', 'off', '--quiet']);
    expect(filter.code, filter.stderr).toBe(0);
    const port = await closedPort();
    const result = await runMain([
      'extract', join(segmented, 'segments.jsonl'), '--out', join(root, 'extract-refused'),
      '--base-url', `http://127.0.0.1:${port}/v1`, '--model', 'teacher', '--config', fastConfig,
    ]);
    expect(result.code, result.stderr).toBe(EXIT_ENDPOINT);
    expect(result.stderr).toMatch(/^gemtraj: the model endpoint never answered/m);
  });

  it('validate whose judge endpoint never answered: 3, and the records stay undecided for a rerun', async () => {
    const input = join(root, 'to-judge.jsonl');
    writeFileSync(input, `${JSON.stringify(makeValidTrajectory())}\n`);
    const port = await closedPort();
    const result = await runMain([
      'validate', input, '--out', join(root, 'judge-refused'),
      '--base-url', `http://127.0.0.1:${port}/v1`, '--model', 'judge', '--config', fastConfig,
    ]);
    expect(result.code, result.stderr).toBe(EXIT_ENDPOINT);
    expectNeverAnswered(result.stderr);
    expect(result.stdout).toMatch(/0 passed, 0 rejected/);
    expect(result.stdout).toMatch(/1 left undecided/);
  });

  it('a base URL with user:pass@ is refused before any request (2), without echoing the password', async () => {
    const server = await startMockServer({ handler: scriptedTeacher() });
    try {
      const withCredentials = server.url.replace('http://', 'http://alice:hunter2-secret@');
      const out = join(root, 'credentials');
      const flag = await runMain(runArgs(out, withCredentials));
      expect(flag.code, flag.stderr).toBe(EXIT_BAD_INPUT);
      expect(flag.stderr).toMatch(/user name or password/);
      expect(flag.stderr).not.toContain('hunter2-secret');
      // The same from the environment.
      process.env.OPENAI_BASE_URL = withCredentials;
      const env = await runMain(['run', corpus, '--out', out, '--model', 'teacher', '--config', fastConfig]);
      delete process.env.OPENAI_BASE_URL;
      expect(env.code, env.stderr).toBe(EXIT_BAD_INPUT);
      expect(env.stderr).not.toContain('hunter2-secret');
      expect(env.stderr).toMatch(/OPENAI_BASE_URL/);
      expect(server.count).toBe(0);
      expect(existsSync(out)).toBe(false);
    } finally {
      delete process.env.OPENAI_BASE_URL;
      await server.close();
    }
  });
});

describe('a run the endpoint answered in part', () => {
  it('exits 4 (incomplete) when it died midway, and 0 once a rerun has retried the rest', async () => {
    const teacher = scriptedTeacher();
    let alive = 4;
    const server = await startMockServer({
      handler: (request, index): MockReply | Promise<MockReply> =>
        alive-- > 0 ? teacher(request, index) : { kind: 'status', status: 503, body: { error: { message: 'down', type: 'server_error' } } },
    });
    try {
      const out = join(root, 'partial');
      const first = await runMain(runArgs(out, server.url, ['--concurrency', '1']));
      expect(first.code, first.stderr).toBe(EXIT_INCOMPLETE);
      const lines = first.stderr.split('\n').filter((l) => l.startsWith('gemtraj:'));
      expect(lines, first.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^gemtraj: incomplete: \d+ record\(s\) were not made because the endpoint failed/);
      const status = (): string => (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { status: string }).status;
      expect(status()).toBe('incomplete');
      // The endpoint is back: the rerun retries what was left and finishes.
      alive = Number.POSITIVE_INFINITY;
      const second = await runMain(runArgs(out, server.url, ['--concurrency', '1']));
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toBe('');
      expect(status()).toBe('finished');
    } finally {
      await server.close();
    }
  });
});

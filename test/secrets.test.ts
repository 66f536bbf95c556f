/**
 * The API key never leaves the process: a real `node dist/cli/main.js run` with a recognisable
 * fake key in OPENAI_API_KEY, against (a) an endpoint that refuses it with 401 and echoes it
 * back in the error message (as some servers do), and (b) a working endpoint with faults whose
 * error messages also echo it. The key must appear nowhere: not in any file of the run
 * directory (cache.sqlite and its WAL included, byte for byte), not on stdout, not on stderr.
 *
 * Needs the build (`npm test` builds first); skipped with a message when dist/ is missing.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, spawnCli, type CliResult } from '../src/testing/cli-harness.js';
import { corpusLines } from '../src/testing/corpus.js';
import { errorReply, faultMix, startMockServer, type MockHandler, type MockRequest, type MockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const HAVE_DIST = existsSync(builtCli());
if (!HAVE_DIST) console.warn(`secrets.test.ts skipped: ${builtCli()} is missing — run \`npm run build\` first (npm test does).`);

const KEY = 'sk-gemtraj-FAKE-KEY-0123456789';
/** Parts that would betray a partly redacted key. */
const FRAGMENTS = [KEY, 'FAKE-KEY-0123456789', 'gemtraj-FAKE-KEY'];

function authOf(request: MockRequest): string {
  const value = request.headers.authorization;
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Where any fragment of the key occurs: file names, and byte-level matches in UTF-8 and UTF-16. */
function leaks(out: string, result: CliResult): string[] {
  const found: string[] = [];
  for (const fragment of FRAGMENTS) {
    if (result.stdout.includes(fragment)) found.push(`stdout contains ${fragment}`);
    if (result.stderr.includes(fragment)) found.push(`stderr contains ${fragment}`);
    for (const file of filesUnder(out)) {
      const bytes = readFileSync(file);
      if (bytes.includes(Buffer.from(fragment, 'utf8')) || bytes.includes(Buffer.from(fragment, 'utf16le'))) found.push(`${file} contains ${fragment}`);
    }
  }
  return found;
}

describe.skipIf(!HAVE_DIST)('the API key never leaks', () => {
  let dir: string;
  let corpus: string;
  const servers: MockServer[] = [];
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: undefined, GEMTRAJ_MODEL: undefined, GEMTRAJ_DEBUG: '1' };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-secrets-'));
    corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines({ count: 12, seed: 9, markers: { '[[judge-fail]]': 0.2 } }).join('\n')}\n`);
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('a 401 that echoes the key: exit 3, one clear message, the key nowhere', async () => {
    const server = await startMockServer({
      handler: (request) =>
        errorReply(401, `Incorrect API key provided: ${authOf(request).replace(/^Bearer /, '')}. You can find your API key at https://example.invalid.`, {
          code: 'invalid_api_key',
        }),
    });
    servers.push(server);
    const out = join(dir, 'unauthorized');
    const result = await spawnCli(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--concurrency', '4'], env).done;
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/401/);
    expect(result.stderr).toMatch(/OPENAI_API_KEY/);
    // The key really was sent (so the check below means something).
    expect(server.requests.length).toBeGreaterThan(0);
    expect(authOf(server.requests[0]!)).toBe(`Bearer ${KEY}`);
    expect(leaks(out, result)).toEqual([]);
  }, 30_000);

  it('a working endpoint with faults whose messages echo the key: the key nowhere', async () => {
    const teacher = faultMix({ rate: 0.2, seed: 77, retryAfterMs: 100 }, scriptedTeacher());
    // On top of the standard faults, some 500/429 answers quote the Authorization header.
    const echo: MockHandler = (request, index) =>
      index % 9 === 4
        ? errorReply(index % 2 === 0 ? 500 : 429, `upstream refused credentials ${authOf(request)} (api_key=${KEY})`, { type: 'server_error' })
        : teacher(request, index);
    const server = await startMockServer({ handler: echo, latencyMs: 5 });
    servers.push(server);
    const out = join(dir, 'faulty');
    const args = ['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--concurrency', '4', '--timeout', '1'];
    // No retries, so that records are rejected as retryable with the echoed message as reason.
    const first = await spawnCli([...args, '--max-retries', '0'], env).done;
    // Records left to retry: incomplete (4), with the last error (redacted) in its message.
    expect(first.code).toBe(4);
    expect(first.stderr).toMatch(/gemtraj: incomplete: .*Last error/);
    expect(readFileSync(join(out, 'rejected.jsonl'), 'utf8')).toMatch(/upstream refused credentials/);
    expect(leaks(out, first)).toEqual([]);
    // The resumed run (progress lines on stderr, the funnel, run.json rewritten) leaks nothing either.
    const second = await spawnCli([...args, '--max-retries', '8'], env).done;
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/accounting/);
    expect(server.requests.every((r) => authOf(r) === `Bearer ${KEY}`)).toBe(true);
    expect(leaks(out, second)).toEqual([]);
  }, 45_000);
});

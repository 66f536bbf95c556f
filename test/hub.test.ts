/**
 * The Hub-ready dataset folder and `gemtraj push` through @huggingface/hub, against a local mock
 * of the Hugging Face Hub (src/testing/mock-hub.ts: repo create, preupload, git-lfs batch +
 * pre-signed storage PUT, NDJSON commit) on 127.0.0.1 that answers the way the Hub does, errors
 * included. The token comes from HF_TOKEN only; no real token, no network.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../src/cli/export.js';
import { pushDataset } from '../src/hub/push.js';
import { runMain } from '../src/testing/cli-harness.js';
import { startMockHub, type MockHub } from '../src/testing/mock-hub.js';
import { richTrajectory, simpleTrajectory } from './formats-fixture.js';

const TOKEN = 'hf_test_write_token_not_real';
const READ_ONLY = 'hf_test_read_token_not_real';

/** Runs `fn` with HF_TOKEN (and nothing else) set as given, restoring the environment after. */
async function withToken<T>(token: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.HF_TOKEN;
  if (token === undefined) delete process.env.HF_TOKEN;
  else process.env.HF_TOKEN = token;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.HF_TOKEN;
    else process.env.HF_TOKEN = saved;
  }
}

/** Every file under `root`, recursively. */
function allFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).map((f) => join(root, f)).filter((f) => statSync(f).isFile());
}

let dir: string;
let hub: MockHub;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-hub-'));
  hub = await startMockHub({ writeTokens: { [TOKEN]: ['acme'] }, readTokens: [READ_ONLY] });
  const many = Array.from({ length: 40 }, (_, i) => ({ ...richTrajectory(), id: `traj_${i}` }));
  writeFileSync(join(dir, 'trajectories.jsonl'), [...many, simpleTrajectory()].map((t) => JSON.stringify(t)).join('\n') + '\n');
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ gemtraj_version: '0.2.0', command: 'run', input: 'corpus.jsonl', config: { model: 'Qwen/Qwen3-32B', models: { judge: 'glm-4.6' }, filter: { mode: 'cascade' } }, versions: { prompts: { extract: 3 } }, counts: { documents: 10 } }));
});
afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('--hf-dataset', () => {
  it('writes data/*.parquet with nested messages and a card with configs, features, provenance and shape', async () => {
    const out = join(dir, 'hf');
    await runExport({ input: join(dir, 'trajectories.jsonl'), hfDataset: out, testSplit: 0.2, license: 'apache-2.0', log: () => undefined, warn: () => undefined });
    expect(readdirSync(join(out, 'data')).sort()).toEqual(['test-00000-of-00001.parquet', 'train-00000-of-00001.parquet']);
    const rows = [
      ...(await parquetReadObjects({ file: await asyncBufferFromFile(join(out, 'data', 'train-00000-of-00001.parquet')) })),
      ...(await parquetReadObjects({ file: await asyncBufferFromFile(join(out, 'data', 'test-00000-of-00001.parquet')) })),
    ] as Array<{ id: string; messages: Array<{ role: string; tool_calls: Array<{ function: { name: string; arguments: string } }> | null }>; tools: string }>;
    expect(rows).toHaveLength(41);
    const rich = rows.find((r) => r.id === 'traj_0') ?? rows[0];
    expect(rich?.messages[2]?.tool_calls?.[1]?.function).toEqual({ name: 'lookup_order', arguments: '{"order_id":"B2"}' });
    expect(JSON.parse(rich?.tools ?? '[]')).toEqual(richTrajectory().tools);
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    expect(card).toMatch(/^---\nlicense: apache-2\.0\n/);
    expect(card).toContain('configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\n  - split: test\n    path: data/test-*');
    expect(card).toContain('  - name: messages\n    list:\n    - name: role\n      dtype: string');
    expect(card).toContain('- n<1K');
    expect(card).toContain('model: `"Qwen/Qwen3-32B"`');
    expect(card).toContain('prompt versions: `{"extract":3}`');
    expect(card).toMatch(/\| messages \| [\d.]+ \| [\d.]+ \| 46\.10 \| 41 \|/);
  });
});

describe('gemtraj push (mock Hub, @huggingface/hub)', () => {
  it('creates the repo private, uploads Parquet through LFS and commits every file; the token only in API headers', async () => {
    const out = join(dir, 'hf');
    const r = await withToken(TOKEN, () => pushDataset(out, { repo: 'acme/gem-data', private: true, endpoint: hub.url }));
    expect(r).toMatchObject({ files: 3, lfsFiles: 2, lfsSkipped: 0, url: `${hub.url}/datasets/acme/gem-data` });
    expect(r.commitUrl).toMatch(new RegExp(`^${hub.url}/datasets/acme/gem-data/commit/[0-9a-f]{40}$`));
    const repo = hub.repos.get('acme/gem-data');
    expect(repo?.private).toBe(true);
    for (const f of ['README.md', 'data/train-00000-of-00001.parquet', 'data/test-00000-of-00001.parquet']) {
      expect(repo?.files.get(f)?.equals(readFileSync(join(out, f))), f).toBe(true);
    }
    // The LFS protocol (no xet), the Parquet bytes in storage, the card inline in the commit.
    expect(hub.transfersOffered.every((t) => !t.includes('xet') && t.includes('basic'))).toBe(true);
    expect(hub.lfs.size).toBe(2);
    // Storage PUTs carry no token; every Hub call does, in its header and never in a URL.
    expect(hub.log.filter((l) => l.url.startsWith('/storage/')).every((l) => l.auth === undefined)).toBe(true);
    expect(hub.log.filter((l) => !l.url.startsWith('/storage/')).every((l) => l.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(hub.log.some((l) => l.url.includes(TOKEN))).toBe(false);
  });

  it('pushing again is fine: the repo exists (409), the Hub has the LFS objects, one more commit', async () => {
    const out = join(dir, 'hf');
    const puts = hub.log.filter((l) => l.method === 'PUT').length;
    const again = await withToken(TOKEN, () => pushDataset(out, { repo: 'acme/gem-data', endpoint: hub.url }));
    expect(again).toMatchObject({ files: 3, lfsFiles: 2, lfsSkipped: 2 });
    expect(hub.log.filter((l) => l.method === 'PUT').length).toBe(puts);
    expect(hub.repos.get('acme/gem-data')).toMatchObject({ private: true, commits: 2 });
  });

  it('gemtraj push: the token from HF_TOKEN is in no output and no file written (folder, HOME, cache)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gemtraj-home-'));
    const saved = { HOME: process.env.HOME, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, HF_ENDPOINT: process.env.HF_ENDPOINT };
    process.env.HOME = home;
    process.env.XDG_CACHE_HOME = join(home, '.cache');
    process.env.HF_ENDPOINT = hub.url;
    try {
      const ok = await withToken(TOKEN, () => runMain(['push', join(dir, 'hf'), '--repo', 'acme/cli-data', '--private']));
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/pushed 3 files \(2 via LFS, 0 already there\) → http:\/\/127\.0\.0\.1:\d+\/datasets\/acme\/cli-data/);
      const refused = await withToken(READ_ONLY, () => runMain(['push', join(dir, 'hf'), '--repo', 'acme/other']));
      expect(refused.code).toBe(3);
      for (const r of [ok, refused]) expect(`${r.stdout}${r.stderr}`.includes(TOKEN) || `${r.stdout}${r.stderr}`.includes(READ_ONLY)).toBe(false);
      for (const f of [...allFiles(dir), ...allFiles(home)]) {
        const bytes = readFileSync(f);
        expect(bytes.includes(TOKEN) || bytes.includes(READ_ONLY), f).toBe(false);
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('reports a missing, malformed, rejected or read-only token and a foreign namespace the way the Hub says it', async () => {
    const out = join(dir, 'hf');
    const push = (token: string | undefined, repo = 'acme/x') => withToken(token, () => pushDataset(out, { repo, endpoint: hub.url }));
    await expect(push(undefined)).rejects.toThrow(/HF_TOKEN is not set/);
    await expect(push('not-a-token')).rejects.toThrow(/HF_TOKEN is not a Hugging Face access token/);
    await expect(push('hf_wrong')).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/^create repository: HTTP 401 \(HF_TOKEN invalid or expired\): Invalid credentials in Authorization header/) });
    await expect(push(READ_ONLY)).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/HTTP 403 \(the token cannot write to this repository\): You don't have the rights to create a dataset under the namespace "acme"/) });
    await expect(push(TOKEN, 'someone-else/data')).rejects.toMatchObject({ status: 403 });
    await expect(push(TOKEN, 'not a repo')).rejects.toThrow(/org\/name/);
    // An unreachable Hub: no HTTP status (the CLI exits 2, not 3).
    await expect(withToken(TOKEN, () => pushDataset(out, { repo: 'acme/x', endpoint: 'http://127.0.0.1:9' }))).rejects.toMatchObject({ status: undefined, message: expect.stringMatching(/^create repository: /) });
    // Nothing was created by the refused attempts.
    expect([...hub.repos.keys()].sort()).toEqual(['acme/cli-data', 'acme/gem-data']);
  });
});

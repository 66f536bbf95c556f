/**
 * The Hub-ready dataset folder and `gemtraj push`, against a local mock of the Hugging Face Hub
 * HTTP API (repo create, preupload, LFS batch + storage PUT + verify, NDJSON commit) on
 * 127.0.0.1 that answers the way the Hub does, errors included. No real token, no network.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../src/cli/export.js';
import { pushDataset } from '../src/hub/push.js';
import { richTrajectory, simpleTrajectory } from './formats-fixture.js';

const TOKEN = 'hf_test_token_not_real';

interface MockHub {
  url: string;
  repos: Map<string, { private: boolean; files: Map<string, Buffer> }>;
  lfs: Map<string, Buffer>;
  log: Array<{ method: string; path: string; auth: string | undefined }>;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function startMockHub(): Promise<MockHub> {
  const repos: MockHub['repos'] = new Map();
  const lfs = new Map<string, Buffer>();
  const log: MockHub['log'] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '';
      log.push({ method: req.method ?? '', path, auth: req.headers.authorization });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const data = await body(req);
      if (path.startsWith('/storage/')) {
        const oid = path.slice('/storage/'.length);
        if (req.headers.authorization !== undefined) return json(400, { error: 'signed URL: no Authorization header allowed' });
        if (createHash('sha256').update(data).digest('hex') !== oid) return json(400, { error: 'sha256 mismatch' });
        lfs.set(oid, data);
        res.writeHead(200).end();
        return;
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { error: 'Invalid credentials in Authorization header' });
      if (path === '/api/repos/create') {
        const b = JSON.parse(data.toString()) as { type: string; name: string; organization: string; private: boolean };
        const id = `${b.organization}/${b.name}`;
        if (b.type !== 'dataset') return json(400, { error: 'type' });
        if (repos.has(id)) return json(409, { error: 'You already created this dataset repo', url: `${base}/datasets/${id}` });
        repos.set(id, { private: b.private, files: new Map() });
        return json(200, { url: `${base}/datasets/${id}` });
      }
      let m = /^\/api\/datasets\/([^/]+\/[^/]+)\/preupload\/main$/.exec(path);
      if (m !== null) {
        const b = JSON.parse(data.toString()) as { files: Array<{ path: string; size: number; sample: string }> };
        return json(200, { files: b.files.map((f) => ({ path: f.path, uploadMode: f.path.endsWith('.parquet') ? 'lfs' : 'regular', shouldIgnore: false })) });
      }
      m = /^\/datasets\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path);
      if (m !== null) {
        const b = JSON.parse(data.toString()) as { operation: string; objects: Array<{ oid: string; size: number }> };
        res.writeHead(200, { 'content-type': 'application/vnd.git-lfs+json' });
        res.end(
          JSON.stringify({
            transfer: 'basic',
            objects: b.objects.map((o) =>
              lfs.has(o.oid)
                ? { oid: o.oid, size: o.size }
                : { oid: o.oid, size: o.size, actions: { upload: { href: `${base}/storage/${o.oid}` }, verify: { href: `${base}/api/verify`, header: { 'x-verify': '1' } } } },
            ),
          }),
        );
        return;
      }
      if (path === '/api/verify') {
        const b = JSON.parse(data.toString()) as { oid: string; size: number };
        return lfs.get(b.oid)?.length === b.size ? json(200, {}) : json(404, { error: 'object not found' });
      }
      m = /^\/api\/datasets\/([^/]+\/[^/]+)\/commit\/main$/.exec(path);
      if (m !== null) {
        const repo = repos.get(m[1] as string);
        if (repo === undefined) return json(404, { error: 'Repository not found' });
        const lines = data.toString().split('\n').map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
        if (lines[0]?.key !== 'header') return json(400, { error: 'header first' });
        for (const { key, value } of lines.slice(1)) {
          if (key === 'file') repo.files.set(value.path as string, Buffer.from(value.content as string, 'base64'));
          else if (key === 'lfsFile') {
            const blob = lfs.get(value.oid as string);
            if (blob === undefined) return json(400, { error: `LFS object ${String(value.oid)} missing` });
            repo.files.set(value.path as string, blob);
          }
        }
        return json(200, { commitUrl: `${base}/datasets/${m[1]}/commit/abc`, commitOid: 'abc' });
      }
      json(404, { error: 'not found' });
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return { url: base, repos, lfs, log, close: () => new Promise((r) => server.close(() => r())) };
}

let dir: string;
let hub: MockHub;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-hub-'));
  hub = await startMockHub();
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

describe('gemtraj push (mock Hub)', () => {
  it('creates the repo, uploads Parquet through LFS and commits every file; the token only in headers', async () => {
    const out = join(dir, 'hf');
    const r = await pushDataset(out, { repo: 'acme/gem-data', private: true, endpoint: hub.url, token: TOKEN });
    expect(r).toMatchObject({ files: 3, lfsFiles: 2, lfsSkipped: 0, commitUrl: `${hub.url}/datasets/acme/gem-data/commit/abc` });
    const repo = hub.repos.get('acme/gem-data');
    expect(repo?.private).toBe(true);
    for (const f of ['README.md', 'data/train-00000-of-00001.parquet', 'data/test-00000-of-00001.parquet']) {
      expect(repo?.files.get(f)?.equals(readFileSync(join(out, f))), f).toBe(true);
    }
    // Storage PUTs carry no token; every API call does.
    expect(hub.log.filter((l) => l.path.startsWith('/storage/')).every((l) => l.auth === undefined)).toBe(true);
    expect(hub.log.filter((l) => l.path.startsWith('/api/')).every((l) => l.auth === `Bearer ${TOKEN}`)).toBe(true);
    for (const f of readdirSync(out, { recursive: true }) as string[]) {
      if (f.endsWith('.md') || f.endsWith('.parquet')) expect(readFileSync(join(out, f)).includes(TOKEN)).toBe(false);
    }
    // Again: the repo exists (409 is fine) and the Hub has the LFS objects already.
    const again = await pushDataset(out, { repo: 'acme/gem-data', endpoint: hub.url, token: TOKEN });
    expect(again).toMatchObject({ files: 3, lfsFiles: 2, lfsSkipped: 2 });
  });

  it('reports a missing or rejected token clearly', async () => {
    const saved = process.env.HF_TOKEN;
    delete process.env.HF_TOKEN;
    try {
      await expect(pushDataset(join(dir, 'hf'), { repo: 'acme/x', endpoint: hub.url })).rejects.toThrow(/HF_TOKEN is not set/);
    } finally {
      if (saved !== undefined) process.env.HF_TOKEN = saved;
    }
    await expect(pushDataset(join(dir, 'hf'), { repo: 'acme/x', endpoint: hub.url, token: 'hf_wrong' })).rejects.toThrow(/HTTP 401 \(HF_TOKEN invalid or expired\): Invalid credentials/);
    await expect(pushDataset(join(dir, 'hf'), { repo: 'not a repo', endpoint: hub.url, token: TOKEN })).rejects.toThrow(/org\/name/);
  });
});

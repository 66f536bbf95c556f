/**
 * `gemtraj push DIR --repo org/name [--private]`: uploads a dataset folder to the Hugging Face
 * Hub through its HTTP API, the calls huggingface_hub's `upload_folder` makes:
 * 1. `POST /api/repos/create` (type dataset; 409 "already exists" is fine);
 * 2. `POST /api/datasets/{repo}/preupload/{revision}`: the Hub says which files go through LFS;
 * 3. LFS files: `POST /datasets/{repo}.git/info/lfs/objects/batch` (basic transfer), then PUT
 *    the bytes to the `upload` href it returns (skipped when the Hub already has the object),
 *    and POST the `verify` href when given;
 * 4. `POST /api/datasets/{repo}/commit/{revision}`: one NDJSON commit of every file (regular
 *    files inline as base64, LFS files by sha256 pointer).
 * The token is read from `HF_TOKEN` only, sent in the Authorization header, never written
 * anywhere nor printed. The endpoint is `HF_ENDPOINT` (default https://huggingface.co).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface PushOptions {
  /** `org/name` of the dataset repository. */
  repo: string;
  private?: boolean;
  /** Branch to commit to. @default 'main' */
  revision?: string;
  /** Commit title. @default 'Upload dataset with gemtraj' */
  message?: string;
  /** Hub URL. @default process.env.HF_ENDPOINT ?? 'https://huggingface.co' */
  endpoint?: string;
  /** Access token. @default process.env.HF_TOKEN */
  token?: string;
  fetch?: typeof fetch;
}

export interface PushResult {
  url: string;
  files: number;
  lfsFiles: number;
  /** LFS objects the Hub already had (not uploaded again). */
  lfsSkipped: number;
  commitUrl?: string;
}

export class HubError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.name.startsWith('.')) return [];
    return e.isDirectory() ? listFiles(p) : [p];
  });
}

/** Uploads every file of `dir` in one commit. */
export async function pushDataset(dir: string, options: PushOptions): Promise<PushResult> {
  const token = options.token ?? process.env.HF_TOKEN;
  if (token === undefined || token === '') throw new HubError('HF_TOKEN is not set: export a Hugging Face write token in HF_TOKEN');
  if (!/^[\w.-]+\/[\w.-]+$/.test(options.repo)) throw new HubError(`--repo must be org/name, got ${JSON.stringify(options.repo)}`);
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const revision = options.revision ?? 'main';
  const doFetch = options.fetch ?? fetch;
  const auth = { authorization: `Bearer ${token}` };

  const call = async (what: string, url: string, init: RequestInit, okStatuses: number[] = []): Promise<Response> => {
    const res = await doFetch(url, { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });
    if (!res.ok && !okStatuses.includes(res.status)) {
      let detail = '';
      try {
        const body = (await res.json()) as { error?: string };
        detail = body.error ?? '';
      } catch {
        /* not JSON */
      }
      const hint = res.status === 401 ? ' (HF_TOKEN invalid or expired)' : res.status === 403 ? ' (the token cannot write to this repository)' : '';
      throw new HubError(`${what}: HTTP ${res.status}${hint}${detail === '' ? '' : `: ${detail}`}`, res.status);
    }
    return res;
  };

  const [org, name] = options.repo.split('/') as [string, string];
  await call('create repository', `${endpoint}/api/repos/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'dataset', name, organization: org, private: options.private === true }),
  }, [409]);

  const files = listFiles(dir).map((abs) => {
    const bytes = readFileSync(abs);
    return { path: relative(dir, abs).split(sep).join('/'), bytes, size: statSync(abs).size, oid: createHash('sha256').update(bytes).digest('hex') };
  });
  if (files.length === 0) throw new HubError(`${dir}: no files to upload`);

  const pre = await call('preupload', `${endpoint}/api/datasets/${options.repo}/preupload/${encodeURIComponent(revision)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files: files.map((f) => ({ path: f.path, size: f.size, sample: f.bytes.subarray(0, 512).toString('base64') })) }),
  });
  const modes = new Map(((await pre.json()) as { files: Array<{ path: string; uploadMode: string }> }).files.map((f) => [f.path, f.uploadMode]));
  const lfs = files.filter((f) => modes.get(f.path) === 'lfs');

  let skipped = 0;
  if (lfs.length > 0) {
    const batch = await call('LFS batch', `${endpoint}/datasets/${options.repo}.git/info/lfs/objects/batch`, {
      method: 'POST',
      headers: { accept: 'application/vnd.git-lfs+json', 'content-type': 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation: 'upload', transfers: ['basic'], hash_algo: 'sha256', ref: { name: revision }, objects: lfs.map((f) => ({ oid: f.oid, size: f.size })) }),
    });
    const objects = ((await batch.json()) as { objects: Array<{ oid: string; actions?: { upload?: { href: string; header?: Record<string, string> }; verify?: { href: string; header?: Record<string, string> } }; error?: { message: string } }> }).objects;
    for (const o of objects) {
      const file = lfs.find((f) => f.oid === o.oid);
      if (file === undefined) continue;
      if (o.error !== undefined) throw new HubError(`LFS ${file.path}: ${o.error.message}`);
      const upload = o.actions?.upload;
      if (upload === undefined) {
        skipped += 1;
        continue;
      }
      // The upload href is pre-signed storage: it gets no Authorization header.
      const put = await doFetch(upload.href, { method: 'PUT', headers: { ...(upload.header ?? {}) }, body: file.bytes });
      if (!put.ok) throw new HubError(`LFS upload ${file.path}: HTTP ${put.status}`, put.status);
      const verify = o.actions?.verify;
      if (verify !== undefined) {
        await call(`LFS verify ${file.path}`, verify.href, {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.git-lfs+json', ...(verify.header ?? {}) },
          body: JSON.stringify({ oid: file.oid, size: file.size }),
        });
      }
    }
  }

  const lines = [
    { key: 'header', value: { summary: options.message ?? 'Upload dataset with gemtraj', description: '' } },
    ...files.map((f) =>
      modes.get(f.path) === 'lfs'
        ? { key: 'lfsFile', value: { path: f.path, algo: 'sha256', oid: f.oid, size: f.size } }
        : { key: 'file', value: { path: f.path, content: f.bytes.toString('base64'), encoding: 'base64' } },
    ),
  ];
  const commit = await call('commit', `${endpoint}/api/datasets/${options.repo}/commit/${encodeURIComponent(revision)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  const answer = (await commit.json()) as { commitUrl?: string };
  const result: PushResult = { url: `${endpoint}/datasets/${options.repo}`, files: files.length, lfsFiles: lfs.length, lfsSkipped: skipped };
  if (answer.commitUrl !== undefined) result.commitUrl = answer.commitUrl;
  return result;
}

/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1, speaking the endpoints
 * @huggingface/hub calls to create a dataset repository and commit files to it, with the Hub's
 * answers and error shapes (JSON `{"error": …}`, `X-Request-Id`):
 * - `POST /api/repos/create`: 200 `{url, name, id}`; 409 when it exists; 403 outside the
 *   token's namespaces or for a read-only token; 401 for an unknown token;
 * - `POST /api/datasets/{repo}/preupload/{rev}`: which files go through LFS (`*.parquet` as the
 *   Hub's default `.gitattributes` says, and anything over 10 MB);
 * - `POST /datasets/{repo}.git/info/lfs/objects/batch` (git-lfs batch API, `basic` transfer):
 *   no `actions` for objects the Hub already has, else a pre-signed storage `upload` href;
 * - `PUT /storage/{repo}/{oid}?X-Amz-Signature=…`: the pre-signed storage URL (refuses an
 *   Authorization header and a body whose sha256 is not the oid);
 * - `POST /api/datasets/{repo}/commit/{rev}`: NDJSON, header line first, `file` (base64) and
 *   `lfsFile` (sha256 pointer to an uploaded object) lines; 403 for a read-only token.
 * Every request is logged with its method, URL and Authorization header, for tests to check
 * where the token went.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface MockHubOptions {
  /** Tokens that may write, each to its namespaces. */
  writeTokens: Record<string, readonly string[]>;
  /** Tokens that authenticate but may not write. @default [] */
  readTokens?: readonly string[];
}

export interface MockHubRepo {
  private: boolean;
  files: Map<string, Buffer>;
  commits: number;
  /** LFS objects uploaded to this repository (the Hub's LFS storage is per repository). */
  lfsOids: Set<string>;
}

export interface MockHub {
  url: string;
  repos: Map<string, MockHubRepo>;
  /** LFS storage by sha256 (which repository holds which: {@link MockHubRepo.lfsOids}). */
  lfs: Map<string, Buffer>;
  /** The `transfers` each LFS batch request offered. */
  transfersOffered: string[][];
  log: Array<{ method: string; url: string; auth: string | undefined }>;
  close(): Promise<void>;
}

const LFS_THRESHOLD = 10 * 1024 * 1024;

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startMockHub(options: MockHubOptions): Promise<MockHub> {
  const repos = new Map<string, MockHubRepo>();
  const lfs = new Map<string, Buffer>();
  const log: MockHub['log'] = [];
  const transfersOffered: string[][] = [];
  let base = '';

  const send = (res: ServerResponse, status: number, value: unknown, type = 'application/json', extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': type, 'x-request-id': randomUUID(), ...extra });
    res.end(JSON.stringify(value));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    log.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization });
    const data = await body(req);

    if (req.method === 'PUT' && path.startsWith('/storage/')) {
      // Object storage answers in S3's XML.
      const refuse = (status: number, code: string): void => void res.writeHead(status, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code></Error>`);
      const [, ns, name, oid] = path.split('/').slice(1);
      const target = repos.get(`${ns ?? ''}/${name ?? ''}`);
      if (target === undefined || oid === undefined) return refuse(404, 'NoSuchBucket');
      if (req.headers.authorization !== undefined) return refuse(400, 'InvalidArgument');
      if (url.searchParams.get('X-Amz-Signature') === null) return refuse(403, 'AccessDenied');
      if (createHash('sha256').update(data).digest('hex') !== oid) return refuse(400, 'BadDigest');
      lfs.set(oid, data);
      target.lfsOids.add(oid);
      res.writeHead(200, { etag: `"${createHash('md5').update(data).digest('hex')}"` }).end();
      return;
    }

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const namespaces = token === undefined ? undefined : options.writeTokens[token];
    const canRead = namespaces !== undefined || (token !== undefined && (options.readTokens ?? []).includes(token));
    if (!canRead) return send(res, 401, { error: 'Invalid credentials in Authorization header' });
    const mayWrite = (repoId: string): boolean => namespaces?.includes(repoId.split('/')[0] as string) === true;

    if (req.method === 'POST' && path === '/api/repos/create') {
      const b = JSON.parse(data.toString()) as { type?: string; name: string; organization?: string; visibility?: string; private?: boolean };
      const id = `${b.organization ?? 'me'}/${b.name}`;
      if (b.type !== 'dataset') return send(res, 400, { error: 'this mock only hosts datasets' });
      if (!mayWrite(id)) return send(res, 403, { error: `You don't have the rights to create a dataset under the namespace "${b.organization ?? ''}"` });
      if (repos.has(id)) return send(res, 409, { error: 'You already created this dataset repo', url: `${base}/datasets/${id}` });
      repos.set(id, { private: b.visibility === 'private' || b.private === true, files: new Map(), commits: 0, lfsOids: new Set() });
      return send(res, 200, { url: `${base}/datasets/${id}`, name: id, id: randomUUID() });
    }

    let m = /^\/api\/datasets\/([^/]+\/[^/]+)\/(preupload|commit)\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && m !== null) {
      const id = m[1] as string;
      const repo = repos.get(id);
      if (repo === undefined) return send(res, 404, { error: 'Repository not found' }, 'application/json', { 'x-error-code': 'RepoNotFound' });
      if (!mayWrite(id)) return send(res, 403, { error: `You don't have write access to ${id}` });
      if (m[2] === 'preupload') {
        const b = JSON.parse(data.toString()) as { files: Array<{ path: string; size: number; sample: string }> };
        return send(res, 200, {
          files: b.files.map((f) => ({ path: f.path, uploadMode: f.path.endsWith('.parquet') || f.size > LFS_THRESHOLD ? 'lfs' : 'regular', shouldIgnore: false })),
          commitOid: `${repo.commits}`.padStart(40, '0'),
        });
      }
      const lines = data.toString().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
      if (lines[0]?.key !== 'header') return send(res, 400, { error: 'The first line must be the commit header' });
      const staged = new Map(repo.files);
      for (const { key, value } of lines.slice(1)) {
        if (key === 'file') staged.set(value.path as string, Buffer.from(value.content as string, 'base64'));
        else if (key === 'deletedFile') staged.delete(value.path as string);
        else if (key === 'lfsFile') {
          const blob = repo.lfsOids.has(value.oid as string) ? lfs.get(value.oid as string) : undefined;
          if (blob === undefined || blob.length !== value.size) return send(res, 422, { error: `Your push was rejected because an LFS pointer pointed to a file that does not exist (${String(value.path)})` });
          staged.set(value.path as string, blob);
        } else return send(res, 400, { error: `Unknown key ${key}` });
      }
      repo.files = staged;
      repo.commits += 1;
      const oid = createHash('sha1').update(`${id}:${repo.commits}`).digest('hex');
      return send(res, 200, { success: true, commitOid: oid, commitUrl: `${base}/datasets/${id}/commit/${oid}`, hookOutput: '' });
    }

    m = /^\/datasets\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path);
    if (req.method === 'POST' && m !== null) {
      const id = m[1] as string;
      const repo = repos.get(id);
      if (repo === undefined) return send(res, 404, { message: 'Repository not found' }, 'application/vnd.git-lfs+json');
      if (!mayWrite(id)) return send(res, 403, { message: 'write access required' }, 'application/vnd.git-lfs+json');
      const b = JSON.parse(data.toString()) as { operation: string; transfers?: string[]; objects: Array<{ oid: string; size: number }> };
      transfersOffered.push(b.transfers ?? ['basic']);
      if (b.operation !== 'upload' || !(b.transfers ?? ['basic']).includes('basic')) return send(res, 422, { message: 'only basic uploads' }, 'application/vnd.git-lfs+json');
      return send(
        res,
        200,
        {
          transfer: 'basic',
          objects: b.objects.map((o) =>
            repo.lfsOids.has(o.oid) && lfs.get(o.oid)?.length === o.size
              ? { oid: o.oid, size: o.size }
              : { oid: o.oid, size: o.size, authenticated: true, actions: { upload: { href: `${base}/storage/${id}/${o.oid}?X-Amz-Signature=${randomUUID()}`, expires_in: 86400 } } },
          ),
        },
        'application/vnd.git-lfs+json',
      );
    }
    send(res, 404, { error: 'Sorry, we can\'t find the page you are looking for.' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return { url: base, repos, lfs, transfersOffered, log, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * `gemtraj push DIR --repo org/name [--private]`: uploads a dataset folder to the Hugging Face
 * Hub through the official client, @huggingface/hub: `createRepo` (409 "already exists" is
 * fine: pushing again updates the repo), then one `commit` of every file (the library asks the
 * Hub which files go through LFS, uploads those the Hub does not have yet, and commits all in
 * one NDJSON call).
 *
 * The token is read from `HF_TOKEN` only, handed to the library (which sends it in the
 * Authorization header of Hub API calls, never to pre-signed storage URLs), never written
 * anywhere nor printed. The endpoint is `HF_ENDPOINT` (default https://huggingface.co).
 *
 * `useXet: false`: large files go through the Hub's LFS protocol (batch API, then a PUT to the
 * storage URL it returns), which the Hub accepts for every repo and which the tests' mock Hub
 * speaks; the xet protocol (content-defined chunks to a CAS server) saves little on a few
 * freshly written Parquet files.
 */
import { openAsBlob, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
// Types only here: the client is loaded when a push runs, not by every command (about 0.1 s of CPU).
import type { CommitOperation, CommitOutput } from '@huggingface/hub';

export interface PushOptions {
  /** `org/name` of the dataset repository. */
  repo: string;
  /** Create the repository private (an existing repository keeps its visibility). */
  private?: boolean;
  /** Branch to commit to. @default 'main' */
  revision?: string;
  /** Commit title. @default 'Upload dataset with gemtraj' */
  message?: string;
  /** Hub URL. @default process.env.HF_ENDPOINT ?? 'https://huggingface.co' */
  endpoint?: string;
  /** Custom fetch (a proxy, say); the default is the global fetch. */
  fetch?: typeof fetch;
}

export interface PushResult {
  url: string;
  files: number;
  /** Files the Hub took through LFS. */
  lfsFiles: number;
  /** LFS files whose content the Hub already had (not uploaded again). */
  lfsSkipped: number;
  commitUrl?: string;
  commitOid?: string;
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

/** A Hub refusal as a {@link HubError} naming the step; the library's message carries the Hub's own words. */
function hubError(hub: HubClient, what: string, error: unknown): HubError {
  if (error instanceof hub.HubApiError) {
    const hint = error.statusCode === 401 ? ' (HF_TOKEN invalid or expired)' : error.statusCode === 403 ? ' (the token cannot write to this repository)' : '';
    return new HubError(`${what}: HTTP ${error.statusCode}${hint}: ${error.message}`, error.statusCode);
  }
  return new HubError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}

type HubClient = typeof import('@huggingface/hub');

/** Uploads every file of `dir` (hidden files aside) in one commit. */
export async function pushDataset(dir: string, options: PushOptions): Promise<PushResult> {
  const accessToken = process.env.HF_TOKEN;
  if (accessToken === undefined || accessToken === '') throw new HubError('HF_TOKEN is not set: export a Hugging Face write token in HF_TOKEN');
  // The library refuses other tokens with a TypeError; say it in our terms, without the token.
  if (!accessToken.startsWith('hf_')) throw new HubError('HF_TOKEN is not a Hugging Face access token (they start with hf_)');
  if (!/^[\w.-]+\/[\w.-]+$/.test(options.repo)) throw new HubError(`--repo must be org/name, got ${JSON.stringify(options.repo)}`);
  const hubUrl = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const repo = { type: 'dataset' as const, name: options.repo };

  const paths = listFiles(dir);
  if (paths.length === 0) throw new HubError(`${dir}: no files to upload`);
  const hub: HubClient = await import('@huggingface/hub');
  const { commitIter, createRepo, HubApiError } = hub;

  try {
    await createRepo({ repo, accessToken, hubUrl, ...(options.private === true ? { visibility: 'private' as const } : {}), ...(options.fetch !== undefined ? { fetch: options.fetch } : {}) });
  } catch (error) {
    if (!(error instanceof HubApiError && error.statusCode === 409)) throw hubError(hub, 'create repository', error);
  }

  // File-backed blobs: the library reads them as it hashes and uploads, not all at once.
  const operations: CommitOperation[] = await Promise.all(
    paths.map(async (abs) => ({ operation: 'addOrUpdate' as const, path: relative(dir, abs).split(sep).join('/'), content: await openAsBlob(abs) })),
  );

  // The progress events say which files went through LFS (hashed, then uploaded) and which of
  // those were sent (an upload starts at progress 0) rather than found on the Hub already.
  const lfs = new Set<string>();
  const sent = new Set<string>();
  let step = 'preupload';
  let output: CommitOutput | undefined;
  try {
    const events = commitIter({
      repo,
      accessToken,
      hubUrl,
      operations,
      title: options.message ?? 'Upload dataset with gemtraj',
      branch: options.revision ?? 'main',
      useXet: false,
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    });
    for (;;) {
      const next = await events.next();
      if (next.done === true) {
        output = next.value;
        break;
      }
      const e = next.value;
      if (e.event === 'phase') step = e.phase === 'uploadingLargeFiles' ? 'LFS upload' : e.phase === 'committing' ? 'commit' : 'preupload';
      else if (step === 'LFS upload') {
        lfs.add(e.path);
        if (e.state === 'uploading' && e.progress === 0) sent.add(e.path);
      }
    }
  } catch (error) {
    throw hubError(hub, step, error);
  }

  const result: PushResult = { url: `${hubUrl}/datasets/${options.repo}`, files: operations.length, lfsFiles: lfs.size, lfsSkipped: lfs.size - sent.size };
  if (output?.commit.url !== undefined) result.commitUrl = output.commit.url;
  if (output?.commit.oid !== undefined) result.commitOid = output.commit.oid;
  return result;
}

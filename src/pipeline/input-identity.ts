/**
 * What a corpus is, for the resume check: a run directory resumed on another corpus would mix
 * two datasets under one accounting. A file is identified by its content (size and a hash of
 * its first MiB), so the same file typed as `./in/x.jsonl` or `in/x.jsonl`, or moved, is the
 * same corpus; a folder by its resolved path (files may be added to a folder between sessions).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { canonicalPath } from '../io/same-file.js';

/** Bytes hashed from the start of an input file. */
const HEAD_BYTES = 1 << 20;

export interface InputIdentity {
  /** Resolved path (symlinks followed). */
  path: string;
  kind: 'file' | 'folder';
  /** Size in bytes (files). */
  size?: number | undefined;
  /** Modification time, ms since the epoch (files; informative: a copy changes it). */
  mtime_ms?: number | undefined;
  /** sha256 (hex) of the first MiB (files). */
  head_sha256?: string | undefined;
}

/** The identity of an input path; `undefined` when it cannot be read (the reader reports that). */
export function inputIdentity(input: string): InputIdentity | undefined {
  let stat;
  try {
    stat = statSync(input);
  } catch {
    return undefined;
  }
  const path = canonicalPath(input);
  if (!stat.isFile()) return { path, kind: 'folder' };
  let fd: number;
  try {
    fd = openSync(input, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(Math.min(HEAD_BYTES, stat.size));
    const n = readSync(fd, head, 0, head.length, 0);
    return { path, kind: 'file', size: stat.size, mtime_ms: Math.round(stat.mtimeMs), head_sha256: createHash('sha256').update(head.subarray(0, n)).digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** How `current` differs from `previous` as a corpus (empty when it is the same one). */
export function inputDifferences(previous: InputIdentity, current: InputIdentity): string[] {
  if (previous.kind !== current.kind) return [`a ${previous.kind} then, a ${current.kind} now`];
  if (current.kind === 'folder') return previous.path === current.path ? [] : [`folder ${previous.path} then, ${current.path} now`];
  const out: string[] = [];
  if (previous.size !== current.size) out.push(`size ${String(previous.size)} then, ${String(current.size)} bytes now`);
  if (previous.head_sha256 !== current.head_sha256) out.push('different content at the start');
  return out;
}

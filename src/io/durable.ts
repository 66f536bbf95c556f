/**
 * Writes that never leave half a record behind and never fail without naming their file.
 *
 * `writeSync` may write fewer bytes than asked (a disk filling up, a quota, a signal): the
 * rest must be written or the line is torn. A full disk (ENOSPC, EDQUOT, EFBIG, or a write
 * that makes no progress) becomes a {@link DiskFullError} naming the file, after the partial
 * line is cut off again, so a rerun after space is freed starts from whole lines.
 */
import { closeSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { GemtrajError } from '../errors.js';

/** Error codes that mean "no room to write": the user frees space and reruns. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL']);

/** The disk (or quota) holding `file` is full; nothing already finished is lost. */
export class DiskFullError extends GemtrajError {
  constructor(readonly file: string, cause?: unknown) {
    super(
      `no space left on the device writing ${file}` +
        `${cause instanceof Error && 'code' in cause ? ` (${String((cause as NodeJS.ErrnoException).code)})` : ''}. ` +
        'Nothing finished is lost: free space (or use another --out) and rerun the same command to resume.',
      undefined,
      { cause },
    );
    this.name = 'DiskFullError';
  }
}

/** A write to `file` failed for another reason (read-only folder, I/O error): says which file. */
export class WriteError extends GemtrajError {
  constructor(readonly file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    // Node's recursive mkdir reports a read-only file system as ENOENT.
    const mkdirFailed = code === 'ENOENT' && (cause as NodeJS.ErrnoException).syscall === 'mkdir';
    const why = mkdirFailed
      ? `cannot write ${file}: its folder cannot be created (a read-only or not writable file system?); choose another --out`
      :
      code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY'
        ? `cannot write ${file}: the folder is read-only or not writable (${code}); choose another --out or fix its permissions`
        : `cannot write ${file}: ${cause instanceof Error ? cause.message : String(cause)}`;
    super(why, undefined, { cause });
    this.name = 'WriteError';
  }
}

/**
 * Space held back for the end of a run (see {@link holdReserve}): released at the first full
 * disk, so that what is already done can still be recorded after it.
 */
const reserves = new Set<() => void>();

/**
 * Writes `bytes` of zeros to `file` and keeps them until the first {@link DiskFullError} (or
 * `release`). When the disk fills, the writer that hit it still fails and the run stops; but
 * everything after it — answers already paid for that reach the response cache, the usage
 * ledger, the dedup index's last commit, run.json's final status — finds room. Best effort:
 * when even the reserve does not fit, there is none. Returns the function that deletes it.
 */
export function holdReserve(file: string, bytes: number): () => void {
  let held = false;
  const release = (): void => {
    reserves.delete(release);
    if (held) rmSync(file, { force: true });
    held = false;
  };
  try {
    const fd = openSync(file, 'w');
    try {
      // Not writeAll: a reserve that does not fit is no full-disk event (no reserve is spent).
      const zeros = Buffer.alloc(Math.min(bytes, 1 << 20));
      for (let done = 0; done < bytes; ) {
        const n = writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - done));
        if (n <= 0) throw new Error('no progress');
        done += n;
      }
      fsyncSync(fd);
      held = true;
    } finally {
      closeSync(fd);
    }
  } catch {
    rmSync(file, { force: true });
    return release;
  }
  reserves.add(release);
  return release;
}

/** A {@link DiskFullError}, after releasing every reserve (the first full disk spends them). */
function diskFull(file: string, cause?: unknown): DiskFullError {
  for (const release of [...reserves]) release();
  return new DiskFullError(file, cause);
}

/** True for an error that means the device is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && FULL_CODES.has(code);
}

/** Wraps a failed write of `file` in the error class that names it (unchanged when already one). */
export function writeFailure(file: string, error: unknown): GemtrajError {
  if (error instanceof DiskFullError || error instanceof WriteError) return error;
  return isDiskFull(error) ? diskFull(file, error) : new WriteError(file, error);
}

/** Creates an output folder (and its parents); a read-only or full file system is named as such. */
export function makeOutputDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw writeFailure(dir, error);
  }
}

/**
 * Writes all of `data` at the current end of `fd` (opened for append), or at byte `position`
 * when given, looping over short writes. Throws {@link DiskFullError} when the device stops
 * taking bytes.
 */
export function writeAll(fd: number, data: Uint8Array, file: string, position?: number): void {
  let done = 0;
  while (done < data.length) {
    let n: number;
    try {
      n = writeSync(fd, data, done, data.length - done, position === undefined ? null : position + done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN' || (error as NodeJS.ErrnoException).code === 'EINTR') continue;
      throw writeFailure(file, error);
    }
    // A write that takes nothing on a regular file is a full device that did not say so.
    if (n <= 0) throw diskFull(file);
    done += n;
  }
}

/** fsync, with a failure (a delayed ENOSPC on network file systems) naming the file. */
export function syncFd(fd: number, file: string): void {
  try {
    fsyncSync(fd);
  } catch (error) {
    throw writeFailure(file, error);
  }
}

/** {@link syncFd} on libuv's thread pool: the event loop goes on while the device flushes (about 1 ms a file here). */
export function syncFdAsync(fd: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fsync(fd, (error) => (error === null ? resolve() : reject(writeFailure(file, error))));
  });
}

/** Cuts `fd` back to `size` bytes (removing a partial line); best effort. */
export function truncateTo(fd: number, size: number): void {
  try {
    ftruncateSync(fd, size);
  } catch {
    // The write error already reported is the one that matters.
  }
}

/**
 * Replaces `file` atomically: writes a temp file beside it, syncs it and renames it over, so a
 * crash or a full disk leaves the old file whole. The temp file is removed on failure.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    try {
      fd = openSync(tmp, 'w');
    } catch (error) {
      throw writeFailure(file, error);
    }
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, file);
    syncFd(fd, file);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw writeFailure(file, error);
  }
}

/**
 * Whether two paths name the same file, however they are spelled: `a` and `./x/../a`, a
 * symlink and its target, two hard links. Used to refuse an output that would overwrite an
 * input (an export onto its own input would read back an empty file).
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** The canonical path of `path`: symlinks resolved, also when the file itself does not exist yet. */
export function canonicalPath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return resolve(realpathSync(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** True when `a` and `b` are the same file (same device and inode when both exist). */
export function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return canonicalPath(a) === canonicalPath(b);
  }
}

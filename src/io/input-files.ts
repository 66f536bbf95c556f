/**
 * The files an input argument stands for: one file, a folder (recursively, in sorted order
 * so that runs are reproducible), a glob (`data/train-*.parquet`, quoted so that gemtraj
 * expands it), or a pipe: `-` for standard input, `/dev/stdin`, `<(zcat …)`.
 *
 * A folder keeps every entry it holds: what gemtraj does not read is listed with `skip` (the
 * reason), and the reader reports it by name, so nothing is left out in silence. Policy:
 * hidden files and folders (`.git`, `.DS_Store`) are reported, not read (a hidden folder is
 * one entry, not walked); symbolic links are followed, to files and folders, inside the
 * input or outside it; a file or folder reached twice (two links, a hard link) is read once,
 * the later path reported as the same; a link back to a folder that contains it (a loop), a
 * dangling link and a pipe or device inside a folder are reported. Files and folders are
 * identified by device and inode, which realpath would get wrong for hard links.
 */
import { lstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';
import type { Reason } from '../records.js';
import { STDIN } from './byte-stream.js';
import { kindFromName, SUPPORTED_TYPES, type FileKind } from './input-format.js';

/** Thrown for input that cannot be read at all (missing path, unsupported file type). Exit status 2. */
export class InputError extends GemtrajError {
  constructor(message: string) {
    super(message, EXIT_BAD_INPUT);
    this.name = 'InputError';
  }
}

export interface InputFile {
  /** Path to open (`-` for standard input). */
  path: string;
  /** Name in ids and rejection ids: relative to the folder or glob base, the file name, or `stdin`. */
  label: string;
  /** How to read it; `undefined` when it is not read (see `skip`). */
  kind: FileKind | undefined;
  /** A pipe or device: read once, front to back (no second pass for counting, no seeking). */
  stream: boolean;
  /** Why this entry of a folder is not read (hidden, unsupported type, a loop, …): reported as its rejection. */
  skip?: Reason | undefined;
}

const SNIFF: FileKind = { format: 'sniff', compression: 'sniff' };
const GLOB_CHARS = /[*?[]/;

function toLabel(base: string, file: string): string {
  return relative(base, file).split(sep).join('/');
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Device and inode: the identity of a file or folder whatever the path (links, `..`, hard links). */
function identity(stat: Stats): string {
  return `${stat.dev}:${stat.ino}`;
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

function fileType(stat: Stats): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** One walk over a folder: what was met already, so that every file is read once. */
interface Walk {
  base: string;
  out: InputFile[];
  /** Pattern of a glob: only matching files are input, and nothing else is reported. */
  match?: RegExp | undefined;
  /** Files met, by identity → the path that read them. */
  files: Map<string, string>;
  /** Folders walked, by identity → their path. */
  dirs: Map<string, string>;
}

function report(walk: Walk, path: string, label: string, check: string, message: string): void {
  if (walk.match !== undefined && !walk.match.test(label.replace(/\/$/, ''))) return;
  walk.out.push({ path, label, kind: undefined, stream: false, skip: { check, message: `${path}: ${message}` } });
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The target a link names, for messages. */
function linkTarget(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '(unreadable)';
  }
}

function walkDir(dir: string, walk: Walk, ancestors: Map<string, string>): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort(byName);
  } catch (error) {
    if (dir === walk.base) throw new InputError(`${dir}: the folder cannot be read (${errorCode(error)})`);
    report(walk, dir, `${toLabel(walk.base, dir)}/`, 'input_unreadable', `the folder cannot be read (${errorCode(error)})`);
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const label = toLabel(walk.base, path);
    // Shell globs skip dotfiles too: a quoted glob matches what the shell's would.
    if (entry.name.startsWith('.')) {
      if (walk.match !== undefined) continue;
      const folder = entry.isDirectory() || (entry.isSymbolicLink() && isFolder(path));
      report(walk, path, folder ? `${label}/` : label, 'input_hidden', `hidden ${folder ? 'folder' : 'file'} (its name starts with "."): not read; give its path as the input to read it`);
      continue;
    }
    let stat: Stats;
    try {
      stat = statSync(path);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' && lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true) {
        report(walk, path, label, 'input_dangling_link', `dangling symbolic link: its target ${linkTarget(path)} does not exist (ENOENT)`);
      } else if (code === 'ELOOP') report(walk, path, label, 'input_link_loop', `symbolic link loop (${linkTarget(path)} leads back to itself): not followed`);
      else report(walk, path, label, 'input_unreadable', `cannot be read (${code})`);
      continue;
    }
    const id = identity(stat);
    if (stat.isDirectory()) {
      const ancestor = ancestors.get(id);
      if (ancestor !== undefined) {
        if (walk.match === undefined) report(walk, path, `${label}/`, 'input_link_loop', `symbolic link to ${ancestor}, a folder that contains it (a loop): not followed`);
        continue;
      }
      const first = walk.dirs.get(id);
      if (first !== undefined) {
        if (walk.match === undefined) report(walk, path, `${label}/`, 'input_same_folder', `the same folder as ${first}, read there once`);
        continue;
      }
      walk.dirs.set(id, path);
      walkDir(path, walk, new Map(ancestors).set(id, path));
      continue;
    }
    if (walk.match !== undefined && !walk.match.test(label)) continue;
    if (!stat.isFile()) {
      report(walk, path, label, 'input_not_regular', `${fileType(stat)}, not read inside a folder (give it as the input to read it)`);
      continue;
    }
    const first = walk.files.get(id);
    if (first !== undefined) {
      report(walk, path, label, 'input_same_file', `the same file as ${first} (a link to it), read there once`);
      continue;
    }
    walk.files.set(id, path);
    const kind = kindFromName(path);
    if (kind === undefined) report(walk, path, label, 'input_unsupported', `not a file type gemtraj reads (${SUPPORTED_TYPES})`);
    else walk.out.push({ path, label, kind, stream: false });
  }
}

/** Every entry under `root` (files to read and entries reported), in sorted order. */
function walkRoot(root: string, match?: RegExp): InputFile[] {
  const stat = statSync(root);
  const walk: Walk = { base: root, out: [], match, files: new Map(), dirs: new Map([[identity(stat), root]]) };
  walkDir(root, walk, new Map([[identity(stat), root]]));
  return walk.out;
}

/** A glob's pattern (after the base folder) as a regular expression over `/`-separated paths. */
function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function expandGlob(input: string): InputFile[] {
  const parts = input.split(/[\\/]/);
  const first = parts.findIndex((p) => GLOB_CHARS.test(p));
  const base = parts.slice(0, first).join('/') || (input.startsWith('/') ? '/' : '.');
  let stat: Stats | undefined;
  try {
    stat = statSync(base);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory() !== true) throw new InputError(`${input}: no such file or folder (the folder ${base} of the pattern does not exist)`);
  const out = walkRoot(base, globRegExp(parts.slice(first).join('/')));
  if (out.length === 0) throw new InputError(`${input}: the pattern matches no file`);
  return out;
}

/** The files of an input argument. Throws {@link InputError}. */
export function resolveInputs(input: string): InputFile[] {
  if (input === STDIN) return [{ path: STDIN, label: 'stdin', kind: SNIFF, stream: true }];
  let stat: Stats;
  try {
    stat = statSync(input);
  } catch {
    if (GLOB_CHARS.test(input)) return expandGlob(input);
    throw new InputError(`${input}: no such file or folder`);
  }
  if (stat.isDirectory()) {
    const out = walkRoot(input);
    if (out.every((f) => f.skip !== undefined)) throw new InputError(`${input}: the folder holds no file gemtraj reads${held(out)} (gemtraj reads ${SUPPORTED_TYPES})`);
    return out;
  }
  // Pipes and devices (`/dev/stdin`, `<(zcat …)`) say nothing by name: their bytes tell.
  if (!stat.isFile()) return [{ path: input, label: basename(input), kind: SNIFF, stream: true }];
  const kind = kindFromName(input);
  if (kind === undefined) {
    const name = basename(input);
    const ext = name.includes('.') ? name.slice(name.lastIndexOf('.')) : '(none)';
    throw new InputError(`${input}: unsupported input type "${ext}": gemtraj reads ${SUPPORTED_TYPES}, a folder of them, or - for standard input`);
  }
  return [{ path: input, label: basename(input), kind, stream: false }];
}

/** What a folder without readable files holds, for its message. */
function held(entries: InputFile[]): string {
  if (entries.length === 0) return '';
  const shown = entries.slice(0, 5).map((f) => `${f.label}: ${f.skip?.check.replace(/^input_/, '').replace(/_/g, ' ') ?? 'skipped'}`);
  return `; it holds ${shown.join(', ')}${entries.length > 5 ? `, and ${entries.length - 5} more` : ''}`;
}

/**
 * The files an input argument stands for: one file, a folder (recursively, in sorted order
 * so that runs are reproducible), a glob (`data/train-*.parquet`, quoted so that gemtraj
 * expands it), or a pipe: `-` for standard input, `/dev/stdin`, `<(zcat …)`.
 *
 * A folder keeps every file it holds: one gemtraj cannot read is listed with `kind`
 * undefined, and the reader reports it by name, so nothing is left out in silence. Hidden
 * files and folders (`.git`, `.DS_Store`) are not input.
 */
import { readdirSync, statSync, type Stats } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';
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
  /** How to read it; `undefined` when gemtraj cannot read this type (reported, not skipped). */
  kind: FileKind | undefined;
  /** A pipe or device: read once, front to back (no second pass for counting, no seeking). */
  stream: boolean;
}

const SNIFF: FileKind = { format: 'sniff', compression: 'sniff' };
const GLOB_CHARS = /[*?[]/;

function toLabel(base: string, file: string): string {
  return relative(base, file).split(sep).join('/');
}

function walk(dir: string, base: string, out: InputFile[], match?: RegExp): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory() === true);
    if (isDir) walk(path, base, out, match);
    else {
      const label = toLabel(base, path);
      if (match !== undefined && !match.test(label)) continue;
      out.push({ path, label, kind: kindFromName(path), stream: !entry.isFile() && statSync(path, { throwIfNoEntry: false })?.isFile() !== true });
    }
  }
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
  const out: InputFile[] = [];
  walk(base, base, out, globRegExp(parts.slice(first).join('/')));
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
    const out: InputFile[] = [];
    walk(input, input, out);
    if (out.length === 0) throw new InputError(`${input}: the folder holds no files (gemtraj reads ${SUPPORTED_TYPES})`);
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

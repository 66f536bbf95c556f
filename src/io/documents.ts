/**
 * Input readers: a JSONL file, a `.txt` / `.md` / `.html` file, or a folder of them
 * (recursively, in sorted order so that runs are reproducible). Everything streams: a
 * JSONL corpus larger than memory is read one line at a time.
 *
 * A record that cannot become a document (bad JSON, no text field, empty or binary text,
 * a repeated id) is yielded as a rejection naming file and line, never thrown: every input
 * record ends in the dataset or in `rejected.jsonl`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import type { Document, Reason } from '../records.js';
import { readJsonl } from './jsonl.js';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';

export interface ReadOptions {
  /** Field holding the text in JSONL input. @default 'text' */
  textField: string;
  /** Field holding the id in JSONL input; absent → `doc_` + a hash of the text. @default 'id' */
  idField: string;
}

export type InputItem =
  | { kind: 'document'; document: Document }
  | { kind: 'rejection'; id: string; reasons: Reason[] };

const TEXT_EXTENSIONS = new Set(['.txt', '.md', '.markdown', '.html', '.htm', '.rst']);
const JSONL_EXTENSIONS = new Set(['.jsonl', '.ndjson']);

/** Thrown for input that cannot be read at all (missing path, unsupported file type). Exit status 2. */
export class InputError extends GemtrajError {
  constructor(message: string) {
    super(message, EXIT_BAD_INPUT);
    this.name = 'InputError';
  }
}

/** A stable id for a text without one: `doc_` + 16 hex chars of its SHA-256. */
export function contentId(text: string): string {
  return `doc_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** Files an input path stands for, in a stable order. Throws {@link InputError}. */
export function listInputFiles(input: string): string[] {
  let stat;
  try {
    stat = statSync(input);
  } catch {
    throw new InputError(`${input}: no such file or folder`);
  }
  if (stat.isFile()) {
    const ext = extname(input).toLowerCase();
    if (!TEXT_EXTENSIONS.has(ext) && !JSONL_EXTENSIONS.has(ext) && ext !== '.json') {
      throw new InputError(`${input}: unsupported input type "${ext || '(none)'}": use .jsonl, .txt, .md, .html or a folder of them`);
    }
    return [input];
  }
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const ext = extname(entry.name).toLowerCase();
        if (TEXT_EXTENSIONS.has(ext) || JSONL_EXTENSIONS.has(ext)) files.push(path);
      }
    }
  };
  walk(input);
  if (files.length === 0) throw new InputError(`${input}: folder holds no .jsonl, .txt, .md or .html files`);
  return files;
}

/** Why a text is not usable, or undefined when it is. */
export function textProblem(text: string): Reason | undefined {
  if (text.trim() === '') return { check: 'input_empty', message: 'text is empty' };
  // NUL bytes or a high share of control characters mean binary data, not prose.
  let control = 0;
  const sample = text.length > 20_000 ? text.slice(0, 20_000) : text;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0) return { check: 'input_not_text', message: 'text contains NUL bytes (binary data?)' };
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) control++;
    else if (c === 0xfffd) control++;
  }
  if (control / sample.length > 0.1) return { check: 'input_not_text', message: 'text is mostly control or undecodable characters (binary data?)' };
  return undefined;
}

/**
 * Streams the documents of an input path. Ids repeated within the input are rejected
 * (`duplicate_id`) so that resume and provenance stay unambiguous.
 */
export async function* readDocuments(input: string, options: ReadOptions): AsyncGenerator<InputItem> {
  const seen = new Set<string>();
  const files = listInputFiles(input);
  const base = statSync(input).isDirectory() ? input : undefined;
  for (const file of files) {
    const ext = extname(file).toLowerCase();
    // Ids of rejected lines use the path relative to the input, not as the user spelled it,
    // so that a rerun (`./corpus.jsonl` vs `corpus.jsonl`) finds them again.
    const label = base === undefined ? basename(file) : relative(base, file).split('\\').join('/');
    const source = JSONL_EXTENSIONS.has(ext) || ext === '.json' ? readJsonlDocuments(file, label, options) : readTextDocument(file, base);
    for await (const item of source) {
      if (item.kind === 'document') {
        if (seen.has(item.document.id)) {
          yield {
            kind: 'rejection',
            id: `${item.document.id}@${describe(item.document)}`,
            reasons: [{ check: 'duplicate_id', message: `${describe(item.document)}: id "${item.document.id}" was already used by an earlier document` }],
          };
          continue;
        }
        seen.add(item.document.id);
      }
      yield item;
    }
  }
}

function describe(doc: Document): string {
  if (doc.origin === undefined) return doc.id;
  return doc.origin.line === undefined ? doc.origin.file : `${doc.origin.file}:${doc.origin.line}`;
}

async function* readTextDocument(file: string, base: string | undefined): AsyncGenerator<InputItem> {
  const buffer = readFileSync(file);
  const text = buffer.toString('utf8').replace(/^\uFEFF/, '');
  const id = base === undefined ? file.split(/[\\/]/).pop() ?? file : relative(base, file).split('\\').join('/');
  const problem = textProblem(text);
  if (problem !== undefined) {
    yield { kind: 'rejection', id, reasons: [{ ...problem, message: `${file}: ${problem.message}` }] };
    return;
  }
  yield { kind: 'document', document: { id, text, origin: { file } } };
}

async function* readJsonlDocuments(file: string, label: string, options: ReadOptions): AsyncGenerator<InputItem> {
  for await (const entry of readJsonl(file)) {
    const where = `${file}:${entry.line}`;
    const key = `${label}:${entry.line}`;
    if (entry.error !== undefined) {
      yield { kind: 'rejection', id: key, reasons: [{ check: 'input_json', message: `${where}: ${entry.error}` }] };
      continue;
    }
    const value = entry.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { kind: 'rejection', id: key, reasons: [{ check: 'input_shape', message: `${where}: expected a JSON object per line` }] };
      continue;
    }
    const record = value as Record<string, unknown>;
    const text = record[options.textField];
    const rawId = record[options.idField];
    const id = typeof rawId === 'string' && rawId !== '' ? rawId : typeof rawId === 'number' ? String(rawId) : undefined;
    if (typeof text !== 'string') {
      const fields = Object.keys(record).slice(0, 8).join(', ');
      yield {
        kind: 'rejection',
        id: id !== undefined ? `${id}@${key}` : key,
        reasons: [
          {
            check: 'input_text_missing',
            path: options.textField,
            message: `${where}: no string field "${options.textField}" (fields: ${fields || 'none'}); choose one with --text-field`,
          },
        ],
      };
      continue;
    }
    const problem = textProblem(text);
    if (problem !== undefined) {
      yield { kind: 'rejection', id: id !== undefined ? `${id}@${key}` : key, reasons: [{ ...problem, path: options.textField, message: `${where}: ${problem.message}` }] };
      continue;
    }
    yield { kind: 'document', document: { id: id ?? contentId(text), text, origin: { file, line: entry.line } } };
  }
}

/** Counts the records an input holds, cheaply (lines of JSONL, one per text file), for progress. */
export async function countInputRecords(input: string): Promise<number> {
  let total = 0;
  for (const file of listInputFiles(input)) {
    const ext = extname(file).toLowerCase();
    if (!JSONL_EXTENSIONS.has(ext) && ext !== '.json') {
      total += 1;
      continue;
    }
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) if (line.trim() !== '') total += 1;
  }
  return total;
}

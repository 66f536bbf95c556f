/**
 * Input documents from whatever a corpus comes as: JSON Lines, a JSON array, CSV/TSV with a
 * header, Parquet (row group by row group), Common Crawl WET, plain text/Markdown/HTML files,
 * each optionally gzip or zstd compressed; a file, a folder mixing them, a glob, or a pipe
 * (`-` for stdin). Everything streams: memory follows one record (one Parquet row group),
 * never the file.
 *
 * A record that cannot become a document (bad JSON, no text field, empty or binary text, a
 * repeated id) is yielded as a rejection naming the file and where in it (line, row, byte
 * offset), never thrown; so is a file of a folder that cannot be read at all, with the
 * reason. Every input record ends in the dataset or in `rejected.jsonl`.
 */
import { statSync } from 'node:fs';
import type { Document } from '../records.js';
import { openBytes, STDIN } from './byte-stream.js';
import { readCsv } from './csv.js';
import { markupFromName, sniffFormat, SUPPORTED_TYPES, type InputFormat } from './input-format.js';
import { InputError, resolveInputs, type InputFile } from './input-files.js';
import { readJsonArray } from './json-array.js';
import { binaryKind } from './record-file.js';
import { splitLines } from './lines.js';
import { parquetShape, readParquetRows } from './parquet-input.js';
import { documentFromRecord, documentFromText, MARKUP_FIELDS, type InputItem, type ReadOptions } from './record-document.js';
import { firstInvalidUtf8, invalidUtf8Message, lineAndColumn, watchUtf8, type InvalidAt } from './utf8.js';
import { readWarc } from './warc.js';

export { contentId, textProblem, type InputItem, type InputWarning, type ReadOptions } from './record-document.js';
export { InputError } from './input-files.js';

/** Files an input path stands for, in a stable order (entries not read included: they are reported). Throws {@link InputError}. */
export function listInputFiles(input: string): string[] {
  return resolveInputs(input).map((f) => f.path);
}

/**
 * Streams the documents of an input path. Ids repeated within the input are rejected
 * (`duplicate_id`) so that resume and provenance stay unambiguous. A single file (or pipe)
 * that cannot be read at all throws {@link InputError}; in a folder or glob it is a rejection.
 */
export async function* readDocuments(input: string, options: ReadOptions): AsyncGenerator<InputItem> {
  const seen = new Set<string>();
  const files = resolveInputs(input);
  const single = files.length === 1 && !statIsDirectory(input);
  for (const file of files) {
    for await (const item of readFile(file, options, single)) {
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

function statIsDirectory(input: string): boolean {
  return input !== STDIN && statSync(input, { throwIfNoEntry: false })?.isDirectory() === true;
}

function describe(doc: Document): string {
  const o = doc.origin;
  if (o === undefined) return doc.id;
  if (o.line !== undefined) return `${o.file}:${o.line}`;
  if (o.row !== undefined) return `${o.file}: row ${o.row}`;
  if (o.offset !== undefined) return `${o.file}: record at byte ${o.offset}`;
  return o.file;
}

/** One file's items; a failure to read it becomes a rejection naming the file (or an InputError for a lone file). */
async function* readFile(file: InputFile, options: ReadOptions, single: boolean): AsyncGenerator<InputItem> {
  if (file.kind === undefined) {
    yield { kind: 'rejection', id: file.label, reasons: [file.skip ?? { check: 'input_unsupported', message: `${file.path}: not a file type gemtraj reads (${SUPPORTED_TYPES})` }] };
    return;
  }
  let read = 0;
  try {
    for await (const item of readKnown(file, options)) {
      read++;
      yield item;
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (single && read === 0) throw new InputError(`${file.path}: ${reason}`);
    const rest = read > 0 ? ` (after ${read} record(s); the rest of the file is not read)` : '';
    yield { kind: 'rejection', id: read > 0 ? `${file.label}@${read}` : file.label, reasons: [{ check: 'input_unreadable', message: `${file.path}: ${reason}${rest}` }] };
  }
}

const PARQUET_INSIDE = { what: 'a Parquet file', todo: 'give the .parquet file itself (uncompressed: Parquet compresses its own pages), by its path' };

const PIPED_PARQUET = 'Parquet needs random access (its index is at the end of the file): give the file path, not a pipe';

async function* readKnown(file: InputFile, options: ReadOptions): AsyncGenerator<InputItem> {
  const kind = file.kind as NonNullable<InputFile['kind']>;
  if (kind.format === 'parquet') {
    if (file.stream) throw new Error(PIPED_PARQUET);
    yield* readParquetDocuments(file, options);
    return;
  }
  const { head, chunks, compression } = await openBytes(file.path, kind.compression);
  let format: InputFormat = kind.format === 'sniff' ? sniffFormat(head) : kind.format;
  // A `.jsonl` holding a JSON array (a common mislabel) is read as the array it is, as
  // `validate` and `export` read it; JSON Lines of arrays could hold no document anyway.
  if (format === 'jsonl' && sniffFormat(head) === 'json') format = 'json';
  // Binary bytes behind a text name (a zip, a database, a Parquet file gzipped) are named
  // once, not reported as one bad record per line.
  const binary = format === 'text' || format === 'parquet' ? undefined : sniffFormat(head) === 'parquet' ? PARQUET_INSIDE : binaryKind(head);
  if (binary !== undefined) {
    if (binary === PARQUET_INSIDE && compression === 'none' && !file.stream) {
      yield* readParquetDocuments(file, options);
      return;
    }
    throw new Error(`${binary.what}, not ${format === 'json' ? 'JSON' : format === 'jsonl' ? 'JSON Lines' : format.toUpperCase()}: ${binary.todo}`);
  }
  // `.json` holds an array, one object per line (as often), or one pretty-printed object.
  const objectJson = format === 'json' && sniffFormat(head) !== 'json';
  if (objectJson) format = 'jsonl';
  switch (format) {
    case 'parquet':
      if (file.stream) throw new Error(PIPED_PARQUET);
      yield* readParquetDocuments(file, options);
      return;
    case 'jsonl':
      yield* readJsonlDocuments(file, chunks, options, objectJson);
      return;
    case 'json':
      yield* readArrayDocuments(file, watched(file, chunks, options), options);
      return;
    case 'csv':
    case 'tsv':
      yield* readCsvDocuments(file, watched(file, chunks, options), format === 'csv' ? ',' : '\t', options);
      return;
    case 'wet':
      yield* readWetDocuments(file, chunks, options);
      return;
    case 'text':
      yield* readTextDocument(file, chunks, options);
      return;
  }
}

/** Places of invalid UTF-8 reported per text: a binary file given as text would flood the log. */
const MAX_UTF8_PLACES = 100;

/**
 * Reports each place of invalid UTF-8 in `bytes` (a whole text; at most {@link MAX_UTF8_PLACES});
 * `where` names it, `of` what the offset counts in.
 */
function checkUtf8(bytes: Buffer, where: string, options: ReadOptions, of = ''): void {
  if (options.onWarning === undefined) return;
  let from = 0;
  for (let places = 0; places < MAX_UTF8_PLACES; places++) {
    const relative = firstInvalidUtf8(bytes, from);
    if (relative === -1) return;
    const bad = from + relative;
    const at = lineAndColumn(bytes, bad);
    options.onWarning({ check: 'input_utf8', message: invalidUtf8Message(where, `byte ${bad}${of} (line ${at.line}, column ${at.column})`, bytes.subarray(bad, bad + 4)) });
    // One place per broken sequence: skip the continuation bytes that follow its lead byte.
    from = bad + 1;
    while (from < bytes.length && ((bytes[from] as number) & 0xc0) === 0x80) from++;
  }
}

/** `chunks`, checked for invalid UTF-8 when someone listens (CSV, JSON arrays: streamed, not split in lines here). */
function watched(file: InputFile, chunks: AsyncIterable<Buffer>, options: ReadOptions): AsyncIterable<Buffer> {
  const warn = options.onWarning;
  if (warn === undefined) return chunks;
  return watchUtf8(chunks, (at) =>
    warn({ check: 'input_utf8', message: invalidUtf8Message(`${file.path}:${at.line}`, `byte ${at.byte} (column ${at.column})`, at.bytes) }),
  );
}

async function* readTextDocument(file: InputFile, chunks: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<InputItem> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  const bytes = Buffer.concat(parts);
  checkUtf8(bytes, file.path, options);
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  // A file is named by its path; piped text by its content, so that a rerun finds it again.
  const id = file.stream ? undefined : file.label;
  const item = documentFromText(text, id, { key: file.label, where: file.path, origin: { file: file.path } }, { markup: markupFromName(file.path) });
  if (item.kind === 'rejection' && id !== undefined) item.id = id;
  yield item;
}

/**
 * JSON Lines. With `whole` (a `.json` file starting with `{`): when the first line is not JSON
 * by itself, the file is one pretty-printed object, read as a single record.
 */
async function* readJsonlDocuments(file: InputFile, chunks: AsyncIterable<Buffer>, options: ReadOptions, whole = false): AsyncGenerator<InputItem> {
  let first = true;
  const onInvalid =
    options.onWarning === undefined
      ? undefined
      : (bad: InvalidAt): void =>
          options.onWarning?.({ check: 'input_utf8', message: invalidUtf8Message(`${file.path}:${bad.line}`, `byte ${bad.byte} (column ${bad.column})`, bad.bytes) });
  const lines = splitLines(chunks, onInvalid);
  for await (const { line, text } of lines) {
    if (text.trim() === '') continue;
    if (first && whole) {
      first = false;
      if (!parses(text)) {
        yield wholeObject(file, [text, ...(await collect(lines))].join('\n'), options);
        return;
      }
    }
    // Ids of rejected lines use the path relative to the input, not as the user spelled it,
    // so that a rerun (`./corpus.jsonl` vs `corpus.jsonl`) finds them again.
    const place = { key: `${file.label}:${line}`, where: `${file.path}:${line}`, origin: { file: file.path, line } };
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (error) {
      yield { kind: 'rejection', id: place.key, reasons: [{ check: 'input_json', message: `${place.where}: invalid JSON: ${(error as Error).message}` }] };
      continue;
    }
    yield documentFromRecord(value, place, options, 'line');
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function collect(lines: AsyncIterable<{ text: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const { text } of lines) out.push(text);
  return out;
}

function wholeObject(file: InputFile, text: string, options: ReadOptions): InputItem {
  const place = rowPlace(file, 1);
  try {
    return documentFromRecord(JSON.parse(text) as unknown, place, options, 'file');
  } catch (error) {
    return { kind: 'rejection', id: place.key, reasons: [{ check: 'input_json', message: `${file.path}: invalid JSON: ${(error as Error).message}` }] };
  }
}

function rowPlace(file: InputFile, row: number, line?: number): { key: string; where: string; origin: NonNullable<Document['origin']> } {
  return {
    key: `${file.label}:row ${row}`,
    where: `${file.path}: row ${row}${line === undefined ? '' : ` (line ${line})`}`,
    origin: { file: file.path, row, ...(line === undefined ? {} : { line }) },
  };
}

async function* readArrayDocuments(file: InputFile, chunks: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<InputItem> {
  for await (const element of readJsonArray(chunks)) {
    const place = rowPlace(file, element.index);
    if (element.error !== undefined) {
      yield { kind: 'rejection', id: place.key, reasons: [{ check: 'input_json', message: `${place.where}: ${element.error}` }] };
      continue;
    }
    yield documentFromRecord(element.value, place, options, 'array element');
  }
}

async function* readCsvDocuments(file: InputFile, chunks: AsyncIterable<Buffer>, delimiter: ',' | '\t', options: ReadOptions): AsyncGenerator<InputItem> {
  let header: string[] | undefined;
  for await (const rec of readCsv(chunks, delimiter)) {
    if (header === undefined) {
      header = rec.fields.map((f) => f.trim());
      if (!header.includes(options.textField)) {
        throw new Error(`no column "${options.textField}" in the header row (columns: ${header.slice(0, 12).join(', ')}); choose one with --text-field`);
      }
      continue;
    }
    // Row numbers count data rows (the header is not one), as a spreadsheet's row labels minus one.
    const place = rowPlace(file, rec.record - 1, rec.line);
    if (rec.fields.length !== header.length) {
      yield {
        kind: 'rejection',
        id: place.key,
        reasons: [{ check: 'input_shape', message: `${place.where}: ${rec.fields.length} field(s) but the header has ${header.length} (an unquoted delimiter or newline?)` }],
      };
      continue;
    }
    const record: Record<string, unknown> = {};
    header.forEach((name, i) => {
      record[name] = rec.fields[i];
    });
    yield documentFromRecord(record, place, options, 'row');
  }
  if (header === undefined) throw new Error('empty file: expected a header row naming the columns');
}

async function* readParquetDocuments(file: InputFile, options: ReadOptions): AsyncGenerator<InputItem> {
  const rows = readParquetRows(file.path, options.textField, options.idField, { extraColumns: MARKUP_FIELDS, checkUtf8: options.onWarning !== undefined });
  for await (const { row, record, invalidText } of rows) {
    const place = rowPlace(file, row);
    const text = record[options.textField];
    if (text instanceof Uint8Array) {
      const bytes = Buffer.from(text);
      checkUtf8(bytes, place.where, options, ` of its ${options.textField}`);
      record[options.textField] = bytes.toString('utf8');
    }
    if (invalidText !== undefined) {
      options.onWarning?.({ check: 'input_utf8', message: invalidUtf8Message(place.where, `byte ${invalidText.byte} of its ${options.textField}`, invalidText.bytes) });
    }
    yield documentFromRecord(record, place, options, 'row');
  }
}

async function* readWetDocuments(file: InputFile, chunks: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<InputItem> {
  let conversions = 0;
  const others = new Map<string, number>();
  for await (const rec of readWarc(chunks)) {
    const type = rec.headers.get('warc-type') ?? '(none)';
    if (type !== 'conversion') {
      others.set(type, (others.get(type) ?? 0) + 1);
      continue;
    }
    conversions++;
    const rawId = rec.headers.get('warc-record-id');
    const id = rawId === undefined || rawId === '' ? undefined : rawId.replace(/^<(.*)>$/, '$1');
    const url = rec.headers.get('warc-target-uri');
    const place = { key: `${file.label}:offset ${rec.offset}`, where: `${file.path}: record at byte ${rec.offset}`, origin: { file: file.path, offset: rec.offset } };
    checkUtf8(rec.body, place.where, options, ' of its text');
    // A WET record is text extracted from a page: never HTML, whatever it quotes.
    yield documentFromText(rec.body.toString('utf8'), id, place, { url: url === '' ? undefined : url, markup: 'markdown' });
  }
  if (conversions === 0) {
    const seen = [...others].map(([t, n]) => `${n} ${t}`).join(', ') || 'no records';
    throw new Error(`no WARC conversion records (${seen}): gemtraj reads the extracted text of WET files, not WARC responses`);
  }
}

/**
 * Counts the records an input holds, for the progress total, without reading any input
 * twice that cannot be read twice: `undefined` (no total) when it includes a pipe or a file
 * that only a full decode could count (compressed, JSON array, WET).
 */
export async function countInputRecords(input: string): Promise<number | undefined> {
  let total = 0;
  for (const file of resolveInputs(input)) {
    const kind = file.kind;
    if (kind === undefined) {
      total += 1;
      continue;
    }
    if (file.stream || kind.compression === 'gzip' || kind.compression === 'zstd') return undefined;
    if (kind.format === 'parquet') {
      total += (await parquetShape(file.path)).rows;
      continue;
    }
    if (kind.format === 'text') {
      total += 1;
      continue;
    }
    if (kind.format !== 'jsonl' && kind.format !== 'json' && kind.format !== 'csv' && kind.format !== 'tsv') return undefined;
    const { head, chunks } = await openBytes(file.path, 'sniff');
    if ((kind.format === 'json' || kind.format === 'jsonl') && sniffFormat(head) === 'json') return undefined;
    if (kind.format === 'csv' || kind.format === 'tsv') {
      let n = -1; // the header
      for await (const _ of readCsv(chunks, kind.format === 'csv' ? ',' : '\t')) n++;
      total += Math.max(0, n);
      continue;
    }
    for await (const { text } of splitLines(chunks)) if (text.trim() !== '') total += 1;
  }
  return total;
}

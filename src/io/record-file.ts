/**
 * A file of JSON records where gemtraj expects one (trajectories for `export`, `validate`,
 * `stats`, `split`; segments or extractions for the stage commands; `--sources`): JSON Lines
 * or a JSON array, plain, gzip or zstd compressed (told by the first bytes, not the name), or
 * a Parquet table (one record per row). Anything else binary — a zip, a SQLite database, an
 * xz file, NUL bytes — stops with one message naming the file, what it is and what to do,
 * instead of one "invalid JSON" per line and exit 0.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { openBytes, sniffCompression } from './byte-stream.js';
import { InputError } from './input-files.js';
import { sniffFormat } from './input-format.js';
import { readJsonArray } from './json-array.js';
import type { JsonlLine } from './jsonl.js';
import { splitLines } from './lines.js';
import { readParquetTable } from './parquet-input.js';

/** Bytes looked at to tell what a file is. */
const HEAD_BYTES = 4096;

const startsWith = (head: Uint8Array, bytes: readonly number[], at = 0): boolean => bytes.every((b, i) => head[at + i] === b);
const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** Binary formats people hand over by mistake: their magic bytes, name and the way out. */
const BINARIES: ReadonlyArray<{ magic: readonly number[]; at?: number; what: string; todo: string }> = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive', todo: 'unzip it and give the .jsonl (or .json, .parquet) file inside' },
  { magic: [0x50, 0x4b, 0x05, 0x06], what: 'an empty zip archive', todo: 'give the .jsonl file itself' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed data', todo: 'decompress it (xz -d) or recompress it with gzip or zstd, which gemtraj reads' },
  { magic: ascii('BZh'), what: 'bzip2-compressed data', todo: 'decompress it (bunzip2) or recompress it with gzip or zstd, which gemtraj reads' },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7-Zip archive', todo: 'extract it and give the .jsonl file inside' },
  { magic: ascii('ustar'), at: 257, what: 'a tar archive', todo: 'extract it (tar -xf) and give the .jsonl file inside' },
  { magic: ascii('SQLite format 3\0'), what: 'a SQLite database (a cache.sqlite?)', todo: 'give the trajectories.jsonl of the run instead' },
  { magic: ascii('ARROW1'), what: 'an Arrow (Feather) file', todo: 'convert it to Parquet or JSON Lines (pyarrow: pq.write_table, or datasets: ds.to_json)' },
  { magic: ascii('%PDF-'), what: 'a PDF document', todo: 'it holds no records' },
];

/** What a (decompressed) head is when it cannot be JSON text: a name and what to do, or undefined for text. */
export function binaryKind(head: Uint8Array): { what: string; todo: string } | undefined {
  // UTF-16 text (PowerShell's `>` writes it) is full of NULs but is text in the wrong encoding.
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) {
    return { what: 'UTF-16 text', todo: 'convert it to UTF-8 (iconv -f UTF-16 -t UTF-8, or Out-File -Encoding utf8 in PowerShell)' };
  }
  const layout = sniffFormat(Buffer.from(head.buffer, head.byteOffset, head.byteLength));
  for (const b of BINARIES) {
    // A magic string inside the file (tar's is at byte 257) can be JSON text by chance.
    if (b.at !== undefined && (layout === 'json' || layout === 'jsonl')) continue;
    if (startsWith(head, b.magic, b.at)) return b;
  }
  if (head.subarray(0, HEAD_BYTES).includes(0)) return { what: 'binary data (NUL bytes near the start)', todo: 'give a JSON Lines file (one JSON object per line), a JSON array or a Parquet file' };
  return undefined;
}

function refuse(file: string, kind: { what: string; todo: string }, expected: string): InputError {
  return new InputError(`${file}: ${kind.what}, not ${expected}: ${kind.todo}`);
}

const isParquet = (head: Uint8Array): boolean => startsWith(head, ascii('PAR1'));

/** The first bytes of a file (throws when it cannot be opened, with the system's reason). */
function headOf(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses, before anything is written, a file that cannot hold records: its first bytes are
 * read and a known binary format is named. Compressed content is checked again when it is
 * read. Throws {@link InputError}; a file that cannot be read is left to the reader.
 * `expected` names what the command reads, for the message.
 */
export function checkRecordFile(file: string, expected = 'JSON Lines'): void {
  let head: Buffer;
  try {
    head = headOf(file);
  } catch {
    return;
  }
  if (isParquet(head) || sniffCompression(head) !== 'none') return;
  const kind = binaryKind(head);
  if (kind !== undefined) throw refuse(file, kind, expected);
}

/**
 * The records of `file`, each with where it is: `line` is the line of JSON Lines, the
 * element number of a JSON array, the row of a Parquet table. A record that is not JSON comes
 * with `error` (never thrown); a file that is not records at all throws {@link InputError}.
 */
export async function* readRecordFile(file: string): AsyncGenerator<JsonlLine> {
  const raw = headOf(file);
  if (isParquet(raw)) {
    for await (const { row, record } of readParquetTable(file)) yield { line: row, value: record };
    return;
  }
  const compression = sniffCompression(raw);
  if (compression === 'none') checkRecordFile(file);
  const { head, chunks } = await openBytes(file, compression);
  const kind = binaryKind(head);
  if (kind !== undefined) {
    const parquet = isParquet(head) ? { what: 'a Parquet file', todo: 'decompress it first (Parquet compresses its own pages)' } : kind;
    throw new InputError(`${file}: ${parquet.what} (${compression}-compressed), not JSON Lines: ${parquet.todo}`);
  }
  if (head.toString('utf8').replace(/^\uFEFF/, '').trimStart().startsWith('[')) {
    let last = 0;
    try {
      for await (const element of readJsonArray(chunks)) {
        last = element.index;
        yield element.error === undefined ? { line: element.index, value: element.value } : { line: element.index, error: element.error, text: '' };
      }
    } catch (error) {
      // A cut-short array keeps what was read; the damage is one more bad record, named.
      yield { line: last + 1, error: (error as Error).message, text: '' };
    }
    return;
  }
  for await (const { line, text } of splitLines(chunks)) {
    if (text.trim() === '') continue;
    try {
      yield { line, value: JSON.parse(text) as unknown };
    } catch (error) {
      yield { line, error: `invalid JSON: ${(error as Error).message}`, text: text.slice(0, 2000) };
    }
  }
}

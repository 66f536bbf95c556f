/**
 * Rows of a Parquet file (Hugging Face datasets: FineWeb's `text`, Ultra-FineWeb's
 * `content`), read one row group at a time and only the columns needed (text, id, url), so
 * memory follows the row group, not the file. Every codec Parquet writers use is decoded
 * (snappy, gzip, zstd, brotli, lz4) with pure-JS decompressors.
 */
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { firstInvalidUtf8 } from './utf8.js';

/**
 * hyparquet and its decompressors, loaded on the first Parquet file: ~75 modules and ~60 ms of
 * CPU that every other command and every JSON Lines run would pay at start-up.
 */
interface ParquetModules {
  hyparquet: typeof import('hyparquet');
  compressors: (typeof import('hyparquet-compressors'))['compressors'];
}
let parquetModules: Promise<ParquetModules> | undefined;
function loadParquet(): Promise<ParquetModules> {
  parquetModules ??= Promise.all([import('hyparquet'), import('hyparquet-compressors')]).then(([hyparquet, { compressors }]) => ({ hyparquet, compressors }));
  return parquetModules;
}

export interface ParquetRow {
  /** 1-based row number in the file. */
  row: number;
  /** The requested columns of the row (strings, numbers, null). */
  record: Record<string, unknown>;
  /** When the text column's bytes are not UTF-8 (read as U+FFFD): the first bad one's offset in the value, and a few bytes from it. */
  invalidText?: { byte: number; bytes: Uint8Array };
}

export interface ParquetReadOptions {
  /** More columns to read when the file has them (besides the text, id and `url`). */
  extraColumns?: readonly string[];
  /** Check the strings for invalid UTF-8 (sets {@link ParquetRow.invalidText}). @default false */
  checkUtf8?: boolean;
}

/** Thrown for a file that is not Parquet or lacks the text column; the message says which. */
export class ParquetInputError extends Error {}

/** The file and its footer, and the modules that read it; a file that is not Parquet is a {@link ParquetInputError}. */
async function openParquet(file: string): Promise<ParquetModules & { buffer: AsyncBuffer; metadata: FileMetaData }> {
  const modules = await loadParquet();
  const { asyncBufferFromFile, parquetMetadataAsync } = modules.hyparquet;
  const buffer = await asyncBufferFromFile(file);
  try {
    return { ...modules, buffer, metadata: await parquetMetadataAsync(buffer) };
  } catch (error) {
    throw new ParquetInputError(`not a readable Parquet file: ${(error as Error).message}`);
  }
}

/** `[rowStart, rowEnd)` of each non-empty row group: what one read holds in memory. */
function* rowGroups(metadata: FileMetaData): Generator<[number, number]> {
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    if (rowEnd > rowStart) yield [rowStart, rowEnd];
    rowStart = rowEnd;
  }
}

/** Top-level column names and the row count, from the footer alone. */
export async function parquetShape(file: string): Promise<{ columns: string[]; rows: number }> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } = (await loadParquet()).hyparquet;
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  return { columns: parquetSchema(metadata).children.map((c) => c.element.name), rows: Number(metadata.num_rows) };
}

/**
 * Streams the rows of `file`: `textField` must be a column; `idField` and `url` are read
 * when present.
 */
export async function* readParquetRows(file: string, textField: string, idField: string, options: ParquetReadOptions = {}): AsyncGenerator<ParquetRow> {
  const { buffer, metadata, hyparquet, compressors } = await openParquet(file);
  const { parquetReadObjects, parquetSchema } = hyparquet;
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  if (!names.includes(textField)) {
    throw new ParquetInputError(`no column "${textField}" (columns: ${names.slice(0, 12).join(', ') || 'none'}); choose one with --text-field`);
  }
  const columns = [textField, ...[idField, 'url', ...(options.extraColumns ?? [])].filter((c, i, all) => c !== textField && names.includes(c) && all.indexOf(c) === i)];
  // Strings decoded from bytes that are not UTF-8, by their decoded value (rare: usually empty).
  const invalid = new Map<string, { byte: number; bytes: Uint8Array }>();
  const decoder = new TextDecoder();
  const parsers =
    options.checkUtf8 === true
      ? {
          stringFromBytes(bytes: Uint8Array | undefined): string | undefined {
            if (bytes === undefined) return bytes;
            const text = decoder.decode(bytes);
            const bad = firstInvalidUtf8(bytes);
            if (bad !== -1) invalid.set(text, { byte: bad, bytes: bytes.slice(bad, bad + 4) });
            return text;
          },
        }
      : undefined;
  for (const [rowStart, rowEnd] of rowGroups(metadata)) {
    invalid.clear();
    const rows = (await parquetReadObjects({ file: buffer, metadata, columns, rowStart, rowEnd, compressors, ...(parsers !== undefined ? { parsers } : {}) })) as Array<Record<string, unknown>>;
    for (let i = 0; i < rows.length; i++) {
      const record = rows[i] as Record<string, unknown>;
      const text = record[textField];
      const bad = invalid.size > 0 && typeof text === 'string' ? invalid.get(text) : undefined;
      yield { row: rowStart + i + 1, record, ...(bad !== undefined ? { invalidText: bad } : {}) };
    }
  }
}

/**
 * Key of the file metadata listing the columns that hold JSON text (nested values gemtraj's
 * Parquet exports store as strings: `messages`, `tools`); see formats/parquet.ts.
 */
export const JSON_COLUMNS_KEY = 'gemtraj.json_columns';

/** A JSON-safe copy of a Parquet value: INT64 bigints as numbers (or strings past 2^53), bytes as UTF-8, dates as ISO text. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/**
 * Every row of a Parquet table as a record (all columns, nulls left out), one row group at a
 * time: what `export`, `validate` and `stats` read when given a Parquet file of conversations
 * (gemtraj's `--parquet` export, a Hugging Face dataset). Columns named in the file's
 * `gemtraj.json_columns` metadata are decoded from their JSON text.
 */
export async function* readParquetTable(file: string): AsyncGenerator<ParquetRow> {
  const { buffer, metadata, hyparquet, compressors } = await openParquet(file);
  const listed = metadata.key_value_metadata?.find((e) => e.key === JSON_COLUMNS_KEY)?.value;
  const jsonColumns = new Set(listed === undefined ? [] : (JSON.parse(listed) as string[]));
  for (const [rowStart, rowEnd] of rowGroups(metadata)) {
    const rows = (await hyparquet.parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, compressors })) as Array<Record<string, unknown>>;
    for (let i = 0; i < rows.length; i++) {
      const record: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(rows[i] as Record<string, unknown>)) {
        if (v === null || v === undefined) continue;
        record[k] = jsonColumns.has(k) && typeof v === 'string' ? (JSON.parse(v) as unknown) : plain(v);
      }
      yield { row: rowStart + i + 1, record };
    }
  }
}

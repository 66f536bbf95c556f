/**
 * Parquet versions of the exports, for the Hugging Face hub (written with hyparquet-writer,
 * read back with hyparquet).
 *
 * Layout: one row per exported record, one column per top-level field. Plain strings stay
 * STRING columns; every nested value (`messages`, `conversations`, OpenAI `tools`) is stored
 * as a JSON string, because tool schemas are free-form JSON Schema (no fixed Parquet struct
 * fits every tool) and a message's fields vary by role. The key-value metadata
 * `gemtraj.json_columns` lists those columns; load them with
 * `ds.map(lambda r: {c: json.loads(r[c]) for c in json_columns})` (or {@link readParquetRecords}).
 * ShareGPT's `tools` is already a JSON string in its record, so it stays a plain string column.
 * An `id` column holds the trajectory id. Rows are buffered in memory until written.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';

/** Key of the file metadata listing JSON-encoded columns. */
export const JSON_COLUMNS_KEY = 'gemtraj.json_columns';

/**
 * Writes records (objects with the same top-level keys) to a Parquet file. Columns are the
 * union of keys in order of first appearance; a missing value is null.
 */
export function writeParquetRecords(file: string, records: ReadonlyArray<Record<string, unknown>>): { rows: number; jsonColumns: string[] } {
  const names: string[] = [];
  for (const r of records) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  const jsonColumns = names.filter((n) => records.some((r) => r[n] !== undefined && r[n] !== null && typeof r[n] !== 'string'));
  const columnData = names.map((name) => ({
    name,
    type: 'STRING' as const,
    data: records.map((r) => {
      const v = r[name];
      if (v === undefined || v === null) return null;
      return jsonColumns.includes(name) ? JSON.stringify(v) : String(v);
    }),
  }));
  parquetWriteFile({
    filename: file,
    columnData,
    kvMetadata: [{ key: JSON_COLUMNS_KEY, value: JSON.stringify(jsonColumns) }],
    createdBy: 'gemtraj',
  });
  return { rows: records.length, jsonColumns };
}

/** Reads a file written by {@link writeParquetRecords}, decoding its JSON columns. */
export async function readParquetRecords(file: string): Promise<Array<Record<string, unknown>>> {
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  const kv = metadata.key_value_metadata?.find((e) => e.key === JSON_COLUMNS_KEY)?.value;
  const jsonColumns = kv === undefined ? [] : (JSON.parse(kv) as string[]);
  const rows = (await parquetReadObjects({ file: buffer, metadata })) as Array<Record<string, unknown>>;
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (v === null || v === undefined) continue;
      out[k] = jsonColumns.includes(k) && typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
    }
    return out;
  });
}

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
 * Columns named in `structLists` (ShareGPT's `conversations`: a list of `{from, value}`) are
 * written as real nested columns, `list<struct<…: string>>`, which `datasets` and
 * LLaMA-Factory's converter load as lists of dicts (a JSON string there raises TypeError).
 * An `id` column holds the trajectory id. Rows are buffered in memory until written.
 */
import { JSON_COLUMNS_KEY, readParquetTable } from '../io/parquet-input.js';
import { parquetWriteFile } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export { JSON_COLUMNS_KEY };

/**
 * Writes records (objects with the same top-level keys) to a Parquet file. Columns are the
 * union of keys in order of first appearance; a missing value is null.
 */
export function writeParquetRecords(
  file: string,
  records: ReadonlyArray<Record<string, unknown>>,
  options: { /** Columns holding lists of objects with these string fields, written nested. */ structLists?: Record<string, readonly string[]> } = {},
): { rows: number; jsonColumns: string[] } {
  const structLists = options.structLists ?? {};
  const names: string[] = [];
  for (const r of records) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  const jsonColumns = names.filter((n) => !(n in structLists) && records.some((r) => r[n] !== undefined && r[n] !== null && typeof r[n] !== 'string'));
  const stringElement = (name: string) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const });
  // Standard three-level Parquet list of structs (what Arrow writes for list<struct>).
  const schema: SchemaElement[] = [{ name: 'root', num_children: names.length }];
  for (const name of names) {
    const fields = structLists[name];
    if (fields === undefined) schema.push(stringElement(name));
    else {
      schema.push({ name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 });
      schema.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      schema.push({ name: 'element', repetition_type: 'OPTIONAL', num_children: fields.length });
      for (const f of fields) schema.push(stringElement(f));
    }
  }
  const columnData = names.map((name) => ({
    name,
    data: records.map((r) => {
      const v = r[name];
      if (v === undefined || v === null) return null;
      const fields = structLists[name];
      if (fields !== undefined) {
        if (!Array.isArray(v)) throw new Error(`${name}: not a list`);
        return v.map((item: unknown) => Object.fromEntries(fields.map((f) => [f, isRecord(item) && item[f] !== undefined && item[f] !== null ? String(item[f]) : null])));
      }
      return jsonColumns.includes(name) ? JSON.stringify(v) : String(v);
    }),
  }));
  parquetWriteFile({
    filename: file,
    schema,
    columnData,
    kvMetadata: [{ key: JSON_COLUMNS_KEY, value: JSON.stringify(jsonColumns) }],
    createdBy: 'gemtraj',
  });
  return { rows: records.length, jsonColumns };
}

/** Reads a file written by {@link writeParquetRecords}, decoding its JSON columns. */
export async function readParquetRecords(file: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const { record } of readParquetTable(file)) out.push(record);
  return out;
}

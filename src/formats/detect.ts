/**
 * Format detection and reading of foreign dataset files: JSON Lines (one record per line), a
 * JSON array (streamed), either gzip or zstd compressed, or a Parquet table (see
 * io/record-file.ts). A bad record never throws: it comes out as `{ok:false, error}` with its
 * line (1-based array index, Parquet row); only an unreadable or binary file throws.
 */
import { basename } from 'node:path';
import { readRecordFile } from '../io/record-file.js';
import { finishImport } from './common.js';
import { isObject } from '../parse/json.js';
import { fromHermes } from './hermes.js';
import { fromOpenAI } from './openai.js';
import { fromSftPair } from './sft-pairs.js';
import { SYNTHESIZER_INSTRUCTION } from '../prompts/synthesize.js';
import { fromShareGPT } from './sharegpt.js';
import { fromTauBench } from './taubench.js';
import type { FormatName, ImportOptions, ImportResult, ImportedRecord } from './types.js';

/** Every format name, for flag validation. */
export const FORMAT_NAMES: readonly FormatName[] = ['gemtraj', 'openai', 'sharegpt', 'hermes', 'taubench', 'sft-pairs'];

function textOf(m: unknown): string {
  return isObject(m) && typeof m.content === 'string' ? m.content : '';
}

/** Guesses the format of one record; `undefined` when it matches none. */
export function detectFormat(sample: unknown): FormatName | undefined {
  if (!isObject(sample)) return undefined;
  if (Array.isArray(sample.traj)) return 'taubench';
  if (Array.isArray(sample.conversations)) return 'sharegpt';
  const messages = sample.messages;
  if (!Array.isArray(messages)) return undefined;
  if (typeof sample.id === 'string' && isObject(sample.source) && Array.isArray(sample.tools)) return 'gemtraj';
  const last = messages[messages.length - 1];
  if (messages.length === 2 && textOf(messages[0]).startsWith(SYNTHESIZER_INSTRUCTION) && /<\s*(tools|user|assistant)\s*>/i.test(textOf(last))) {
    return 'sft-pairs';
  }
  const structured = messages.some((m) => isObject(m) && (Array.isArray(m.tool_calls) || m.role === 'tool' && typeof m.tool_call_id === 'string'));
  if (structured) return 'openai';
  if (messages.some((m) => /<\s*(tool_call|tool_response|tools)\s*>/i.test(textOf(m)))) return 'hermes';
  return 'openai';
}

/** Imports one record of a known format. */
export function importRecord(format: FormatName, record: unknown, options: ImportOptions = {}): ImportResult {
  switch (format) {
    case 'gemtraj':
      return finishImport(record);
    case 'openai':
      return fromOpenAI(record, options);
    case 'sharegpt':
      return fromShareGPT(record, options);
    case 'hermes':
      return fromHermes(record, options);
    case 'taubench':
      return fromTauBench(record, options);
    case 'sft-pairs':
      return fromSftPair(record, options);
  }
}

/**
 * Reads a foreign file as trajectories. With `from: 'auto'`, each record's format is
 * detected on its own (so a stray record of another shape is imported, not misread).
 * `source.doc_id` of each import is `<file name>:<line>`.
 */
export async function* readForeign(file: string, from: FormatName | 'auto'): AsyncIterable<ImportedRecord> {
  const name = basename(file);
  for await (const raw of readRecordFile(file)) {
    if (raw.error !== undefined) {
      yield { line: raw.line, result: { ok: false, error: raw.error } };
      continue;
    }
    const format = from === 'auto' ? detectFormat(raw.value) : from;
    if (format === undefined) {
      yield { line: raw.line, result: { ok: false, error: 'unknown record shape (no messages, conversations or traj)' } };
      continue;
    }
    let result: ImportResult;
    try {
      result = importRecord(format, raw.value, { docId: `${name}:${raw.line}` });
    } catch (error) {
      // Importers return errors; this guards against a bug turning one record into a crash.
      result = { ok: false, error: `${format} import failed: ${(error as Error).message}` };
    }
    yield { line: raw.line, result };
  }
}

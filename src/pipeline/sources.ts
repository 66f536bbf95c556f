/**
 * Input sources of the engine: what each command feeds its first step. Every input record
 * becomes an item for the first step or a rejection that names the file and line.
 */
import { readForeign } from '../formats/detect.js';
import type { FormatName } from '../formats/types.js';
import { readDocuments, type ReadOptions } from '../io/documents.js';
import { readRecordFile } from '../io/record-file.js';
import { firstIssue, type Trajectory } from '../records.js';
import type { z } from 'zod';
import type { SourceItem } from './engine.js';

/** A corpus (any format of `readDocuments`: JSONL, JSON, CSV, Parquet, WET, text; a folder, a glob, stdin): documents, each its own unit of resume. */
export async function* documentSource(input: string, options: ReadOptions): AsyncGenerator<SourceItem> {
  for await (const item of readDocuments(input, options)) {
    if (item.kind === 'document') yield { kind: 'record', id: item.document.id, record: item.document };
    else yield { kind: 'rejection', rejection: { stage: 'input', id: item.id, source: { doc_id: item.id }, reasons: item.reasons } };
  }
}

export interface RecordSourceOptions<T> {
  /** Shape every line must have. */
  schema: z.ZodType<T>;
  /** Stage its bad lines are rejected at (the command's first step). */
  stage: string;
  /** Id of a record: its unit of resume. */
  idOf(record: T): string;
  /** The source text a record's later steps need, when known. */
  textOf?(record: T): string | undefined;
}

/** A JSONL file of gemtraj records (segments, extractions, trajectories) for one stage (also a JSON array, compressed, Parquet). */
export async function* recordSource<T>(file: string, options: RecordSourceOptions<T>): AsyncGenerator<SourceItem> {
  for await (const entry of readRecordFile(file)) {
    const where = `${file}:${entry.line}`;
    if (entry.error !== undefined) {
      yield { kind: 'rejection', rejection: { stage: options.stage, id: where, reasons: [{ check: 'input_json', message: `${where}: ${entry.error}` }] } };
      continue;
    }
    const parsed = options.schema.safeParse(entry.value);
    if (!parsed.success) {
      yield { kind: 'rejection', rejection: { stage: options.stage, id: where, reasons: [{ check: 'record_shape', message: `${where}: ${firstIssue(parsed.error)}` }] } };
      continue;
    }
    yield { kind: 'record', id: options.idOf(parsed.data), record: parsed.data, sourceText: options.textOf?.(parsed.data) };
  }
}

/**
 * Trajectories in gemtraj or a foreign format (`validate`). Ids are content hashes, so an id
 * met twice in this input is a duplicate record, rejected with the line of the repeat.
 */
export async function* trajectorySource(file: string, from: FormatName | 'auto', texts: Map<string, string>): AsyncGenerator<SourceItem> {
  const seen = new Set<string>();
  for await (const record of readForeign(file, from)) {
    const where = `${file}:${record.line}`;
    if (!record.result.ok) {
      yield { kind: 'rejection', rejection: { stage: 'import', id: where, reasons: [{ check: 'import', message: `${where}: ${record.result.error}` }] } };
      continue;
    }
    const trajectory: Trajectory = record.result.trajectory;
    if (seen.has(trajectory.id)) {
      yield {
        kind: 'rejection',
        rejection: { stage: 'import', id: where, source: trajectory.source, reasons: [{ check: 'duplicate_record', message: `${where}: same content as an earlier record (id ${trajectory.id})` }] },
      };
      continue;
    }
    seen.add(trajectory.id);
    const segmentId = trajectory.source.segment_id;
    yield { kind: 'record', id: trajectory.id, record: trajectory, sourceText: segmentId === undefined ? undefined : texts.get(segmentId) };
  }
}

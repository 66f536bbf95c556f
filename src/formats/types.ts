/**
 * Foreign dataset formats gemtraj reads and writes. Each format lives in its own file of
 * `src/formats/` and converts between one foreign record (one JSONL line or one element of a
 * JSON array) and a gemtraj {@link Trajectory}.
 */
import type { Trajectory } from '../records.js';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';

export type FormatName = 'gemtraj' | 'openai' | 'sharegpt' | 'hermes' | 'taubench' | 'sft-pairs';

/** The outcome of importing one foreign record. */
export type ImportResult =
  | { ok: true; trajectory: Trajectory }
  | { ok: false; /** What is wrong, with a JSON path where one applies. */ error: string };

/** One record read from a foreign file, with its position for error messages. */
export interface ImportedRecord {
  /** 1-based line for JSONL; 1-based element index for a JSON array file. */
  line: number;
  result: ImportResult;
}

/** Options every importer accepts. */
export interface ImportOptions {
  /**
   * `source.doc_id` of the imported trajectory (readers pass `<file>:<line>`); default: the
   * generated trajectory id, so that every record still carries provenance.
   */
  docId?: string | undefined;
}

/** An export plus what the conversion could not carry over (empty when lossless). */
export interface ExportOutcome<T> {
  record: T;
  /** Human-readable notes on dropped or merged content, one per loss. */
  notes: string[];
}

/**
 * Thrown by an exporter for a trajectory the target format cannot represent (e.g. a
 * conversation ShareGPT's turn rules reject, or arguments that are not a JSON object).
 * Callers report it with the record's line and go on; should one escape, exit status 2.
 */
export class ExportError extends GemtrajError {
  constructor(
    message: string,
    /** JSON path into the trajectory, when one applies. */
    readonly path?: string,
  ) {
    super(path === undefined ? message : `${path}: ${message}`, EXIT_BAD_INPUT);
    this.name = 'ExportError';
  }
}

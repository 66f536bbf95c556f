/**
 * `gemtraj batch import`: the answers of a Batch API output file (from `vllm run-batch` or a
 * provider) into the response cache. custom_id is the cache key, so nothing else is needed to
 * store an answer; what the export wrote is used to refuse what does not belong:
 * - a line for a request the export did not write (another run's file) is skipped;
 * - an id counts once, at its first answer: a line repeating an id already read in this file,
 *   or already answered in the cache, never replaces that answer;
 * - an answer from another model than the export asked for is stored, and said.
 * Answers are stored as offline ones: the first run to use each counts it as a paid call.
 * A line that failed for now (a server error, an expired line) is left out: the next export asks
 * for it again. A line the endpoint refused for good (a prompt too long, a content policy) is
 * returned in `refused`, for the caller to record, so that the next export rejects its record
 * with the endpoint's error instead of asking again forever. A line failed for the endpoint's
 * own reason (a wrong model, a key, a quota) is counted in `fatal`, and recorded nowhere.
 */
import { readFileSync } from 'node:fs';
import { parseOutputFile, type LineOutcome } from './batch-lines.js';
import type { ResponseCache } from './cache.js';

/** File of the run directory holding refused output lines, as read (see {@link ImportSummary.refused}). */
export const BATCH_REFUSED_FILE = 'batch-refused.jsonl';

export interface ImportOptions {
  /** Model recorded for an answer whose body names none, when the export does not say either. */
  fallbackModel: string;
  /**
   * The exported requests: custom_id → the model asked for. Lines for other ids are skipped.
   * `undefined`: nothing to check against (only a cache file was given).
   */
  exported?: ReadonlyMap<string, string> | undefined;
}

export interface ImportSummary {
  /** Answers put into the cache. */
  answered: number;
  /** Lines that failed for now (first few messages in `errors`): the next export asks for them again. */
  failed: number;
  /** Up to five `custom_id: message` of failed or refused lines. */
  errors: string[];
  /** Lines that were not JSON or had no custom_id. */
  unreadable: number;
  /** Lines for ids the export did not write (skipped). */
  foreign: number;
  /** Lines repeating an id already read in this file or already answered in the cache (skipped). */
  repeated: number;
  /** Answers by a model other than the one asked for: model → count. */
  otherModels: Record<string, number>;
  /** Output lines the endpoint refused for good, as read: record them (see {@link BATCH_REFUSED_FILE}). */
  refused: string[];
  /**
   * Lines failed for a reason that is the endpoint's, not the request's (a wrong model, a key,
   * a quota): not recorded; the run cannot go on until the endpoint is fixed and the batch run again.
   */
  fatal: number;
}

/** Reads `file` and stores its answers in `cache`. */
export function importBatchOutput(file: string, cache: ResponseCache, options: ImportOptions): ImportSummary {
  const { exported, fallbackModel } = options;
  const asked = (key: string): string => exported?.get(key) ?? fallbackModel;
  const { outcomes, unreadable } = parseOutputFile(readFileSync(file, 'utf8'), file, asked);
  const summary: ImportSummary = { answered: 0, failed: 0, errors: [], unreadable, foreign: 0, repeated: 0, otherModels: {}, refused: [], fatal: 0 };
  const seen = new Set<string>();
  const note = (outcome: LineOutcome, message: string): void => {
    if (summary.errors.length < 5) summary.errors.push(`${outcome.key.slice(0, 12)}…: ${message}`);
  };
  for (const outcome of outcomes) {
    if (exported !== undefined && !exported.has(outcome.key)) {
      summary.foreign++;
      continue;
    }
    if (seen.has(outcome.key) || cache.get(outcome.key) !== undefined) {
      summary.repeated++;
      continue;
    }
    seen.add(outcome.key);
    if (outcome.ok) {
      const { text, finishReason, usage, model, toolCalls } = outcome.response;
      const answeredBy = model !== undefined && model !== '' ? model : asked(outcome.key);
      if (exported !== undefined && answeredBy !== asked(outcome.key)) summary.otherModels[answeredBy] = (summary.otherModels[answeredBy] ?? 0) + 1;
      cache.putOffline(outcome.key, { text, finishReason, usage: usage ?? { prompt_tokens: 0, completion_tokens: 0 }, model: answeredBy, toolCalls });
      summary.answered++;
    } else if (outcome.failure.action === 'retry') {
      summary.failed++;
      note(outcome, outcome.failure.reason);
    } else if (outcome.failure.action === 'reject') {
      summary.refused.push(outcome.raw);
      note(outcome, outcome.failure.error.message);
    } else {
      summary.fatal++;
      note(outcome, outcome.failure.error.message);
    }
  }
  return summary;
}

/**
 * The refusals recorded in `text` (the {@link BATCH_REFUSED_FILE} of a run): custom_id → the
 * endpoint's failure, as the live batch backend would have met it.
 */
export function refusalsOf(text: string, where: string, model: (key: string) => string): Map<string, Extract<LineOutcome, { ok: false }>['failure']> {
  const refused = new Map<string, Extract<LineOutcome, { ok: false }>['failure']>();
  for (const outcome of parseOutputFile(text, where, model).outcomes) if (!outcome.ok && outcome.failure.action === 'reject') refused.set(outcome.key, outcome.failure);
  return refused;
}

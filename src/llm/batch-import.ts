/**
 * `gemtraj batch import`: the answers of a Batch API output file (from `vllm run-batch` or a
 * provider) into the response cache. custom_id is the cache key, so nothing else is needed;
 * failed lines are counted and left out, and the next export asks for them again.
 */
import { readFileSync } from 'node:fs';
import { parseOutputFile } from './batch-lines.js';
import type { ResponseCache } from './cache.js';

export interface ImportSummary {
  /** Answers put into the cache. */
  answered: number;
  /** Lines with an error (first few messages in `errors`): the next export asks for them again. */
  failed: number;
  /** Up to five `custom_id: message` of failed lines. */
  errors: string[];
  /** Lines that were not JSON or had no custom_id. */
  unreadable: number;
}

/** Reads `file` and stores its answers in `cache`. `fallbackModel` names answers whose body names no model. */
export function importBatchOutput(file: string, cache: ResponseCache, fallbackModel: string): ImportSummary {
  const { outcomes, unreadable } = parseOutputFile(readFileSync(file, 'utf8'), file, () => fallbackModel);
  const summary: ImportSummary = { answered: 0, failed: 0, errors: [], unreadable };
  for (const outcome of outcomes) {
    if (outcome.ok) {
      const { text, finishReason, usage, model, toolCalls } = outcome.response;
      cache.put(outcome.key, {
        text,
        finishReason,
        usage: usage ?? { prompt_tokens: 0, completion_tokens: 0 },
        model: model !== undefined && model !== '' ? model : fallbackModel,
        toolCalls,
      });
      summary.answered++;
    } else {
      summary.failed++;
      const message = outcome.failure.action === 'retry' ? outcome.failure.reason : outcome.failure.error.message;
      if (summary.errors.length < 5) summary.errors.push(`${outcome.key.slice(0, 12)}…: ${message}`);
    }
  }
  return summary;
}

/**
 * The filter as a pipeline step: the relevance filter of stages/filter.ts bound to the config.
 * (What it saved is counted from segments.jsonl, see counts.ts `filterCallsSaved`.)
 */
import type { Config } from '../config.js';
import type { LlmClient } from '../llm/types.js';
import { createSegmentFilter as createFilter, toSegmentRecord } from '../stages/filter.js';
import type { FilterDecision, SegmentDraft } from './run.js';

export interface FilterStep {
  decide(segment: SegmentDraft): Promise<FilterDecision>;
}

export async function createSegmentFilter(options: Config['filter'], llm: LlmClient | undefined): Promise<FilterStep> {
  const filter = createFilter({ mode: options.mode, scorer: options.scorer, low: options.low, high: options.high, threshold: options.threshold }, options.mode === 'local' ? undefined : llm);
  return {
    async decide(segment) {
      const decision = await filter.filter(segment);
      const record = toSegmentRecord(segment as Parameters<typeof toSegmentRecord>[0], decision);
      return { score: record.score, keep: record.keep, by: record.by, labels: record.labels, reason: record.reason };
    },
  };
}

/** Running totals over filter outcomes, for tests that check how a filter routed segments. */
import type { Usage } from '../../src/records.js';
import type { FilterOutcome } from '../../src/stages/filter.js';

export interface FilterCounters {
  segments: number;
  kept: number;
  dropped: number;
  /** Decided by the local scorer in `local` mode. */
  local: number;
  /** Dropped by the cascade below `low` without a call. */
  cascadeLow: number;
  /** Kept by the cascade at or above `high` without a call. */
  cascadeHigh: number;
  /** Judge calls made (one per judged segment). */
  llmCalls: number;
  llmKept: number;
  /** Judge answers that could not be used after repairs. */
  llmErrors: number;
  /** Calls a judge-everything run would have made but this one did not. */
  llmSaved: number;
  usage: Usage;
}

/** Counts outcomes by who decided them. */
export function countFilterOutcomes(outcomes: readonly FilterOutcome[]): FilterCounters {
  const c: FilterCounters = {
    segments: 0, kept: 0, dropped: 0, local: 0, cascadeLow: 0, cascadeHigh: 0, llmCalls: 0,
    llmKept: 0, llmErrors: 0, llmSaved: 0, usage: { prompt_tokens: 0, completion_tokens: 0 },
  };
  for (const o of outcomes) {
    c.segments++;
    if (o.keep) c.kept++;
    else c.dropped++;
    if (o.by === 'heuristic' || o.by === 'model') c.local++;
    else if (o.by === 'cascade-low') c.cascadeLow++;
    else if (o.by === 'cascade-high') c.cascadeHigh++;
    if (o.by === 'llm' || o.by === 'error') {
      c.llmCalls++;
      if (o.by === 'error') c.llmErrors++;
      else if (o.keep) c.llmKept++;
    } else c.llmSaved++;
    if (o.usage !== undefined) {
      c.usage = {
        prompt_tokens: c.usage.prompt_tokens + o.usage.prompt_tokens,
        completion_tokens: c.usage.completion_tokens + o.usage.completion_tokens,
      };
    }
  }
  return c;
}

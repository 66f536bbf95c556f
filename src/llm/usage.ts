/**
 * Usage and cost accounting per stage and model, for `run.json` and progress output.
 * Paid calls count their tokens and cost; cache hits count as `cached_calls` and report the
 * tokens and dollars they saved, at zero new cost.
 */
import type { StageName, Usage } from '../records.js';
import type { ModelPrice } from './options.js';

/** Figures of one stage × model pair (snake_case: it goes into `run.json` as is). */
export interface UsageFigures {
  /** Requests answered by the endpoint (paid). A structured request with re-asks counts each answer. */
  calls: number;
  /** Requests answered from the response cache (no paid call). */
  cached_calls: number;
  /** Requests that failed after all retries, or with a fatal endpoint error. */
  failed_calls: number;
  /** Extra attempts made after failed ones (429, 5xx, timeouts…). */
  retries: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** US dollars for the paid tokens; 0 for models without a price. */
  cost_usd: number;
  /** Tokens that cache hits did not have to pay for. */
  saved_prompt_tokens: number;
  saved_completion_tokens: number;
  /** US dollars that cache hits saved. */
  saved_cost_usd: number;
}

export interface UsageReport {
  /** Stage → model → figures. */
  by_stage: Partial<Record<StageName, Record<string, UsageFigures>>>;
  /** Model → figures summed over stages. */
  by_model: Record<string, UsageFigures>;
  totals: UsageFigures;
  /** Models that were called but have no entry in `prices` (their cost counts as 0). */
  unpriced_models: string[];
}

export function emptyFigures(): UsageFigures {
  return {
    calls: 0,
    cached_calls: 0,
    failed_calls: 0,
    retries: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    cost_usd: 0,
    saved_prompt_tokens: 0,
    saved_completion_tokens: 0,
    saved_cost_usd: 0,
  };
}

/** Dollars for `usage` at `price`; 0 when there is no price. */
export function costOf(usage: Usage, price: ModelPrice | undefined): number {
  if (price === undefined) return 0;
  return (usage.prompt_tokens * price.prompt_per_million + usage.completion_tokens * price.completion_per_million) / 1e6;
}

function add(into: UsageFigures, from: UsageFigures): void {
  for (const key of Object.keys(into) as Array<keyof UsageFigures>) into[key] += from[key];
}

export class UsageAccounting {
  private readonly figures = new Map<string, { stage: StageName; model: string; figures: UsageFigures }>();
  private readonly unpriced = new Set<string>();

  constructor(private readonly prices: Record<string, ModelPrice>) {}

  private bucket(stage: StageName, model: string): UsageFigures {
    const key = `${stage}\u0000${model}`;
    let entry = this.figures.get(key);
    if (entry === undefined) {
      entry = { stage, model, figures: emptyFigures() };
      this.figures.set(key, entry);
    }
    return entry.figures;
  }

  /** Price of `model`; remembers models without one for the report. */
  price(model: string): ModelPrice | undefined {
    const price = this.prices[model];
    if (price === undefined) this.unpriced.add(model);
    return price;
  }

  /** A paid call; returns its cost in dollars. */
  recordCall(stage: StageName, model: string, usage: Usage): number {
    const cost = costOf(usage, this.price(model));
    const f = this.bucket(stage, model);
    f.calls++;
    f.prompt_tokens += usage.prompt_tokens;
    f.completion_tokens += usage.completion_tokens;
    f.cost_usd += cost;
    return cost;
  }

  /** A cache hit; returns the dollars it saved. */
  recordCached(stage: StageName, model: string, usage: Usage): number {
    const saved = costOf(usage, this.price(model));
    const f = this.bucket(stage, model);
    f.cached_calls++;
    f.saved_prompt_tokens += usage.prompt_tokens;
    f.saved_completion_tokens += usage.completion_tokens;
    f.saved_cost_usd += saved;
    return saved;
  }

  recordFailure(stage: StageName, model: string): void {
    this.bucket(stage, model).failed_calls++;
  }

  recordRetry(stage: StageName, model: string): void {
    this.bucket(stage, model).retries++;
  }

  report(): UsageReport {
    const report: UsageReport = { by_stage: {}, by_model: {}, totals: emptyFigures(), unpriced_models: [...this.unpriced].sort() };
    for (const { stage, model, figures } of this.figures.values()) {
      const stageEntry = (report.by_stage[stage] ??= {});
      stageEntry[model] = { ...figures };
      add((report.by_model[model] ??= emptyFigures()), figures);
      add(report.totals, figures);
    }
    return report;
  }
}

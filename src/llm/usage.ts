/**
 * Usage and cost accounting per stage and model, for `run.json` and progress output.
 * Paid calls count their tokens and cost; cache hits count as `cached_calls` and report the
 * tokens and dollars they saved, at zero new cost.
 */
import type { StageName, Usage } from '../records.js';
import type { ModelPrice } from './options.js';
import { costAt, type PriceOf } from './prices.js';

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
  /** US dollars for the paid tokens of priced calls (see `unpriced_calls`). */
  cost_usd: number;
  /** Paid calls of models without a known price: their cost is not in `cost_usd`. */
  unpriced_calls: number;
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
  /** Models that were called but have no known price (their cost is unknown, not in `cost_usd`). */
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
    unpriced_calls: 0,
    saved_prompt_tokens: 0,
    saved_completion_tokens: 0,
    saved_cost_usd: 0,
  };
}

/** Dollars for `usage` at `price`; 0 when there is no price. */
export function costOf(usage: Usage, price: ModelPrice | undefined): number {
  return price === undefined ? 0 : costAt(usage, price);
}

/** Cost for people: `$1.2345`, `unpriced` when no call had a price, `$1.2345 + 3 unpriced calls` when some had none. */
export function formatCost(figures: Pick<UsageFigures, 'cost_usd' | 'unpriced_calls' | 'calls'>, digits = 4): string {
  const unpriced = figures.unpriced_calls ?? 0;
  if (unpriced > 0 && unpriced >= figures.calls) return 'unpriced';
  const dollars = `$${figures.cost_usd.toFixed(digits)}`;
  return unpriced > 0 ? `${dollars} + ${unpriced} unpriced call${unpriced === 1 ? '' : 's'}` : dollars;
}

function add(into: UsageFigures, from: UsageFigures): void {
  for (const key of Object.keys(into) as Array<keyof UsageFigures>) into[key] += from[key];
}

export class UsageAccounting {
  private readonly figures = new Map<string, { stage: StageName; model: string; figures: UsageFigures }>();
  private readonly unpriced = new Set<string>();

  private readonly priceOf: PriceOf;

  /** `prices`: a price function, or prices by model name. */
  constructor(prices: PriceOf | Record<string, ModelPrice>) {
    this.priceOf = typeof prices === 'function' ? prices : (model, usage) => (prices[model] === undefined ? undefined : costAt(usage, prices[model]));
  }

  private bucket(stage: StageName, model: string): UsageFigures {
    const key = `${stage}\u0000${model}`;
    let entry = this.figures.get(key);
    if (entry === undefined) {
      entry = { stage, model, figures: emptyFigures() };
      this.figures.set(key, entry);
    }
    return entry.figures;
  }

  /** Cost of `usage` of `model`; remembers models without a price for the report. */
  private cost(model: string, usage: Usage): number | undefined {
    const cost = this.priceOf(model, usage);
    if (cost === undefined) this.unpriced.add(model);
    return cost;
  }

  /** A paid call; returns its cost in dollars (0 when unpriced: see `unpriced_calls`). */
  recordCall(stage: StageName, model: string, usage: Usage): number {
    const priced = this.cost(model, usage);
    const cost = priced ?? 0;
    const f = this.bucket(stage, model);
    f.calls++;
    if (priced === undefined) f.unpriced_calls++;
    f.prompt_tokens += usage.prompt_tokens;
    f.completion_tokens += usage.completion_tokens;
    f.cost_usd += cost;
    return cost;
  }

  /** A cache hit; returns the dollars it saved. */
  recordCached(stage: StageName, model: string, usage: Usage): number {
    const saved = this.cost(model, usage) ?? 0;
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

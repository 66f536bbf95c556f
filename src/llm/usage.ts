/**
 * Usage and cost accounting per stage and model, for `run.json` and progress output.
 * Paid calls count their tokens and cost; cache hits count as `cached_calls` and report the
 * tokens and dollars they saved, at zero new cost.
 *
 * Every change is one {@link UsageEvent}: the accounting applies it and hands it to its sink
 * (the run directory's usage ledger, see usage-ledger.ts), so that replaying the ledger after a
 * kill gives exactly the figures the dead processes had, and every request they had sent.
 */
import type { StageName, Usage } from '../records.js';
import type { ModelPrice } from './options.js';
import { costAt, type PriceOf } from './prices.js';

/** Figures of one stage × model pair (snake_case: it goes into `run.json` as is). */
export interface UsageFigures {
  /**
   * Requests answered by the endpoint (paid), plus `unconfirmed_calls`. A structured request
   * with re-asks counts each answer.
   */
  calls: number;
  /**
   * Requests sent whose answer was never read (the process was killed, or a stop aborted them):
   * the provider may have billed them; their tokens and cost are unknown (not in the figures).
   */
  unconfirmed_calls: number;
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
  /** US dollars that cache hits saved (see `unpriced_cached_calls`). */
  saved_cost_usd: number;
  /**
   * Cache hits of models without a known price: what they saved is not in `saved_cost_usd`.
   * Absent from run.json files written before it existed (read as 0).
   */
  unpriced_cached_calls: number;
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
    unconfirmed_calls: 0,
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
    unpriced_cached_calls: 0,
  };
}

/** Dollars for `usage` at `price`; 0 when there is no price. */
export function costOf(usage: Usage, price: ModelPrice | undefined): number {
  return price === undefined ? 0 : costAt(usage, price);
}

/**
 * Cost for people: `$1.2345`, `unpriced` when no answered call had a price, `$1.2345 + 3
 * unpriced calls` when some had none. Unconfirmed calls (in flight at a kill) have no known
 * cost either way, so they do not make an unpriced run look priced.
 */
export function formatCost(figures: Pick<UsageFigures, 'cost_usd' | 'unpriced_calls' | 'calls'> & { unconfirmed_calls?: number }, digits = 4): string {
  const unpriced = figures.unpriced_calls ?? 0;
  if (unpriced > 0 && unpriced >= figures.calls - (figures.unconfirmed_calls ?? 0)) return 'unpriced';
  const dollars = `$${figures.cost_usd.toFixed(digits)}`;
  return unpriced > 0 ? `${dollars} + ${unpriced} unpriced call${unpriced === 1 ? '' : 's'}` : dollars;
}

/**
 * What cache hits saved, as {@link formatCost} says what calls cost: `unpriced` when no hit had
 * a price, `$0.0140 + 2 unpriced hits` when some had none.
 */
export function formatSaved(figures: Pick<UsageFigures, 'saved_cost_usd' | 'cached_calls'> & { unpriced_cached_calls?: number }, digits = 4): string {
  const unpriced = figures.unpriced_cached_calls ?? 0;
  if (unpriced > 0 && unpriced >= figures.cached_calls) return 'unpriced';
  const dollars = `$${figures.saved_cost_usd.toFixed(digits)}`;
  return unpriced > 0 ? `${dollars} + ${unpriced} unpriced hit${unpriced === 1 ? '' : 's'}` : dollars;
}

function add(into: UsageFigures, from: UsageFigures): void {
  for (const key of Object.keys(into) as Array<keyof UsageFigures>) into[key] += from[key];
}

/**
 * One change to the figures (short keys: one ledger line per event). `usd` is the cost (for
 * `cached`, the saving) at the time, `null` for a model without a price.
 */
export type UsageEvent =
  /** A request goes on the wire: pending until its outcome; a pending one at replay's end was never read. */
  | { e: 'sent'; s: StageName; m: string }
  /**
   * The answer to a sent request (paid). `o: 1`: an outcome with no `sent` line before it (batch
   * mode, where the process that reads an answer may not be the one that sent the request; an
   * offline batch's answer at its first use), so it settles no `sent` line at replay, another
   * process's included.
   */
  | { e: 'paid'; s: StageName; m: string; p: number; c: number; usd: number | null; o?: 1 }
  /** A sent request ended with an error answer or no connection (not billed). `o` as for `paid`. */
  | { e: 'unanswered'; s: StageName; m: string; o?: 1 }
  /** A sent request abandoned (aborted) before its answer: counted as unconfirmed. */
  | { e: 'abandoned'; s: StageName; m: string }
  | { e: 'cached'; s: StageName; m: string; p: number; c: number; usd: number | null }
  | { e: 'retry'; s: StageName; m: string }
  | { e: 'failed'; s: StageName; m: string }
  /** Usage recorded before the ledger existed (an older run.json's), taken as it is. */
  | { e: 'base'; usage: UsageReport };

export class UsageAccounting {
  private readonly figures = new Map<string, { stage: StageName; model: string; figures: UsageFigures }>();
  private readonly unpriced = new Set<string>();
  /** Sent requests without an outcome yet, by bucket key. */
  private readonly pending = new Map<string, number>();

  private readonly priceOf: PriceOf;

  /**
   * `prices`: a price function, or prices by model name. `sink` receives every event after it
   * is applied (a throwing sink propagates; the figures already hold the event).
   * `outcomesOnly` (batch mode, where a request is answered to whichever process polls its batch
   * next): `sent` and `abandoned` are not recorded, and outcomes settle none (`o: 1`), in the
   * figures as on the ledger, so that a stopped process's run.json holds no call the ledger lacks.
   */
  constructor(
    prices: PriceOf | Record<string, ModelPrice>,
    private readonly sink?: (event: UsageEvent) => void,
    private readonly outcomesOnly = false,
  ) {
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

  private settle(stage: StageName, model: string): void {
    const key = `${stage}\u0000${model}`;
    this.pending.set(key, (this.pending.get(key) ?? 1) - 1);
  }

  /** Applies `event` to the figures (no sink): the one place the figures change. */
  apply(event: UsageEvent): void {
    if (event.e === 'base') {
      for (const [stage, models] of Object.entries(event.usage.by_stage)) {
        for (const [model, figures] of Object.entries(models ?? {})) {
          const f = this.bucket(stage as StageName, model);
          for (const key of Object.keys(f) as Array<keyof UsageFigures>) f[key] += figures[key] ?? 0;
        }
      }
      for (const model of event.usage.unpriced_models) this.unpriced.add(model);
      return;
    }
    const f = this.bucket(event.s, event.m);
    switch (event.e) {
      case 'sent': {
        const key = `${event.s}\u0000${event.m}`;
        this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
        return;
      }
      case 'paid':
        if (event.o !== 1) this.settle(event.s, event.m);
        f.calls++;
        if (event.usd === null) {
          f.unpriced_calls++;
          this.unpriced.add(event.m);
        }
        f.prompt_tokens += event.p;
        f.completion_tokens += event.c;
        f.cost_usd += event.usd ?? 0;
        return;
      case 'unanswered':
        if (event.o !== 1) this.settle(event.s, event.m);
        return;
      case 'abandoned':
        this.settle(event.s, event.m);
        f.calls++;
        f.unconfirmed_calls++;
        return;
      case 'cached':
        if (event.usd === null) {
          f.unpriced_cached_calls++;
          this.unpriced.add(event.m);
        }
        f.cached_calls++;
        f.saved_prompt_tokens += event.p;
        f.saved_completion_tokens += event.c;
        f.saved_cost_usd += event.usd ?? 0;
        return;
      case 'retry':
        f.retries++;
        return;
      case 'failed':
        f.failed_calls++;
        return;
    }
  }

  private record(event: UsageEvent): void {
    let line = event;
    if (this.outcomesOnly) {
      if (event.e === 'sent' || event.e === 'abandoned') return;
      if (event.e === 'paid' || event.e === 'unanswered') line = { ...event, o: 1 };
    }
    this.apply(line);
    this.sink?.(line);
  }

  /** A request goes on the wire; its outcome follows with recordCall, recordUnanswered or recordAbandoned. */
  recordSent(stage: StageName, model: string): void {
    this.record({ e: 'sent', s: stage, m: model });
  }

  /**
   * The answer of a sent request (paid); returns its cost in dollars (0 when unpriced: see
   * `unpriced_calls`). `unsent`: an answer with no `sent` line before it (an offline batch's,
   * read from the cache), which settles none. `priceOf`: other prices than the accounting's
   * (an offline batch's answers are at the batch price, whatever the gateway's calls are at).
   */
  recordCall(stage: StageName, model: string, usage: Usage, unsent = false, priceOf: PriceOf = this.priceOf): number {
    return this.recordTokens('paid', stage, model, usage, unsent, priceOf);
  }

  /** A paid answer or a cache hit at today's price (`priceOf`'s); returns the dollars (spent or saved). */
  private recordTokens(e: 'paid' | 'cached', stage: StageName, model: string, usage: Usage, unsent = false, priceOf: PriceOf = this.priceOf): number {
    const usd = priceOf(model, usage) ?? null;
    const tokens = { s: stage, m: model, p: usage.prompt_tokens, c: usage.completion_tokens, usd };
    this.record(e === 'cached' ? { e, ...tokens } : unsent ? { e, ...tokens, o: 1 } : { e, ...tokens });
    return usd ?? 0;
  }

  /** A sent request that got an error answer or none (not billed). */
  recordUnanswered(stage: StageName, model: string): void {
    this.record({ e: 'unanswered', s: stage, m: model });
  }

  /** A sent request aborted before its answer (may have been billed: unconfirmed). */
  recordAbandoned(stage: StageName, model: string): void {
    this.record({ e: 'abandoned', s: stage, m: model });
  }

  /** A cache hit; returns the dollars it saved. */
  recordCached(stage: StageName, model: string, usage: Usage): number {
    return this.recordTokens('cached', stage, model, usage);
  }

  recordFailure(stage: StageName, model: string): void {
    this.record({ e: 'failed', s: stage, m: model });
  }

  recordRetry(stage: StageName, model: string): void {
    this.record({ e: 'retry', s: stage, m: model });
  }

  /**
   * The figures. With `unsettled` (replaying the ledger of processes that are gone), requests
   * sent without an outcome count as unconfirmed calls; without it they are in flight and not
   * counted yet.
   */
  report(unsettled = false): UsageReport {
    const report: UsageReport = { by_stage: {}, by_model: {}, totals: emptyFigures(), unpriced_models: [...this.unpriced].sort() };
    for (const [key, { stage, model, figures }] of this.figures) {
      const open = unsettled ? Math.max(0, this.pending.get(key) ?? 0) : 0;
      const withOpen = { ...figures, calls: figures.calls + open, unconfirmed_calls: figures.unconfirmed_calls + open };
      const stageEntry = (report.by_stage[stage] ??= {});
      stageEntry[model] = withOpen;
      add((report.by_model[model] ??= emptyFigures()), withOpen);
      add(report.totals, withOpen);
    }
    return report;
  }
}

function addFigures(a: UsageFigures, b: UsageFigures): UsageFigures {
  const out = { ...a };
  for (const key of Object.keys(b) as Array<keyof UsageFigures>) out[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return out;
}

function addMap(a: Record<string, UsageFigures> | undefined, b: Record<string, UsageFigures> | undefined): Record<string, UsageFigures> {
  const out: Record<string, UsageFigures> = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b ?? {})) out[k] = out[k] === undefined ? v : addFigures(out[k], v);
  return out;
}

/** Sums two usage reports (earlier sessions + this one). */
export function mergeUsage(previous: UsageReport | undefined, current: UsageReport): UsageReport {
  if (previous === undefined) return current;
  const byStage: UsageReport['by_stage'] = { ...previous.by_stage };
  for (const [stage, models] of Object.entries(current.by_stage)) {
    byStage[stage as keyof UsageReport['by_stage']] = addMap(byStage[stage as keyof UsageReport['by_stage']], models);
  }
  return {
    by_stage: byStage,
    by_model: addMap(previous.by_model, current.by_model),
    totals: addFigures(previous.totals, current.totals),
    unpriced_models: [...new Set([...previous.unpriced_models, ...current.unpriced_models])],
  };
}


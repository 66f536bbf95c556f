/**
 * `gemtraj run --estimate`: the calls and tokens a run would take, before any paid call,
 * derived from the command's step list. Each document is taken through the steps: steps that
 * can decide without a model (segmenting, the local scorer) run for real; from the first step
 * that needs a model on, records flow on as weighted placeholders, with each step's expected
 * calls, token sizes and outputs per record (see each step's `estimate`).
 *
 * Prompt tokens are measured from the real segment lengths (4 characters a token) plus the
 * fixed size of each step's instructions; completion sizes are typical figures from the
 * paper's trajectory sizes (46 messages ≈ 9–12k tokens refined).
 */
import { parseShard, type Config } from '../config.js';
import { OPENAI_BASE_URL } from '../llm/from-config.js';
import { pricePerMillion } from '../llm/prices.js';
import type { Document } from '../records.js';
import { documentSource } from './sources.js';
import { buildPipeline, type CorpusMode } from './pipelines.js';
import { shardOf } from './pool.js';
import type { EstimateItem, Step } from './step.js';

export interface StepEstimateTotals {
  /** Records expected to reach the step. */
  records: number;
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface RunEstimate {
  documents: number;
  input_rejected: number;
  /** Per step, in pipeline order. */
  steps: Record<string, StepEstimateTotals>;
  total: Omit<StepEstimateTotals, 'records'>;
  /** USD, when the config has prices for every model that would be called. */
  cost_usd: number | undefined;
  /** The same at the Batch API's price (`batch.price_factor` of it). */
  batch_cost_usd: number | undefined;
}

/** Walks the input without a model call; `signal` stops the walk early (the figures are then partial). */
export async function estimateRun(input: string, config: Config, mode: CorpusMode, signal?: AbortSignal): Promise<RunEstimate> {
  const steps = buildPipeline(mode, { config });
  const shard = parseShard(config.shard);
  const est: RunEstimate = { documents: 0, input_rejected: 0, steps: {}, total: { calls: 0, prompt_tokens: 0, completion_tokens: 0 }, cost_usd: undefined, batch_cost_usd: undefined };
  for (const step of steps) est.steps[step.name] = { records: 0, calls: 0, prompt_tokens: 0, completion_tokens: 0 };

  const walk = (i: number, item: EstimateItem, weight: number): void => {
    const step = steps[i] as Step | undefined;
    if (step === undefined || weight <= 0) return;
    // Placeholders (record undefined) stand for records the previous step passes on.
    if (item.record !== undefined && step.accepts !== undefined && !step.accepts(item.record)) return;
    const totals = est.steps[step.name] as StepEstimateTotals;
    totals.records += weight;
    const e = step.estimate?.(item) ?? { calls: 0, prompt_tokens: 0, completion_tokens: 0, out: item.record !== undefined ? [item.record] : 1 };
    totals.calls += e.calls * weight;
    totals.prompt_tokens += e.prompt_tokens * weight;
    totals.completion_tokens += e.completion_tokens * weight;
    const recordTokens = e.outTokens ?? item.recordTokens;
    if (Array.isArray(e.out)) {
      for (const record of e.out) walk(i + 1, { record, textChars: step.textOf?.(record)?.length ?? item.textChars, recordTokens }, weight);
    } else walk(i + 1, { record: undefined, textChars: item.textChars, recordTokens }, weight * e.out);
  };

  let seen = 0;
  try {
    for await (const item of documentSource(input, { textField: config.text_field, idField: config.id_field })) {
      const id = item.kind === 'record' ? item.id : item.rejection.id;
      if (shard !== undefined && shardOf(id, shard.count) !== shard.index) continue;
      if (config.max_docs !== undefined && seen >= config.max_docs) break;
      if (signal?.aborted === true) break;
      seen++;
      if (item.kind === 'rejection') {
        est.input_rejected++;
        continue;
      }
      est.documents++;
      walk(0, { record: item.record as Document, textChars: (item.record as Document).text.length, recordTokens: 0 }, 1);
    }
  } finally {
    // The dedup step's throwaway index (its database and run files) goes with the estimate.
    for (const step of steps) step.close?.();
  }

  let cost = 0;
  let priced = true;
  for (const [name, s] of Object.entries(est.steps)) {
    s.records = Math.round(s.records);
    s.calls = Math.round(s.calls);
    s.prompt_tokens = Math.round(s.prompt_tokens);
    s.completion_tokens = Math.round(s.completion_tokens);
    est.total.calls += s.calls;
    est.total.prompt_tokens += s.prompt_tokens;
    est.total.completion_tokens += s.completion_tokens;
    if (s.calls === 0) continue;
    const model = config.models[name as keyof Config['models']] ?? config.model;
    const price = model === undefined ? undefined : pricePerMillion({ prices: config.prices, table: config.price_table, baseUrl: config.base_urls[0] ?? OPENAI_BASE_URL }, model);
    if (price === undefined) priced = false;
    else cost += (s.prompt_tokens * price.prompt_per_million + s.completion_tokens * price.completion_per_million) / 1e6;
  }
  est.cost_usd = priced && est.total.calls > 0 ? cost : undefined;
  est.batch_cost_usd = est.cost_usd === undefined ? undefined : est.cost_usd * config.batch.price_factor;
  return est;
}

export function formatEstimate(e: RunEstimate): string {
  const pad = (v: string | number, n: number): string => String(v).padStart(n);
  const rows = Object.entries(e.steps).map(
    ([step, s]) => `  ${step.padEnd(11)} ${pad(s.records, 9)} ${pad(s.calls, 9)} ${pad(s.prompt_tokens, 14)} ${pad(s.completion_tokens, 14)}`,
  );
  return [
    `documents ${e.documents} (+${e.input_rejected} unreadable)`,
    `  step          records     calls  prompt tokens  compl. tokens`,
    ...rows,
    `  ${'total'.padEnd(11)} ${pad('', 9)} ${pad(e.total.calls, 9)} ${pad(e.total.prompt_tokens, 14)} ${pad(e.total.completion_tokens, 14)}`,
    e.cost_usd !== undefined
      ? `estimated cost: $${e.cost_usd.toFixed(2)} live, $${(e.batch_cost_usd ?? e.cost_usd).toFixed(2)} with --batch (a model's price from \`prices\` or the price table)`
      : 'estimated cost: unpriced — add `prices` for the models to the config file to see it',
    'measured from your text: documents, segments, and the local filter\'s decisions; prompt sizes (4 characters a token)',
    'assumed, not measured: extraction passes 85%, 1.5 workflows per extraction, 10% re-asks, the judge keeps half of the uncertain-band segments, typical completion sizes (src/pipeline/steps/)',
    'for measured figures: --estimate --pilot N runs N documents for real (cached, so the run does not pay for them again)',
  ].join('\n');
}

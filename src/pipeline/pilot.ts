/**
 * `gemtraj run --estimate --pilot N`: the first N documents are run for real, and what they
 * took per stage — calls, re-asks, yields, tokens, call latency — is scaled to the whole input
 * by the records that reach the first model step (counted without a model). The range says how
 * far a pilot of N documents can be off; cost is shown live and at the batch price, and time at
 * the configured concurrency and per-minute limits.
 *
 * The pilot runs in a scratch directory with the run's gateway, so its answers go into the run's
 * response cache and its paid calls into the run's usage ledger: the real run replays them and
 * pays only for the rest. Every pilot document goes through every step, those a run or an
 * earlier pilot already did included (their calls are replayed from the cache and measured the
 * same): in the run directory itself they would be skipped as done, and measured as nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Gateway } from '../llm/gateway.js';
import { pricePerMillion } from '../llm/prices.js';
import { OPENAI_BASE_URL } from '../llm/from-config.js';
import { estimateRun } from './estimate.js';
import type { CorpusMode } from './pipelines.js';
import { runCorpusSession } from './session.js';
import { documentSource } from './sources.js';
import { formatSeconds } from './progress.js';

/** Figures of one stage, for the whole input. */
export interface PilotStage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface PilotEstimate {
  /** Documents the pilot ran, and the documents of the whole input. */
  pilot_documents: number;
  documents: number;
  /** Input size over pilot size, in records reaching the first model step: the scale factor. */
  scale: number;
  /** Per stage, extrapolated to the whole input. */
  stages: Record<string, PilotStage>;
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Relative half-width of the range (0.2 = ±20%). */
  margin: number;
  /** Trajectories passed in the pilot, and extrapolated. */
  pilot_passed: number;
  passed: number;
  /** Dollars live and at the batch price; `undefined` when a model has no known price. */
  cost_usd: number | undefined;
  batch_cost_usd: number | undefined;
  /** Models without a known price. */
  unpriced: string[];
  /** Mean latency of a paid call in the pilot, in ms; `undefined` when every call was cached. */
  call_latency_ms: number | undefined;
  /** Wall time of the whole input at the configured concurrency and limits, in seconds. */
  seconds: number | undefined;
  /**
   * How the pilot's session ended (run.json's `status`): an estimate is only worth printing
   * after `complete`. `stopped` (the endpoint refused to go on) and documents left to retry
   * (`retryable`: an endpoint that did not answer) are the run's own failures.
   */
  status: string;
  /** Documents whose calls failed after their retries (they would be retried by a rerun). */
  retryable: number;
  /** Why the pilot's session stopped, when it did. */
  stop_reason: string | undefined;
}

/**
 * Input size over pilot size, in the records that reach the first step that calls a model
 * (segments, or the segments a local scorer keeps): computed exactly for both without a model
 * call, and what calls grow with. Falls back to documents when no step calls a model.
 */
async function scaleOf(input: string, config: Config, mode: CorpusMode, pilot: number, signal?: AbortSignal): Promise<{ scale: number; documents: number; pilotDocuments: number }> {
  const full = await estimateRun(input, config, mode, signal);
  const part = await estimateRun(input, { ...config, max_docs: Math.min(pilot, config.max_docs ?? Infinity) }, mode, signal);
  const first = Object.entries(full.steps).find(([, s]) => s.calls > 0)?.[0];
  const fullRecords = first === undefined ? full.documents : (full.steps[first]?.records ?? 0);
  const pilotRecords = first === undefined ? part.documents : (part.steps[first]?.records ?? 0);
  const scale = pilotRecords > 0 ? fullRecords / pilotRecords : part.documents > 0 ? full.documents / part.documents : 0;
  return { scale, documents: full.documents, pilotDocuments: part.documents };
}

export interface PilotOptions {
  mode: CorpusMode;
  input: string;
  out: string;
  config: Config;
  gateway: Gateway;
  /** Documents to run for real. Minimum 1. */
  pilot: number;
  allowConfigChange?: boolean | undefined;
  /** Stop requested: the pilot's session finishes what is in flight (status `interrupted`). */
  signal?: AbortSignal | undefined;
  log?: ((message: string) => void) | undefined;
}

export async function pilotEstimate(options: PilotOptions): Promise<PilotEstimate> {
  const { config, gateway } = options;
  const size = await scaleOf(options.input, config, options.mode, options.pilot, options.signal);
  const latencies: number[] = [];
  const off = gateway.onEvent((event) => {
    // Calls that went on the wire (an offline batch's answer read from the cache made no attempt).
    if (event.type === 'call' && !event.cached && event.attempts > 0) latencies.push(event.duration_ms);
  });
  let result;
  const scratch = mkdtempSync(join(tmpdir(), 'gemtraj-pilot-'));
  // Removed however the process ends: a second Ctrl-C exits at once, past any finally.
  const removeScratch = (): void => rmSync(scratch, { recursive: true, force: true });
  process.once('exit', removeScratch);
  try {
    result = await runCorpusSession({
      mode: options.mode,
      input: options.input,
      out: scratch,
      config: { ...config, max_docs: Math.min(options.pilot, config.max_docs ?? Infinity), quiet: true },
      gateway,
      allowConfigChange: options.allowConfigChange === true,
      signal: options.signal,
      log: options.log ?? (() => undefined),
    });
  } finally {
    off();
    process.off('exit', removeScratch);
    removeScratch();
  }
  const pilotDocs = size.pilotDocuments;
  const scale = size.scale;
  // Paid and cached calls alike: documents whose answers are cached already cost as much to run.
  const usage = gateway.usage();
  const stages: Record<string, PilotStage> = {};
  const totals = { calls: 0, prompt_tokens: 0, completion_tokens: 0 };
  let cost = 0;
  let batchCost = 0;
  const unpriced = new Set<string>();
  const priceOptions = { prices: config.prices, table: config.price_table, baseUrl: config.base_urls[0] ?? OPENAI_BASE_URL };
  for (const [stage, models] of Object.entries(usage.by_stage)) {
    const s: PilotStage = { calls: 0, prompt_tokens: 0, completion_tokens: 0 };
    for (const [model, f] of Object.entries(models ?? {})) {
      const calls = (f.calls + f.cached_calls) * scale;
      const prompt = (f.prompt_tokens + f.saved_prompt_tokens) * scale;
      const completion = (f.completion_tokens + f.saved_completion_tokens) * scale;
      s.calls += calls;
      s.prompt_tokens += prompt;
      s.completion_tokens += completion;
      const price = pricePerMillion(priceOptions, model);
      if (price === undefined) unpriced.add(model);
      else {
        const dollars = (prompt * price.prompt_per_million + completion * price.completion_per_million) / 1e6;
        cost += dollars;
        batchCost += dollars * config.batch.price_factor;
      }
    }
    stages[stage] = { calls: Math.round(s.calls), prompt_tokens: Math.round(s.prompt_tokens), completion_tokens: Math.round(s.completion_tokens) };
    totals.calls += stages[stage].calls;
    totals.prompt_tokens += stages[stage].prompt_tokens;
    totals.completion_tokens += stages[stage].completion_tokens;
  }
  const passed = result.runJson.counts?.passed ?? 0;
  const latency = latencies.length > 0 ? latencies.reduce((a, b) => a + b, 0) / latencies.length : undefined;
  return {
    pilot_documents: pilotDocs,
    documents: size.documents,
    scale,
    stages,
    ...totals,
    // Documents differ: assume a spread of 50% per document, so a pilot of n is off by ~1/√n.
    margin: pilotDocs >= size.documents ? 0 : Math.min(1, (1.96 * 0.5) / Math.sqrt(Math.max(1, pilotDocs))),
    pilot_passed: passed,
    passed: Math.round(passed * scale),
    cost_usd: unpriced.size > 0 ? undefined : cost,
    batch_cost_usd: unpriced.size > 0 ? undefined : batchCost,
    unpriced: [...unpriced].sort(),
    call_latency_ms: latency,
    seconds: latency === undefined ? undefined : runSeconds(totals.calls, totals.prompt_tokens + totals.completion_tokens, latency, config),
    status: result.runJson.status,
    retryable: result.runJson.counts?.retryable ?? 0,
    stop_reason: result.runJson.stop_reason,
  };
}

/** Wall time of `calls` at the configured concurrency, or the rpm/tpm limits when they bind. */
export function runSeconds(calls: number, tokens: number, latencyMs: number, config: Pick<Config, 'concurrency' | 'rpm' | 'tpm'>): number {
  const byConcurrency = (calls * latencyMs) / 1000 / config.concurrency;
  const byRpm = config.rpm === undefined ? 0 : (calls / config.rpm) * 60;
  const byTpm = config.tpm === undefined ? 0 : (tokens / config.tpm) * 60;
  return Math.max(byConcurrency, byRpm, byTpm);
}

export function formatPilotEstimate(e: PilotEstimate): string {
  const range = (n: number, digits = 0): string => {
    const f = (x: number): string => (digits === 0 ? String(Math.round(x)) : x.toFixed(digits));
    return e.margin === 0 ? f(n) : `${f(n)} (${f(n * (1 - e.margin))}–${f(n * (1 + e.margin))})`;
  };
  const pad = (v: string | number, n: number): string => String(v).padStart(n);
  const rows = Object.entries(e.stages).map(([stage, s]) => `  ${stage.padEnd(11)} ${pad(s.calls, 9)} ${pad(s.prompt_tokens, 14)} ${pad(s.completion_tokens, 14)}`);
  const lines = [
    `pilot: ${e.pilot_documents} of ${e.documents} documents run for real (their answers are cached and count toward the run); scaled ×${e.scale.toFixed(2)} by the segments that reach the first model step`,
    `  stage           calls  prompt tokens  compl. tokens`,
    ...rows,
    `calls ${range(e.calls)}`,
    `tokens ${range(e.prompt_tokens)} prompt + ${range(e.completion_tokens)} completion`,
    `trajectories passed ${range(e.passed)} (${e.pilot_passed} in the pilot)`,
    e.cost_usd === undefined
      ? `cost: unpriced (no known price for ${e.unpriced.join(', ')}; set \`prices\` in the config)`
      : `cost live $${range(e.cost_usd, 2)}, with --batch $${range(e.batch_cost_usd ?? 0, 2)}`,
    e.seconds === undefined
      ? 'time: unknown (every pilot call came from the cache)'
      : `time at the configured concurrency and limits: ${formatSeconds(e.seconds)} (${formatSeconds(e.seconds * (1 - e.margin))}–${formatSeconds(e.seconds * (1 + e.margin))}), mean call ${Math.round(e.call_latency_ms ?? 0)} ms; --batch: up to 24 h per wave, one wave per stage`,
    `range: ±${Math.round(e.margin * 100)}%, for documents that vary by 50% around their mean`,
  ];
  return lines.join('\n');
}

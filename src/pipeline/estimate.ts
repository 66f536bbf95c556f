/**
 * `gemtraj run --estimate`: reads the input, segments it and runs the local scorer, then
 * prints how many calls and tokens the run would take — before any paid call.
 *
 * Prompt tokens are measured from the real segment lengths (4 characters a token) plus the
 * fixed size of each stage's instructions; completion lengths are typical figures for the
 * stage, taken from the paper's trajectory sizes (46 messages ≈ 9–12k tokens refined).
 */
import type { Config } from '../config.js';
import { readDocuments } from '../io/documents.js';
import { segmentDocument } from '../stages/segment.js';
import { createScorer } from '../filter/scorer.js';
import { shardOf } from './pool.js';
import { parseShard } from '../config.js';
import type { StepsMode } from './steps.js';

/** Typical sizes per call, in tokens: [fixed prompt overhead, completion]. */
export const ESTIMATE_ASSUMPTIONS = {
  filter: { prompt: 700, completion: 120 },
  extract: { prompt: 1200, completion: 2200 },
  generate: { prompt: 2400, completion: 7000 },
  refine: { prompt: 2800, completion: 11000 },
  judge: { prompt: 1000, completion: 400 },
  synthesize: { prompt: 100, completion: 10000 },
  /** Workflows per extraction that reach generation (capped by extract.max_workflows). */
  workflowsPerExtraction: 1.5,
  /** Share of extractions that succeed. */
  extractPassRate: 0.85,
  /** Share of band segments the LLM judge keeps. */
  bandKeepRate: 0.5,
  /** Extra calls for re-asks after invalid answers. */
  reaskRate: 0.1,
} as const;

export interface StageEstimate {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface RunEstimate {
  documents: number;
  input_rejected: number;
  segments: number;
  /** Segments the local scorer keeps / drops without a call, and the band the LLM judges. */
  local_keep: number;
  local_drop: number;
  band: number;
  expected_kept: number;
  stages: Record<string, StageEstimate>;
  total: StageEstimate;
  /** USD, when the config has prices for the models. */
  cost_usd: number | undefined;
}

const tokens = (chars: number): number => Math.ceil(chars / 4);

export async function estimateRun(input: string, config: Config, mode: StepsMode): Promise<RunEstimate> {
  const scorer = createScorer(config.filter.scorer);
  const shard = parseShard(config.shard);
  const est: RunEstimate = {
    documents: 0,
    input_rejected: 0,
    segments: 0,
    local_keep: 0,
    local_drop: 0,
    band: 0,
    expected_kept: 0,
    stages: {},
    total: { calls: 0, prompt_tokens: 0, completion_tokens: 0 },
    cost_usd: undefined,
  };
  let keptChars = 0;
  let bandChars = 0;
  let seen = 0;
  for await (const item of readDocuments(input, { textField: config.text_field, idField: config.id_field })) {
    const id = item.kind === 'document' ? item.document.id : item.id;
    if (shard !== undefined && shardOf(id, shard.count) !== shard.index) continue;
    if (config.max_docs !== undefined && seen >= config.max_docs) break;
    seen++;
    if (item.kind === 'rejection') {
      est.input_rejected++;
      continue;
    }
    est.documents++;
    for (const seg of segmentDocument(item.document, { maxChars: config.segment.max_chars, minChars: config.segment.min_chars })) {
      est.segments++;
      const score = scorer.score(seg.text);
      const mode = config.filter.mode;
      if (mode === 'llm' || (mode === 'cascade' && score >= config.filter.low && score < config.filter.high)) {
        est.band++;
        bandChars += seg.text.length;
      } else if (mode === 'local' ? score >= config.filter.threshold : score >= config.filter.high) {
        est.local_keep++;
        keptChars += seg.text.length;
      } else est.local_drop++;
    }
  }
  const a = ESTIMATE_ASSUMPTIONS;
  const add = (stage: string, calls: number, promptPerCall: number, completionPerCall: number): void => {
    const c = calls * (1 + a.reaskRate);
    est.stages[stage] = { calls: Math.round(c), prompt_tokens: Math.round(c * promptPerCall), completion_tokens: Math.round(c * completionPerCall) };
  };
  if (est.band > 0) add('filter', est.band, a.filter.prompt + tokens(bandChars / est.band), a.filter.completion);
  const kept = est.local_keep + est.band * a.bandKeepRate;
  est.expected_kept = Math.round(kept);
  const avgText = kept > 0 ? tokens((keptChars + bandChars * a.bandKeepRate) / kept) : 0;
  if (mode !== 'filter' && kept > 0) {
    let trajectories: number;
    if (mode === 'synthesize') {
      add('synthesize', kept, a.synthesize.prompt + avgText, a.synthesize.completion);
      trajectories = kept;
    } else {
      add('extract', kept, a.extract.prompt + avgText, a.extract.completion);
      trajectories = kept * a.extractPassRate * Math.min(a.workflowsPerExtraction, config.extract.max_workflows);
      add('generate', trajectories, a.generate.prompt + avgText + 800, a.generate.completion);
      if (config.refine) add('refine', trajectories, a.refine.prompt + avgText + 800 + a.generate.completion, a.refine.completion);
    }
    const trajTokens = config.refine && mode === 'run' ? a.refine.completion : a.generate.completion;
    if (config.judge) add('judge', trajectories, a.judge.prompt + avgText + trajTokens, a.judge.completion);
  }
  let cost = 0;
  let priced = true;
  for (const [stage, s] of Object.entries(est.stages)) {
    est.total.calls += s.calls;
    est.total.prompt_tokens += s.prompt_tokens;
    est.total.completion_tokens += s.completion_tokens;
    const model = config.models[stage as keyof Config['models']] ?? config.model;
    const price = model === undefined ? undefined : config.prices[model];
    if (price === undefined) priced = false;
    else cost += (s.prompt_tokens * price.prompt_per_million + s.completion_tokens * price.completion_per_million) / 1e6;
  }
  est.cost_usd = priced && Object.keys(est.stages).length > 0 ? cost : undefined;
  return est;
}

export function formatEstimate(e: RunEstimate): string {
  const rows = Object.entries(e.stages).map(
    ([stage, s]) => `  ${stage.padEnd(11)} ${String(s.calls).padStart(9)} ${String(s.prompt_tokens).padStart(14)} ${String(s.completion_tokens).padStart(14)}`,
  );
  return [
    `documents ${e.documents} (+${e.input_rejected} unreadable), segments ${e.segments}`,
    `local scorer: keeps ${e.local_keep}, drops ${e.local_drop} without a call; ${e.band} go to the LLM judge; ~${e.expected_kept} kept`,
    `  stage           calls  prompt tokens  compl. tokens`,
    ...rows,
    `  ${'total'.padEnd(11)} ${String(e.total.calls).padStart(9)} ${String(e.total.prompt_tokens).padStart(14)} ${String(e.total.completion_tokens).padStart(14)}`,
    e.cost_usd !== undefined ? `estimated cost: $${e.cost_usd.toFixed(2)}` : 'estimated cost: add `prices` for the models to the config file to see it',
    'completion sizes are typical figures (see ESTIMATE_ASSUMPTIONS in src/pipeline/estimate.ts); prompt sizes come from your text',
  ].join('\n');
}

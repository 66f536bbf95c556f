/**
 * The one mapping from a {@link Config} to each step's options. Defaults live in the config
 * schema; nothing here invents one. A new step adds its entry here and its keys to the schema.
 */
import type { Config, ModelStage } from '../../config.js';
import type { ExtractOptions } from '../../stages/extract.js';
import type { FilterOptions } from '../../stages/filter.js';
import type { GenerateOptions } from '../../stages/generate.js';
import type { JudgeOptions } from '../../stages/judge.js';
import type { RefineOptions } from '../../stages/refine.js';
import type { SynthesizeOptions } from '../../stages/synthesize.js';
import type { ValidateOptions } from '../../validate/index.js';
import type { DedupSettings } from '../../dedup/segment-index.js';
import type { DecontaminateOptions } from './decontaminate.js';

/**
 * Longest message text the judge sees, in characters; longer ones are cut in the middle so
 * that long tool outputs do not push refined trajectories past the judge's context.
 */
export const JUDGE_MAX_MESSAGE_CHARS = 6000;

export interface StepOptions {
  segment: { maxChars: number; minChars: number };
  filter: FilterOptions;
  /** `undefined` when deduplication is off. */
  dedup: DedupSettings | undefined;
  /** `undefined` when no benchmark file is given. */
  decontaminate: DecontaminateOptions | undefined;
  extract: ExtractOptions;
  generate: GenerateOptions;
  refine: RefineOptions;
  synthesize: SynthesizeOptions;
  validate: ValidateOptions;
  judge: Pick<JudgeOptions, 'requiredRubrics' | 'maxMessageChars' | 'maxTokens' | 'promptSet'>;
}

/**
 * The completion cap of a stage's calls: `max_tokens` when set, else the stage's own;
 * prompt set v1 sends no cap of its own (as gemtraj 0.2), `undefined`.
 */
export function stageMaxTokens(config: Pick<Config, 'max_tokens' | 'stage_max_tokens' | 'prompts'>, stage: ModelStage): number | undefined {
  return config.max_tokens ?? (config.prompts === 'v1' ? undefined : config.stage_max_tokens[stage]);
}

export function stepOptions(config: Config): StepOptions {
  const promptSet = config.prompts;
  const sampling = (stage: ModelStage) => ({ temperature: config.temperature, maxTokens: stageMaxTokens(config, stage), promptSet, parallelCalls: config.parallel_calls, now: config.now });
  return {
    segment: { maxChars: config.segment.max_chars, minChars: config.segment.min_chars },
    filter: {
      mode: config.filter.mode,
      scorer: config.filter.scorer,
      low: config.filter.low,
      high: config.filter.high,
      threshold: config.filter.threshold,
      maxTokens: stageMaxTokens(config, 'filter'),
      promptSet,
    },
    dedup: config.dedup.mode === 'off' ? undefined : { ...config.dedup, mode: config.dedup.mode },
    decontaminate: config.decontaminate.length === 0 ? undefined : { files: config.decontaminate, n: config.decontaminate_ngram },
    extract: {
      minTools: config.extract.min_tools,
      minSteps: config.extract.min_steps,
      maxWorkflows: config.extract.max_workflows,
      maxTokens: stageMaxTokens(config, 'extract'),
      promptSet,
    },
    generate: sampling('generate'),
    refine: sampling('refine'),
    synthesize: { ...sampling('synthesize'), repairedCalls: config.synthesize.repaired_calls },
    validate: {
      complexity: {
        minDistinctTools: config.validate.min_distinct_tools,
        minToolCalls: config.validate.min_tool_calls,
        minMessages: config.validate.min_messages,
        minUserTurns: config.validate.min_user_turns,
      },
      argumentProvenance: config.validate.provenance,
      // Enforced where the prompts state it (set v2); v1 conversations were never told.
      severity: { parallel_calls: config.parallel_calls === 'forbid' && promptSet !== 'v1' ? 'error' : 'off' },
    },
    judge: { requiredRubrics: config.judge_rubrics, maxMessageChars: JUDGE_MAX_MESSAGE_CHARS, maxTokens: stageMaxTokens(config, 'judge'), promptSet },
  };
}

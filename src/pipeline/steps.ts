/**
 * The standard steps of a run, built from the config: the stages bound to their options and
 * to the gateway. Tests and other modes swap single steps (distilabel-style composition).
 */
import type { Config } from '../config.js';
import type { LlmClient } from '../llm/types.js';
import type { Trajectory } from '../records.js';
import { segmentDocument } from '../stages/segment.js';
import { extractSegment } from '../stages/extract.js';
import { generateTrajectory } from '../stages/generate.js';
import { refineTrajectory } from '../stages/refine.js';
import { synthesizeTrajectory } from '../stages/synthesize.js';
import { judgeTrajectory } from '../stages/judge.js';
import { createSegmentFilter } from './filter-step.js';
import { validateTrajectory, type ValidateOptions } from '../validate/index.js';
import type { PipelineSteps } from './run.js';

export type StepsMode = 'run' | 'filter' | 'synthesize';

/** Validation options of pipeline runs: complexity minimums and provenance from the config. */
export function pipelineValidateOptions(config: Config): ValidateOptions {
  return {
    complexity: {
      minDistinctTools: config.validate.min_distinct_tools,
      minToolCalls: config.validate.min_tool_calls,
      minMessages: config.validate.min_messages,
      minUserTurns: config.validate.min_user_turns,
    },
    argumentProvenance: config.validate.provenance,
  };
}

export async function buildSteps(config: Config, llm: LlmClient | undefined, mode: StepsMode): Promise<PipelineSteps> {
  const segmentFilter = await createSegmentFilter(
    {
      mode: config.filter.mode,
      scorer: config.filter.scorer,
      low: config.filter.low,
      high: config.filter.high,
      threshold: config.filter.threshold,
    },
    llm,
  );
  const validateOptions = pipelineValidateOptions(config);
  const sampling = { temperature: config.temperature, maxTokens: config.max_tokens };
  const needLlm = (): LlmClient => {
    if (llm === undefined) throw new Error('this step needs a model endpoint');
    return llm;
  };
  const steps: PipelineSteps = {
    segment: (doc) => segmentDocument(doc, { maxChars: config.segment.max_chars, minChars: config.segment.min_chars }),
    filter: (segment) => segmentFilter.decide(segment),
    validate: (trajectory: Trajectory) => validateTrajectory(trajectory, validateOptions),
  };
  if (mode === 'filter') return steps;
  if (mode === 'run') {
    steps.extract = (segment) =>
      extractSegment(
        segment,
        { minTools: config.extract.min_tools, minSteps: config.extract.min_steps, maxWorkflows: config.extract.max_workflows, maxTokens: config.max_tokens },
        needLlm(),
      );
    steps.generate = (extraction, k, text) => generateTrajectory({ extraction, workflowIndex: k, sourceText: text }, sampling, needLlm());
    if (config.refine) steps.refine = (trajectory, text) => refineTrajectory(trajectory, text, sampling, needLlm());
  } else {
    steps.synthesize = (segment) => synthesizeTrajectory(segment, sampling, needLlm());
  }
  if (config.judge) {
    steps.judge = async (trajectory, text) => {
      // Messages are cut in the middle past 6,000 characters: long tool outputs would otherwise
      // push refined trajectories past the judge's context.
      const result = await judgeTrajectory(trajectory, { sourceText: text, requiredRubrics: config.judge_rubrics, maxMessageChars: 6000 }, needLlm());
      return { ok: result.ok, reasons: result.reasons, verdict: result.verdict, warnings: result.warnings };
    };
  }
  return steps;
}

/**
 * The step lists of gemtraj's commands. Every command that processes records is the same
 * engine with one of these lists and an input source (see sources.ts):
 *
 *   run         segment → [dedup] → [decontaminate] → filter → extract → workflows → generate → [refine]
 *               → [decontaminate_trajectories] → validate → [judge]
 *   synthesize  segment → [dedup] → [decontaminate] → filter → synthesize → [decontaminate_trajectories]
 *               → validate → [judge]
 *   filter      segment → [dedup] → [decontaminate] → filter
 *   extract     extract                      (a segments.jsonl)
 *   generate    workflows → generate         (an extractions.jsonl)
 *   refine      refine                       (a trajectories file)
 *   validate    [decontaminate_trajectories] → validate → [judge]   (gemtraj or foreign trajectories)
 *
 * dedup (on unless `dedup.mode` is off) runs before the filter so that a repeated passage is
 * neither judged nor extracted twice; the decontamination steps are there when benchmark files
 * are given (`decontaminate`).
 *
 * The last step's outputs go to the command's product file (trajectories.jsonl for the
 * trajectory pipelines). Steps are built without a model client for counting and estimates.
 */
import type { Config } from '../config.js';
import type { LlmClient } from '../llm/types.js';
import type { Trajectory } from '../records.js';
import { validateTrajectory, type ValidateOptions } from '../validate/index.js';
import type { Step, StoreName } from './step.js';
import { extractStep } from './steps/extract.js';
import { filterStep } from './steps/filter.js';
import { dedupStep } from './steps/dedup.js';
import { decontaminateSegmentsStep, decontaminateTrajectoriesStep } from './steps/decontaminate.js';
import { generateStep } from './steps/generate.js';
import { judgeStep } from './steps/judge.js';
import { stepOptions } from './steps/options.js';
import { refineStep } from './steps/refine.js';
import { segmentStep } from './steps/segment.js';
import { synthesizeStep } from './steps/synthesize.js';
import { validateStep } from './steps/validate.js';
import { workflowsStep } from './steps/workflows.js';

/** Commands that run a pipeline over a corpus and keep a run directory with run.json. */
export type CorpusMode = 'run' | 'synthesize' | 'filter';
export type PipelineMode = CorpusMode | 'extract' | 'generate' | 'refine' | 'validate';

export interface PipelineInit {
  config: Config;
  /** The model client; `undefined` builds steps for counting and estimates only. */
  llm?: LlmClient | undefined;
  /** Rule-check options of `validate`, which defaults to accepting any well-formed record. */
  validate?: ValidateOptions | undefined;
  /** File of the dedup step's index (the run directory's dedup.sqlite); in memory when absent. */
  dedupIndex?: string | undefined;
}

/** The ordered steps of a command. */
export function buildPipeline(mode: PipelineMode, init: PipelineInit): Step[] {
  const { config, llm } = init;
  const o = stepOptions(config);
  const validateOptions = init.validate ?? o.validate;
  const rules = (t: Trajectory): { errors: ReturnType<typeof validateTrajectory>['errors'] } => validateTrajectory(t, validateOptions);
  // Validation, then the judge when on; the last of the two writes the dataset.
  const decontaminated = o.decontaminate === undefined ? [] : [decontaminateTrajectoriesStep(o.decontaminate)];
  const checks = (judge: boolean, rulesOf: ValidateOptions = validateOptions): Step[] =>
    [
      ...decontaminated,
      ...(judge ? [validateStep(rulesOf), judgeStep(o.judge, llm, 'final')] : [validateStep(rulesOf, 'final')]),
    ] as Step[];
  // The synthesizer was never asked for one call per turn: `parallel_calls` is the teacher
  // prompts' house style, not a rule for a fine-tuned model's answers.
  const synthesizedRules: ValidateOptions = { ...validateOptions, severity: { ...validateOptions.severity, parallel_calls: 'off' } };
  const corpus = (): Step[] =>
    [
      segmentStep(o.segment),
      ...(o.dedup === undefined ? [] : [dedupStep(o.dedup, init.dedupIndex)]),
      ...(o.decontaminate === undefined ? [] : [decontaminateSegmentsStep(o.decontaminate)]),
      filterStep(o.filter, llm),
    ] as Step[];
  switch (mode) {
    case 'filter':
      return corpus();
    case 'run':
      return [
        ...corpus(),
        extractStep(o.extract, llm),
        workflowsStep(config.extract.max_workflows),
        generateStep(o.generate, llm),
        ...(config.refine ? [refineStep(o.refine, llm, rules)] : []),
        ...checks(config.judge),
      ] as Step[];
    case 'synthesize':
      return [...corpus(), synthesizeStep(o.synthesize, llm), ...checks(config.judge, synthesizedRules)] as Step[];
    case 'extract':
      return [extractStep(o.extract, llm)] as Step[];
    case 'generate':
      return [workflowsStep(config.extract.max_workflows), generateStep(o.generate, llm)] as Step[];
    case 'refine':
      return [refineStep(o.refine, llm, rules)] as Step[];
    case 'validate':
      return checks(config.judge);
  }
}

/** The file a command's product goes to. */
export function productStore(steps: readonly Step[]): StoreName | undefined {
  return steps.at(-1)?.store;
}

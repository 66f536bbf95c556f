/**
 * gemtraj as a library. `run()` is the programmatic `gemtraj run`; the rest lets you compose
 * your own pipelines from the same parts: the record schemas, the steps and the engine that
 * runs them, the model gateway and its backend seam, validation and export.
 *
 * @example
 * import { run } from 'gemtraj';
 * const { counts } = await run({
 *   input: 'corpus.jsonl',
 *   out: 'runs/a',
 *   config: { base_urls: ['http://127.0.0.1:8000/v1'], model: 'qwen3-32b', filter: { mode: 'local' } },
 * });
 * console.log(counts.passed, 'trajectories');
 */
export { run, type RunOptions, type RunResult } from './api.js';

// Settings
export { ConfigSchema, ConfigError, loadConfig, type Config, type ConfigInput, type ConfigSources } from './config.js';

// Records
export * from './records.js';

// Errors and exit codes
export { GemtrajError, EXIT_BAD_INPUT, EXIT_ENDPOINT, EXIT_INTERRUPTED, EXIT_UNEXPECTED, type ExitCode } from './errors.js';
export { InputError } from './io/documents.js';

// Steps, pipelines and the engine
export type { Step, StepContext, StepOutcome, StepEstimate, EstimateItem, RecordKind, StoreName } from './pipeline/step.js';
export { checkChain } from './pipeline/step.js';
export { runSteps, type SourceItem, type EngineOptions, type EngineResult, type EngineEvent, type Ticker } from './pipeline/engine.js';
export { buildPipeline, productStore, type PipelineMode, type CorpusMode, type PipelineInit } from './pipeline/pipelines.js';
export { stepOptions, type StepOptions } from './pipeline/steps/options.js';
export { documentSource, recordSource, trajectorySource, type RecordSourceOptions } from './pipeline/sources.js';
export { RunDirectory, RUN_FILES } from './pipeline/run-dir.js';
export { runCorpusSession, type CorpusSessionOptions, type CorpusSessionResult } from './pipeline/session.js';
export { computeFunnel, countSteps, formatFunnel, type Funnel, type StepCount } from './pipeline/counts.js';
export { estimateRun, formatEstimate, type RunEstimate } from './pipeline/estimate.js';
export type { RunJson, RunSession } from './pipeline/run-json.js';

// Models
export {
  createGateway,
  gatewayFromConfig,
  HttpBackend,
  BatchBackend,
  BatchApi,
  BatchJournal,
  ExportBackend,
  importBatchOutput,
  priceBook,
  BackendError,
  FatalEndpointError,
  TransientEndpointError,
  RequestRejectedError,
  LlmError,
  type Gateway,
  type GatewayInit,
  type GatewayFromConfigOptions,
  type ModelBackend,
  type BatchBackendOptions,
  type PriceOf,
  type SendOptions,
  type ReplicaStats,
  type ChatRequest,
  type ChatResponse,
  type ChatMessage,
  type BackendFailure,
  type LlmClient,
  type CompletionRequest,
  type CompletionResult,
  type StructuredRequest,
  type StructuredResult,
} from './llm/index.js';

// Validation and export
export { validateTrajectory, VALIDATE_CHECK_IDS, type ValidateOptions, type ValidationResult, type CheckId } from './validate/index.js';
export { exportTrajectory, EXPORT_FORMATS, type ExportFormat, type ExportContext } from './formats/index.js';
export { importRecord, readForeign, FORMAT_NAMES } from './formats/detect.js';
export { exportTarget, allTargets, TARGET_NAMES, type ExportTarget, type TargetName } from './formats/targets/registry.js';
export { checkRecords, loadChatTemplate, type TemplateCheckResult } from './formats/template-check.js';
export { writeHfDataset, type HfDatasetOptions } from './hub/dataset.js';
export { pushDataset, type PushOptions, type PushResult } from './hub/push.js';

// Held-out split and replay evaluation
export { splitTrajectories, type SplitOptions, type SplitSummary } from './eval/split.js';
export { runEval, type EvalOptions, type EvalResult, type EvalSettings } from './eval/session.js';
export { compareEvals, type EvalComparison } from './eval/compare.js';
export { summarize, type EvalSummary, type Figures } from './eval/summary.js';
export { scoreTurn, type TurnScore } from './eval/score.js';
export { callsMatch, callMatches, valuesMatch, type ParsedCall, type MatchResult } from './eval/ast-match.js';
export { turnsOf, type EvalTurn, type TurnKind } from './eval/turns.js';

/**
 * Rule validation of trajectories (DESIGN.md "validate"): each check is a small named
 * function `(ctx) => Reason[]` with a stable id; {@link validateTrajectory} runs them all and
 * sorts what they find into errors (reject) and warnings (keep, note in `meta.warnings`).
 */
import type { Reason } from '../records.js';
import { buildContext, type ValidateContext } from './context.js';
import { checkArgumentsJson, checkArgumentsSchema, checkUnknownArgument, checkUnknownTool } from './checks/calls.js';
import { checkComplexity } from './checks/complexity.js';
import {
  checkDuplicateCallId,
  checkEmptyMessage,
  checkEmptyToolResult,
  checkFinalAnswer,
  checkMissingToolResult,
  checkOrphanToolResult,
  checkParallelCalls,
  checkRoleOrder,
} from './checks/flow.js';
import { checkArgumentProvenance } from './checks/provenance.js';
import { checkDuplicateTool, checkRecordShape, checkToolName, checkToolSchema } from './checks/tools.js';
import { resolveValidateOptions, type CheckId, type ValidateOptions } from './options.js';

export type { CallRef, ValidateContext } from './context.js';
export { buildContext, parseArguments } from './context.js';
export {
  DEFAULT_FREE_TEXT_KEYS,
  DEFAULT_SEVERITY,
  VALIDATE_CHECK_IDS,
  resolveValidateOptions,
  type CheckId,
  type ComplexityOptions,
  type ProvenanceOptions,
  type ResolvedValidateOptions,
  type Severity,
  type ValidateOptions,
} from './options.js';
export { SchemaCache, defaultSchemaCache, formatAjvError, type CompiledSchema } from './schema-cache.js';
export { checkArgumentsJson, checkArgumentsSchema, checkUnknownArgument, checkUnknownTool } from './checks/calls.js';
export { checkComplexity, measureTrajectory, type TrajectorySize } from './checks/complexity.js';
export {
  checkDuplicateCallId,
  checkEmptyMessage,
  checkEmptyToolResult,
  checkFinalAnswer,
  checkMissingToolResult,
  checkOrphanToolResult,
  checkParallelCalls,
  checkRoleOrder,
} from './checks/flow.js';
export { checkArgumentProvenance, containsToken, normalizeForGrounding } from './checks/provenance.js';
export { checkDuplicateTool, checkRecordShape, checkToolName, checkToolSchema } from './checks/tools.js';

/** A rule check: reads the context, returns what it finds (every reason has `check === id`). */
export type Check = (ctx: ValidateContext) => Reason[];

/** Every check by id, in the order they run. */
export const CHECKS: Readonly<Record<CheckId, Check>> = {
  record_shape: checkRecordShape,
  tool_name: checkToolName,
  duplicate_tool: checkDuplicateTool,
  tool_schema: checkToolSchema,
  role_order: checkRoleOrder,
  final_answer: checkFinalAnswer,
  missing_tool_result: checkMissingToolResult,
  orphan_tool_result: checkOrphanToolResult,
  duplicate_call_id: checkDuplicateCallId,
  empty_message: checkEmptyMessage,
  empty_tool_result: checkEmptyToolResult,
  unknown_tool: checkUnknownTool,
  arguments_json: checkArgumentsJson,
  arguments_schema: checkArgumentsSchema,
  unknown_argument: checkUnknownArgument,
  complexity: checkComplexity,
  argument_provenance: checkArgumentProvenance,
  parallel_calls: checkParallelCalls,
};

const CHECK_ENTRIES = Object.entries(CHECKS) as ReadonlyArray<[CheckId, Check]>;

/** What {@link validateTrajectory} found. The record passes when `errors` is empty. */
export interface ValidationResult {
  /** Findings of checks at severity `error`: the record is rejected when any exists. */
  errors: Reason[];
  /** Findings of checks at severity `warn`: keep the record, note them in `meta.warnings`. */
  warnings: Reason[];
}

/**
 * Runs every enabled check on one record and reports all findings, not only the first.
 * `trajectory` is unknown input: when it does not have the Trajectory shape, the shape
 * problems are reported (`record_shape`) and the checks whose part of the record (`tools` or
 * `messages`) still parses run anyway. Never throws on bad data; throws a RangeError for bad
 * options. Options are memoized per object: reuse one object, do not mutate it.
 */
export function validateTrajectory(trajectory: unknown, options?: ValidateOptions): ValidationResult {
  const resolved = resolveValidateOptions(options);
  const ctx = buildContext(trajectory, resolved);
  const errors: Reason[] = [];
  const warnings: Reason[] = [];
  for (const [id, check] of CHECK_ENTRIES) {
    const severity = resolved.severity[id];
    if (severity === 'off') continue;
    const found = check(ctx);
    if (found.length === 0) continue;
    (severity === 'error' ? errors : warnings).push(...found);
  }
  return { errors, warnings };
}

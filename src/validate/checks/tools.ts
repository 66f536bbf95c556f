/** Checks on the record's shape and on the tool list. */
import { TOOL_NAME_PATTERN, type Reason, type Tool } from '../../records.js';
import type { ValidateContext } from '../context.js';
import { compileToolParameters, type CompiledSchema } from '../schema-cache.js';

/** `record_shape`: the record matches the Trajectory schema (records.ts). */
export function checkRecordShape(ctx: ValidateContext): Reason[] {
  return ctx.shapeErrors.slice();
}

/** `tool_name`: every tool name matches `^[a-zA-Z0-9_-]{1,64}$`. */
export function checkToolName(ctx: ValidateContext): Reason[] {
  const reasons: Reason[] = [];
  ctx.tools?.forEach((tool, i) => {
    const name = tool.function.name;
    if (!TOOL_NAME_PATTERN.test(name)) {
      reasons.push({
        check: 'tool_name',
        path: `tools[${i}].function.name`,
        message: `tool name ${JSON.stringify(name)} must match ^[a-zA-Z0-9_-]{1,64}$`,
      });
    }
  });
  return reasons;
}

/** `duplicate_tool`: no two tools share a name (a call could not say which one it means). */
export function checkDuplicateTool(ctx: ValidateContext): Reason[] {
  const reasons: Reason[] = [];
  const first = new Map<string, number>();
  ctx.tools?.forEach((tool, i) => {
    const name = tool.function.name;
    const seen = first.get(name);
    if (seen === undefined) first.set(name, i);
    else {
      reasons.push({
        check: 'duplicate_tool',
        path: `tools[${i}].function.name`,
        message: `tool ${JSON.stringify(name)} is already defined at tools[${seen}]`,
      });
    }
  });
  return reasons;
}

const compiledByTool = new WeakMap<Tool, CompiledSchema | null>();

/**
 * The compiled validator of a tool's parameters, memoized per tool object so that
 * `tool_schema` and `arguments_schema` share one cache lookup. `null` when the tool declares no
 * parameters; `{ok:false}` when they are not a compilable object schema.
 */
export function toolValidator(ctx: ValidateContext, tool: Tool): CompiledSchema | null {
  const memo = compiledByTool.get(tool);
  if (memo !== undefined) return memo;
  const compiled = compileToolParameters(tool, ctx.options.schemaCache);
  compiledByTool.set(tool, compiled);
  return compiled;
}

/** `tool_schema`: `parameters`, when present, is a valid JSON Schema of type object. */
export function checkToolSchema(ctx: ValidateContext): Reason[] {
  const reasons: Reason[] = [];
  ctx.tools?.forEach((tool, i) => {
    const compiled = toolValidator(ctx, tool);
    if (compiled !== null && !compiled.ok) {
      reasons.push({ check: 'tool_schema', path: `tools[${i}].function.parameters`, message: compiled.error });
    }
  });
  return reasons;
}

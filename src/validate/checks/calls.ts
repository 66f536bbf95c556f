/** Checks on each tool call: the tool exists, and its arguments parse and fit the schema. */
import type { Reason } from '../../records.js';
import type { ValidateContext } from '../context.js';
import { formatAjvError } from '../schema-cache.js';
import { toolValidator } from './tools.js';

/** `unknown_tool`: every call names a tool of the trajectory's tool list. */
export function checkUnknownTool(ctx: ValidateContext): Reason[] {
  if (ctx.tools === undefined) return [];
  const reasons: Reason[] = [];
  for (const c of ctx.calls) {
    const name = c.call.function.name;
    if (!ctx.toolsByName.has(name)) {
      reasons.push({ check: 'unknown_tool', path: c.path, message: `call to undefined tool ${JSON.stringify(name)}` });
    }
  }
  return reasons;
}

/** `arguments_json`: every call's `arguments` string parses to a JSON object. */
export function checkArgumentsJson(ctx: ValidateContext): Reason[] {
  const reasons: Reason[] = [];
  for (const c of ctx.calls) {
    if (c.argsError !== undefined) reasons.push({ check: 'arguments_json', path: c.path, message: c.argsError });
  }
  return reasons;
}

/**
 * `arguments_schema`: the parsed arguments satisfy the tool's `parameters` (required, types,
 * enums, formats, `additionalProperties: false` where the schema says so). A tool without
 * `parameters` takes no arguments. Calls whose tool is unknown or whose schema does not
 * compile are left to `unknown_tool` and `tool_schema`.
 */
export function checkArgumentsSchema(ctx: ValidateContext): Reason[] {
  if (ctx.tools === undefined) return [];
  const reasons: Reason[] = [];
  for (const c of ctx.calls) {
    if (c.args === undefined) continue;
    const tool = ctx.toolsByName.get(c.call.function.name);
    if (tool === undefined) continue;
    const compiled = toolValidator(ctx, tool);
    if (compiled === null) {
      const keys = Object.keys(c.args);
      if (keys.length > 0) {
        reasons.push({
          check: 'arguments_schema',
          path: c.path,
          message: `tool ${JSON.stringify(tool.function.name)} takes no arguments, got ${keys.map((k) => JSON.stringify(k)).join(', ')}`,
        });
      }
      continue;
    }
    if (!compiled.ok || compiled.validate(c.args)) continue;
    for (const error of compiled.validate.errors ?? []) {
      reasons.push({ check: 'arguments_schema', path: c.path, message: formatAjvError(error) });
    }
  }
  return reasons;
}

/**
 * `unknown_argument`: top-level argument names the schema's `properties` do not declare, when
 * the schema does not already forbid them (`additionalProperties: false` is `arguments_schema`).
 * Warning by default: JSON Schema allows extra names, but they are usually hallucinated.
 */
export function checkUnknownArgument(ctx: ValidateContext): Reason[] {
  if (ctx.tools === undefined) return [];
  const reasons: Reason[] = [];
  for (const c of ctx.calls) {
    if (c.args === undefined) continue;
    const parameters = ctx.toolsByName.get(c.call.function.name)?.function.parameters;
    if (parameters === undefined || parameters['additionalProperties'] === false) continue;
    const properties = parameters['properties'];
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) continue;
    for (const key of Object.keys(c.args)) {
      if (!Object.prototype.hasOwnProperty.call(properties, key)) {
        reasons.push({
          check: 'unknown_argument',
          path: c.path,
          message: `argument ${JSON.stringify(key)} is not declared by tool ${JSON.stringify(c.call.function.name)}`,
        });
      }
    }
  }
  return reasons;
}

/**
 * The extraction post-check that every generated `parameters` object is a usable JSON Schema
 * before any trajectory is written against it. Compiles through the validator's shared
 * schema cache, so the same validators then serve the `arguments_schema` check.
 */
import type { Reason, Tool } from '../records.js';
import { defaultSchemaCache } from '../validate/schema-cache.js';

/** One `tool_schema` reason per tool whose parameters do not compile or are not an object schema. */
export function compileToolSchemas(tools: Tool[], pathPrefix = 'tools'): Reason[] {
  const reasons: Reason[] = [];
  tools.forEach((tool, i) => {
    const params = tool.function.parameters;
    if (params === undefined) return;
    const path = `${pathPrefix}[${i}].function.parameters`;
    if (params.type !== 'object') {
      reasons.push({ check: 'tool_schema', path, message: `parameters of "${tool.function.name}" must have type "object"` });
      return;
    }
    const compiled = defaultSchemaCache().get(params);
    if (!compiled.ok) reasons.push({ check: 'tool_schema', path, message: `parameters of "${tool.function.name}" do not compile: ${compiled.error}` });
  });
  return reasons;
}

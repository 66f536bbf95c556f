/**
 * The extraction post-check that every generated `parameters` object is a usable JSON Schema
 * before any trajectory is written against it. The check itself is the validator's
 * (`compileToolParameters`), through its shared schema cache, so the same compiled
 * validators then serve the `arguments_schema` check.
 */
import type { Reason, Tool } from '../records.js';
import { compileToolParameters } from '../validate/schema-cache.js';

/** One `tool_schema` reason per tool whose parameters do not compile or are not an object schema. */
export function compileToolSchemas(tools: Tool[], pathPrefix = 'tools'): Reason[] {
  const reasons: Reason[] = [];
  tools.forEach((tool, i) => {
    const compiled = compileToolParameters(tool);
    if (compiled !== null && !compiled.ok) {
      reasons.push({ check: 'tool_schema', path: `${pathPrefix}[${i}].function.parameters`, message: `tool "${tool.function.name}": ${compiled.error}` });
    }
  });
  return reasons;
}

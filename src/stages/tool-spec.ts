/**
 * Tools as the model writes them (src/prompts/tool-spec.ts) converted to OpenAI function
 * schemas, and back. Building the JSON Schema in code also lets us enforce the paper's tool
 * rules (snake_case names, typed and described parameters, enums, required lists) in one place.
 */
import { TOOL_NAME_PATTERN, type Reason, type Tool } from '../records.js';
import { OBJECT_PARAM_TYPES, STRING_FORMATS, type AnyParamSpec, type AnyToolSpec, type ToolFieldSpec, type ToolParamSpec, type ToolSpec } from '../prompts/tool-spec.js';

const PARAM_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;

/**
 * The object schema of declared fields: closed and with its required list, like the top
 * level; with no fields declared, an open object (its shape is unknown).
 */
function objectSchema(fields: readonly ToolFieldSpec[]): Record<string, unknown> {
  if (fields.length === 0) return { type: 'object' };
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const f of fields) {
    properties[f.name] = paramSchema(f);
    if (f.required) required.push(f.name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

function paramSchema(p: AnyParamSpec | ToolFieldSpec): Record<string, unknown> {
  const base: Record<string, unknown> = {};
  const fields = 'properties' in p ? p.properties : [];
  switch (p.type) {
    case 'string':
      base.type = 'string';
      if (p.enum.length > 0) base.enum = [...new Set(p.enum)];
      if (p.format !== 'none') base.format = p.format;
      break;
    case 'integer':
    case 'number':
    case 'boolean':
      base.type = p.type;
      break;
    case 'string_array':
      base.type = 'array';
      base.items = p.enum.length > 0 ? { type: 'string', enum: [...new Set(p.enum)] } : { type: 'string' };
      break;
    case 'integer_array':
      base.type = 'array';
      base.items = { type: 'integer' };
      break;
    case 'number_array':
      base.type = 'array';
      base.items = { type: 'number' };
      break;
    case 'object_array':
      base.type = 'array';
      base.items = objectSchema(fields);
      break;
    case 'object':
      Object.assign(base, objectSchema(fields));
      break;
  }
  base.description = p.description;
  return base;
}

/** Converts one spec to an OpenAI tool. Names are kept as given; {@link checkToolSpecs} judges them. */
export function specToTool(spec: AnyToolSpec): Tool {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const p of spec.parameters) {
    properties[p.name] = paramSchema(p);
    if (p.required) required.push(p.name);
  }
  return {
    type: 'function',
    function: {
      name: spec.name,
      description: spec.description,
      parameters: { type: 'object', properties, required, additionalProperties: false },
    },
  };
}

/** Converts an OpenAI tool back to a spec (for prompts that show tools in spec form). */
export function toolToSpec(tool: Tool): ToolSpec {
  const params = (tool.function.parameters ?? {}) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const required = new Set(params.required ?? []);
  const parameters: ToolParamSpec[] = Object.entries(params.properties ?? {}).map(([name, schema]) => {
    const type = schema.type;
    const items = (schema.items ?? {}) as Record<string, unknown>;
    let t: ToolParamSpec['type'] = 'string';
    if (type === 'integer' || type === 'number' || type === 'boolean') t = type;
    else if (type === 'array') t = items.type === 'integer' ? 'integer_array' : items.type === 'number' ? 'number_array' : items.type === 'object' ? 'object_array' : 'string_array';
    const en = (schema.enum ?? items.enum) as unknown;
    const format = STRING_FORMATS.includes(schema.format as (typeof STRING_FORMATS)[number]) ? (schema.format as ToolParamSpec['format']) : 'none';
    return {
      name,
      type: t,
      description: typeof schema.description === 'string' ? schema.description : '',
      required: required.has(name),
      enum: Array.isArray(en) ? en.map(String) : [],
      format,
    };
  });
  return { name: tool.function.name, description: tool.function.description ?? '', access: 'read', parameters };
}

/**
 * Checks the paper's tool rules that code can judge. Returns problems; an empty list means
 * the tool set is usable. `path` points into the model's answer (`tools[2].parameters[0]`).
 */
export function checkToolSpecs(specs: readonly AnyToolSpec[], pathPrefix = 'tools'): Reason[] {
  const reasons: Reason[] = [];
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    const path = `${pathPrefix}[${i}]`;
    if (!TOOL_NAME_PATTERN.test(spec.name)) {
      reasons.push({ check: 'tool_name', path, message: `tool name "${spec.name}" must match ^[a-zA-Z0-9_-]{1,64}$` });
    }
    if (seen.has(spec.name)) reasons.push({ check: 'duplicate_tool', path, message: `tool "${spec.name}" is defined twice` });
    seen.add(spec.name);
    if (spec.description.trim() === '') reasons.push({ check: 'tool_description', path, message: `tool "${spec.name}" has no description` });
    checkParams(spec.parameters, `${path}.parameters`, `"${spec.name}"`, reasons);
  });
  return reasons;
}

/** Names, repeats and enums of a parameter list, and of the fields of its object parameters. */
function checkParams(params: readonly (AnyParamSpec | ToolFieldSpec)[], path: string, owner: string, reasons: Reason[]): void {
  const names = new Set<string>();
  params.forEach((p, j) => {
    const ppath = `${path}[${j}]`;
    const what = `parameter "${p.name}" of ${owner}`;
    if (!PARAM_NAME_PATTERN.test(p.name)) reasons.push({ check: 'parameter_name', path: ppath, message: `${what} is not a valid identifier` });
    if (names.has(p.name)) reasons.push({ check: 'parameter_name', path: ppath, message: `${what} is listed twice` });
    names.add(p.name);
    if (p.enum.length > 0 && p.type !== 'string' && p.type !== 'string_array') {
      reasons.push({ check: 'parameter_enum', path: ppath, message: `${what} has an enum but type ${p.type}` });
    }
    if (!('properties' in p) || p.properties.length === 0) return;
    if (!OBJECT_PARAM_TYPES.has(p.type)) {
      reasons.push({ check: 'parameter_properties', path: ppath, message: `${what} declares fields but has type ${p.type} (fields belong to object or object_array)` });
      return;
    }
    checkParams(p.properties, `${ppath}.properties`, `${owner}.${p.name}`, reasons);
  });
}

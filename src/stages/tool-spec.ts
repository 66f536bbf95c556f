/**
 * Tools as the model writes them (src/prompts/tool-spec.ts) converted to OpenAI function
 * schemas, and back. Building the JSON Schema in code also lets us enforce the paper's tool
 * rules (snake_case names, typed and described parameters, enums, required lists) in one place.
 */
import { TOOL_NAME_PATTERN, type Reason, type Tool } from '../records.js';
import { STRING_FORMATS, type ToolParamSpec, type ToolSpec } from '../prompts/tool-spec.js';

const PARAM_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;

function paramSchema(p: ToolParamSpec): Record<string, unknown> {
  const base: Record<string, unknown> = {};
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
      base.items = { type: 'object' };
      break;
  }
  base.description = p.description;
  return base;
}

/** Converts one spec to an OpenAI tool. Names are kept as given; {@link checkToolSpecs} judges them. */
export function specToTool(spec: ToolSpec): Tool {
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
export function checkToolSpecs(specs: ToolSpec[], pathPrefix = 'tools'): Reason[] {
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
    const params = new Set<string>();
    spec.parameters.forEach((p, j) => {
      const ppath = `${path}.parameters[${j}]`;
      if (!PARAM_NAME_PATTERN.test(p.name)) reasons.push({ check: 'parameter_name', path: ppath, message: `parameter "${p.name}" of "${spec.name}" is not a valid identifier` });
      if (params.has(p.name)) reasons.push({ check: 'parameter_name', path: ppath, message: `parameter "${p.name}" of "${spec.name}" is listed twice` });
      params.add(p.name);
      if (p.enum.length > 0 && p.type !== 'string' && p.type !== 'string_array') {
        reasons.push({ check: 'parameter_enum', path: ppath, message: `parameter "${p.name}" of "${spec.name}" has an enum but type ${p.type}` });
      }
    });
  });
  return reasons;
}

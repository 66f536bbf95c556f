/**
 * Normalisation of near-JSON-Schema tool parameters found in public datasets (BFCL's
 * `"type": "dict"`, Python type names, `required` entries that name no property) into
 * JSON Schema that validators and chat templates accept. Every change is reported as a note,
 * so an import can say what it altered.
 */
import type { JsonSchemaObject, Tool } from '../records.js';
import { isObject } from './json.js';

/** One change made while normalising, with the JSON path of the schema node. */
export interface SchemaNote {
  path: string;
  message: string;
}

/** Python / BFCL type names → JSON Schema type (`null` = drop the type: any value). */
const TYPE_ALIASES: Record<string, string | null> = {
  dict: 'object',
  object: 'object',
  map: 'object',
  float: 'number',
  double: 'number',
  number: 'number',
  int: 'integer',
  integer: 'integer',
  long: 'integer',
  tuple: 'array',
  list: 'array',
  array: 'array',
  str: 'string',
  string: 'string',
  bool: 'boolean',
  boolean: 'boolean',
  null: 'null',
  none: 'null',
  any: null,
};

/** Keywords whose value is a map of name → schema. */
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
/** Keywords whose value is one schema. */
const SCHEMA_SINGLE = ['additionalProperties', 'items', 'not', 'contains', 'propertyNames', 'if', 'then', 'else'];
/** Keywords whose value is a list of schemas. */
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];

function mapType(raw: string): string | null | undefined {
  return TYPE_ALIASES[raw.toLowerCase()];
}

function normalizeNode(node: unknown, path: string, notes: SchemaNote[]): unknown {
  if (!isObject(node)) return node;
  const out: Record<string, unknown> = { ...node };

  if ('type' in out) {
    const type = out.type;
    if (typeof type === 'string') {
      const mapped = mapType(type);
      if (mapped === null) {
        delete out.type;
        notes.push({ path, message: `type "${type}" removed (any value)` });
      } else if (mapped !== undefined && mapped !== type) {
        out.type = mapped;
        notes.push({ path, message: `type "${type}" → "${mapped}"` });
      }
    } else if (Array.isArray(type)) {
      const mapped: string[] = [];
      let anyType = false;
      for (const t of type) {
        if (typeof t !== 'string') continue;
        const m = mapType(t);
        if (m === null) anyType = true;
        else mapped.push(m ?? t);
      }
      if (anyType) {
        delete out.type;
        notes.push({ path, message: `type ${JSON.stringify(type)} removed (includes "any")` });
      } else {
        const unique = [...new Set(mapped)];
        if (JSON.stringify(unique) !== JSON.stringify(type)) {
          out.type = unique.length === 1 ? unique[0] : unique;
          notes.push({ path, message: `type ${JSON.stringify(type)} → ${JSON.stringify(out.type)}` });
        }
      }
    }
  }

  for (const key of SCHEMA_MAPS) {
    const map = out[key];
    if (!isObject(map)) continue;
    const next: Record<string, unknown> = {};
    // Property names are data, not keywords: a property called "type" is a schema, not a type.
    for (const [name, sub] of Object.entries(map)) next[name] = normalizeNode(sub, `${path}.${key}.${name}`, notes);
    out[key] = next;
  }
  for (const key of SCHEMA_SINGLE) {
    if (key in out) out[key] = normalizeNode(out[key], `${path}.${key}`, notes);
  }
  for (const key of SCHEMA_LISTS) {
    const list = out[key];
    if (Array.isArray(list)) out[key] = list.map((sub, i) => normalizeNode(sub, `${path}.${key}[${i}]`, notes));
  }
  // BFCL tuples and arrays sometimes carry `items` as a list of schemas (old draft form).
  if (Array.isArray(out.items)) {
    const items = out.items as unknown[];
    out.items = items.length === 1 ? items[0] : {};
    notes.push({ path: `${path}.items`, message: 'list-form items replaced by a single schema' });
  }

  if ('required' in out) {
    const required = out.required;
    if (!Array.isArray(required)) {
      delete out.required;
      notes.push({ path: `${path}.required`, message: 'non-list "required" removed' });
    } else {
      const props = isObject(out.properties) ? out.properties : {};
      const kept: string[] = [];
      for (const name of required) {
        if (typeof name !== 'string' || !(name in props)) {
          notes.push({ path: `${path}.required`, message: `"${String(name)}" names no property: removed` });
        } else if (!kept.includes(name)) kept.push(name);
      }
      if (kept.length !== required.length) out.required = kept;
    }
  }
  return out;
}

/**
 * Normalises a tool's `parameters`: recursively maps non-standard types, drops `required`
 * names without a property, and makes the root an object schema.
 *
 * @param schema  the raw parameters value (anything; non-objects become an empty object schema)
 * @param path    JSON path used in notes (default `parameters`)
 */
export function normalizeSchema(schema: unknown, path = 'parameters'): { schema: JsonSchemaObject; notes: SchemaNote[] } {
  const notes: SchemaNote[] = [];
  if (!isObject(schema)) {
    notes.push({ path, message: 'not an object: replaced by an empty object schema' });
    return { schema: { type: 'object', properties: {} }, notes };
  }
  const out = normalizeNode(schema, path, notes) as Record<string, unknown>;
  if (out.type === undefined && isObject(out.properties)) {
    out.type = 'object';
    notes.push({ path, message: 'root type "object" added' });
  }
  return { schema: out, notes };
}

/**
 * Reads one tool in OpenAI form (`{type:'function', function:{…}}`) or bare function form
 * (`{name, description, parameters}`, as Glaive and BFCL store them) and returns it in
 * OpenAI form with normalised parameters. Extra keys (BFCL `response`) are dropped.
 */
export function normalizeTool(raw: unknown, path = 'tools[0]'): { tool: Tool; notes: SchemaNote[] } | { error: string } {
  if (!isObject(raw)) return { error: `${path}: tool is not an object` };
  const fn = isObject(raw.function) ? raw.function : raw;
  const fnPath = isObject(raw.function) ? `${path}.function` : path;
  if (typeof fn.name !== 'string' || fn.name === '') return { error: `${fnPath}.name: missing tool name` };
  const notes: SchemaNote[] = [];
  const tool: Tool = { type: 'function', function: { name: fn.name } };
  if (typeof fn.description === 'string') tool.function.description = fn.description;
  if (fn.parameters !== undefined && fn.parameters !== null) {
    const norm = normalizeSchema(fn.parameters, `${fnPath}.parameters`);
    tool.function.parameters = norm.schema;
    notes.push(...norm.notes);
  }
  if (typeof fn.strict === 'boolean') tool.function.strict = fn.strict;
  return { tool, notes };
}

/** {@link normalizeTool} over a list; the first bad tool is an error. */
export function normalizeTools(raw: unknown, path = 'tools'): { tools: Tool[]; notes: SchemaNote[] } | { error: string } {
  if (raw === undefined || raw === null || raw === '') return { tools: [], notes: [] };
  if (!Array.isArray(raw)) return { error: `${path}: not a list` };
  const tools: Tool[] = [];
  const notes: SchemaNote[] = [];
  for (let i = 0; i < raw.length; i++) {
    const r = normalizeTool(raw[i], `${path}[${i}]`);
    if ('error' in r) return r;
    tools.push(r.tool);
    notes.push(...r.notes);
  }
  return { tools, notes };
}

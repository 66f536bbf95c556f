/**
 * The answer schema as the model reads it. Self-hosted servers (vLLM, SGLang, llama.cpp,
 * Ollama) use a `json_schema` response format only to constrain decoding: the model never sees
 * the field descriptions ("0-based indexes", what `access` means) or the allowed values. So
 * every structured prompt carries this compact guide: names, meanings, types, allowed values,
 * ranges. It is also where the ranges live that the wire schema leaves out
 * ({@link wireSchema}): OpenAI's fine-tuned models refuse `minimum`/`maximum` in strict mode.
 */
import type { JsonSchema } from './structured.js';

/** Deepest nesting listed; below it a field is named with its type only. */
const MAX_DEPTH = 5;

/** The guide for a JSON Schema made from a zod schema (objects, arrays, enums, nullables). */
export function fieldGuide(schema: JsonSchema): string {
  const lines: string[] = [];
  const root = resolve(schema, schema);
  if (isObjectNode(root)) describeFields(root, schema, 0, lines);
  else lines.push(`- the answer: ${typeText(root, schema)}`);
  return `Fields of the JSON answer (every field is required unless marked optional):\n${lines.join('\n')}`;
}

function describeFields(node: JsonSchema, root: JsonSchema, depth: number, lines: string[]): void {
  const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
  const indent = '  '.repeat(depth);
  for (const [name, raw] of Object.entries(properties)) {
    const field = resolve(raw, root);
    const description = typeof field.description === 'string' ? `: ${field.description}` : '';
    const optional = required.has(name) ? '' : ', optional';
    lines.push(`${indent}- ${name} (${typeText(field, root)}${optional})${description}`);
    const inner = objectInside(field, root);
    if (inner !== undefined && depth + 1 < MAX_DEPTH) describeFields(inner, root, depth + 1, lines);
  }
}

/** The object whose fields are listed under a field: the field itself, or its array items. */
function objectInside(node: JsonSchema, root: JsonSchema): JsonSchema | undefined {
  const plain = nonNull(node, root);
  if (isObjectNode(plain)) return plain;
  if (plain.type === 'array' && typeof plain.items === 'object' && plain.items !== null) {
    const items = nonNull(resolve(plain.items as JsonSchema, root), root);
    if (isObjectNode(items)) return items;
  }
  return undefined;
}

function typeText(node: JsonSchema, root: JsonSchema): string {
  const variants = Array.isArray(node.anyOf) ? (node.anyOf as JsonSchema[]).map((v) => resolve(v, root)) : undefined;
  if (variants !== undefined) {
    const nullable = variants.some((v) => v.type === 'null');
    const others = variants.filter((v) => v.type !== 'null').map((v) => typeText(v, root));
    return `${others.join(' or ')}${nullable ? ', or null' : ''}`;
  }
  if (Array.isArray(node.enum)) return `one of: ${(node.enum as unknown[]).map((v) => String(v)).join(' | ')}`;
  if (node.const !== undefined) return `exactly ${JSON.stringify(node.const)}`;
  const types = Array.isArray(node.type) ? (node.type as string[]) : [node.type as string | undefined];
  const nullable = types.includes('null');
  const type = types.find((t) => t !== 'null');
  let text: string;
  switch (type) {
    case 'string':
      text = 'text';
      break;
    case 'integer':
      text = `integer${range(node)}`;
      break;
    case 'number':
      text = `number${range(node)}`;
      break;
    case 'boolean':
      text = 'true or false';
      break;
    case 'array': {
      const items = typeof node.items === 'object' && node.items !== null ? resolve(node.items as JsonSchema, root) : {};
      const itemText = isObjectNode(nonNull(items, root)) ? 'objects' : typeText(items, root);
      text = `list of ${itemText}`;
      break;
    }
    case 'object':
      text = 'object';
      break;
    default:
      text = 'any JSON value';
  }
  return nullable ? `${text}, or null` : text;
}

/** `, 0 to 100` from the schema's bounds (kept here, left out of the wire schema). */
function range(node: JsonSchema): string {
  // zod gives every .int() the safe-integer range: no bound worth saying.
  const bound = (v: unknown): number | undefined => (typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);
  const min = bound(node.minimum);
  const max = bound(node.maximum);
  if (min !== undefined && max !== undefined) return `, ${min} to ${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

function nonNull(node: JsonSchema, root: JsonSchema): JsonSchema {
  if (!Array.isArray(node.anyOf)) return node;
  const others = (node.anyOf as JsonSchema[]).map((v) => resolve(v, root)).filter((v) => v.type !== 'null');
  return others.length === 1 ? (others[0] as JsonSchema) : node;
}

function isObjectNode(node: JsonSchema): boolean {
  return node.type === 'object' || (node.type === undefined && typeof node.properties === 'object');
}

/** Follows a local `$ref` (`#/$defs/name`, `#/definitions/name`). */
function resolve(node: JsonSchema, root: JsonSchema): JsonSchema {
  let current = node;
  for (let hops = 0; hops < 8 && typeof current.$ref === 'string'; hops++) {
    const path = current.$ref.replace(/^#\//, '').split('/');
    let target: unknown = root;
    for (const part of path) target = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)[part] : undefined;
    if (typeof target !== 'object' || target === null) break;
    current = { ...(target as JsonSchema), ...(current.description === undefined ? {} : { description: current.description }) };
  }
  return current;
}

/** Schema keywords some strict-mode endpoints refuse; the ranges stay in the guide and in the code's validation. */
const WIRE_OMITTED = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']);

/**
 * The schema as sent in `response_format`: numeric bounds left out (OpenAI's fine-tuned models
 * refuse `minimum`/`maximum` in strict schemas; zod adds them to every `.int()`). The answer
 * is still checked against the full zod schema.
 */
export function wireSchema(schema: JsonSchema): JsonSchema {
  return strip(schema) as JsonSchema;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    // Only numeric values: under `properties` a field may itself be called "minimum".
    if (WIRE_OMITTED.has(key) && typeof inner === 'number') continue;
    out[key] = strip(inner);
  }
  return out;
}

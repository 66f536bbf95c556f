/**
 * Structured output: turning a zod schema into what the endpoint is sent (per
 * {@link StructuredOutputMode}), and turning the model's text back into a validated value.
 * The parse is deliberately forgiving (think blocks, fences, prose, broken JSON) because
 * every refused answer costs a re-ask.
 */
import { jsonrepair } from 'jsonrepair';
import { z } from 'zod';
import { formatPath, type Message } from '../records.js';
import { frozenForKeys } from './canonical-json.js';
import { fieldGuide, wireSchema } from './field-guide.js';
import type { StructuredOutputMode } from './types.js';

export type JsonSchema = Record<string, unknown>;

/** The `response_format` member of a chat completion request. */
export type ResponseFormat =
  | { type: 'json_schema'; json_schema: { name: string; schema: JsonSchema; strict: boolean } }
  | { type: 'json_object' };

// ---------------------------------------------------------------------------------------------
// Schema → JSON Schema

const jsonSchemaCache = new WeakMap<z.ZodType, { schema: JsonSchema; strict: boolean }>();

/**
 * The JSON Schema of a zod schema (without `$schema`), and whether it is accepted by OpenAI's
 * `strict: true` mode. Cached per schema object: stages reuse the same schema for every call.
 */
export function toJsonSchema(schema: z.ZodType): { schema: JsonSchema; strict: boolean } {
  const cached = jsonSchemaCache.get(schema);
  if (cached !== undefined) return cached;
  // `unrepresentable: 'any'`: transforms and the like become `{}` rather than throwing.
  const json = z.toJSONSchema(schema, { unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  const result = { schema: json, strict: isStrictCompatible(json) };
  jsonSchemaCache.set(schema, result);
  return result;
}

const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const;
const SUBSCHEMA_MAPS = ['properties', '$defs', 'definitions'] as const;

/**
 * True when OpenAI strict mode accepts the schema: every object closes `additionalProperties`
 * and requires all of its properties, and every node says what it is (no open `{}`).
 */
export function isStrictCompatible(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return false;
  const node = schema as Record<string, unknown>;
  const isObject = node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object')) || 'properties' in node;
  if (isObject) {
    if (node.additionalProperties !== false) return false;
    const properties = (node.properties ?? {}) as Record<string, unknown>;
    const required = new Set(Array.isArray(node.required) ? (node.required as unknown[]) : []);
    for (const key of Object.keys(properties)) if (!required.has(key)) return false;
  }
  const describesItself = ['type', 'anyOf', 'oneOf', 'allOf', '$ref', 'enum', 'const'].some((key) => key in node);
  if (!describesItself) return false;
  for (const key of SUBSCHEMA_MAPS) {
    const map = node[key];
    if (map === undefined) continue;
    if (typeof map !== 'object' || map === null) return false;
    for (const sub of Object.values(map)) if (!isStrictCompatible(sub)) return false;
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = node[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return false;
    for (const sub of list) if (!isStrictCompatible(sub)) return false;
  }
  if (node.items !== undefined && node.items !== false && !isStrictCompatible(node.items)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Request building

/** Instructions that carry the schema in the prompt (modes `json_object` and `prompt`). */
export function schemaInstructions(schema: JsonSchema): string {
  return (
    'Answer with a single JSON value that conforms to this JSON Schema. ' +
    'Output the JSON only: no prose, no markdown fences.\n' +
    `JSON Schema:\n${JSON.stringify(schema)}`
  );
}

/**
 * Messages and `response_format` for one structured call. Every mode puts the
 * {@link fieldGuide} into the prompt (self-hosted servers never show the model the schema):
 * - `json_schema`: `response_format: {type: 'json_schema', json_schema: {name, schema, strict}}`
 *   with numeric bounds left out ({@link wireSchema}), the field guide appended to the system message;
 * - `json_object`: `response_format: {type: 'json_object'}`, guide and schema appended to the system message;
 * - `prompt`: no `response_format`, guide and schema appended to the last user message.
 * `fieldGuide: false` sends the request as before the guide existed: no guide, and the schema
 * with its bounds (they are then nowhere else).
 */
export function buildStructuredRequest(
  mode: StructuredOutputMode,
  messages: Message[],
  schema: z.ZodType,
  schemaName: string,
  options: { fieldGuide?: boolean | undefined } = {},
): { messages: Message[]; responseFormat: ResponseFormat | undefined } {
  const parts = schemaParts(mode, schema, schemaName, options.fieldGuide !== false);
  if (mode === 'json_schema') {
    return { messages: parts.text === undefined ? messages : appendToSystem(messages, parts.text), responseFormat: parts.responseFormat };
  }
  const text = parts.text ?? '';
  if (mode === 'json_object') return { messages: appendToSystem(messages, text), responseFormat: parts.responseFormat };
  return { messages: appendToLastUser(messages, text), responseFormat: undefined };
}

/** What a schema adds to every request of a mode: the prompt text, and the `response_format`. */
interface SchemaParts {
  text: string | undefined;
  /** Frozen ({@link frozenForKeys}): shared by every request, its cache-key text computed once. */
  responseFormat: ResponseFormat | undefined;
}

/** Built once per schema, mode, name and guide setting: stages reuse one schema for every call. */
const schemaPartsCache = new WeakMap<z.ZodType, Map<string, SchemaParts>>();

function schemaParts(mode: StructuredOutputMode, schema: z.ZodType, schemaName: string, withGuide: boolean): SchemaParts {
  let perSchema = schemaPartsCache.get(schema);
  if (perSchema === undefined) {
    perSchema = new Map();
    schemaPartsCache.set(schema, perSchema);
  }
  const key = `${mode}\u0000${withGuide}\u0000${schemaName}`;
  let parts = perSchema.get(key);
  if (parts === undefined) {
    const json = toJsonSchema(schema);
    const guide = withGuide ? fieldGuide(json.schema) : undefined;
    if (mode === 'json_schema') {
      // A copy, never the cached JSON Schema itself: the response format is frozen.
      const wire = guide === undefined ? structuredClone(json.schema) : wireSchema(json.schema);
      parts = { text: guide, responseFormat: frozenForKeys({ type: 'json_schema', json_schema: { name: schemaName, schema: wire, strict: json.strict } }) };
    } else {
      const text = guide === undefined ? schemaInstructions(json.schema) : `${guide}\n\n${schemaInstructions(json.schema)}`;
      parts = { text, responseFormat: mode === 'json_object' ? frozenForKeys({ type: 'json_object' }) : undefined };
    }
    perSchema.set(key, parts);
  }
  return parts;
}

function appendToSystem(messages: Message[], text: string): Message[] {
  const index = messages.findIndex((m) => m.role === 'system');
  if (index < 0) return [{ role: 'system', content: text }, ...messages];
  return messages.map((m, i) => (i === index && m.role === 'system' ? { role: 'system', content: `${m.content}\n\n${text}` } : m));
}

function appendToLastUser(messages: Message[], text: string): Message[] {
  let index = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      index = i;
      break;
    }
  }
  if (index < 0) return [...messages, { role: 'user', content: text }];
  return messages.map((m, i) => (i === index && m.role === 'user' ? { role: 'user', content: `${m.content}\n\n${text}` } : m));
}

// ---------------------------------------------------------------------------------------------
// Parsing

export type ParsedAnswer =
  | {
      ok: true;
      value: unknown;
      /** True when `jsonrepair` had to fix the text (a truncated or sloppy answer). */
      repaired: boolean;
    }
  | { ok: false; error: string };

/** Removes reasoning blocks: `<think>…</think>` anywhere, and text before a lone closing tag. */
export function stripThinking(text: string): string {
  let out = text.replace(/<(think|thinking|reasoning)>[\s\S]*?<\/\1>/gi, '');
  // The opening tag was part of the prompt template: only the closing tag reached us.
  const lone = /<\/(?:think|thinking|reasoning)>/gi;
  let last = -1;
  for (let m = lone.exec(out); m !== null; m = lone.exec(out)) last = m.index + m[0].length;
  if (last >= 0) out = out.slice(last);
  // An unclosed leading block (cut off while thinking): drop the tag and hope for JSON after it.
  out = out.replace(/^\s*<(think|thinking|reasoning)>/i, '');
  return out.trim();
}

/** Content of the first markdown code fence that looks like JSON, else the text unchanged. */
function unfence(text: string): string {
  const fence = /```[ \t]*([A-Za-z0-9_-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g;
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    const body = (m[2] ?? '').trim();
    if (body.startsWith('{') || body.startsWith('[')) return body;
  }
  return text;
}

/** End index (exclusive) of the JSON value opening at `start`, or -1 when it never closes. */
function matchingClose(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** How many opening brackets to try before giving up on finding strict JSON in prose. */
const MAX_STARTS = 64;

/**
 * Extracts the JSON value from a model answer: strips think blocks, markdown fences, and prose
 * around the outermost object or array; `JSON.parse`, else `jsonrepair`. Pure; no schema.
 * When prose holds several bracketed values (`see [1]: {...}`), the longest valid one wins.
 */
export function parseJsonAnswer(text: string): ParsedAnswer {
  const stripped = unfence(stripThinking(text));
  if (stripped === '') return { ok: false, error: 'the answer is empty' };
  const opening = /[[{]/g;
  const first = opening.exec(stripped);
  if (first === null) return { ok: false, error: 'the answer contains no JSON object or array' };
  // The usual answer is one clean JSON value: the search below would find exactly it.
  if (first.index === 0) {
    try {
      return { ok: true, value: JSON.parse(stripped) as unknown, repaired: false };
    } catch {
      // prose, several values or a cut-off answer: search
    }
  }

  // The outermost value never closes: the answer was cut off. Inner values would parse but
  // are fragments, so repair the whole tail instead.
  const firstEnd = matchingClose(stripped, first.index);
  if (firstEnd < 0) return repair(stripped.slice(first.index));

  let best: { value: unknown; length: number } | undefined;
  opening.lastIndex = first.index;
  for (let tries = 0, m = opening.exec(stripped); m !== null && tries < MAX_STARTS; tries++, m = opening.exec(stripped)) {
    const end = matchingClose(stripped, m.index);
    if (end < 0) continue;
    try {
      const value: unknown = JSON.parse(stripped.slice(m.index, end));
      if (best === undefined || end - m.index > best.length) best = { value, length: end - m.index };
      opening.lastIndex = end; // only top-level values compete
    } catch {
      // not JSON from here; try the next bracket
    }
  }
  if (best !== undefined) return { ok: true, value: best.value, repaired: false };

  // No strict JSON anywhere: repair the outermost value (trailing commas, single quotes, …).
  return repair(stripped.slice(first.index, firstEnd));
}

function repair(candidate: string): ParsedAnswer {
  try {
    return { ok: true, value: JSON.parse(jsonrepair(candidate)) as unknown, repaired: true };
  } catch (error) {
    return { ok: false, error: `the answer is not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
}

const CUT_OFF = 'the answer was cut off at the token limit (finish_reason "length")';

/** Up to `max` zod issues as `path: message` lines. */
export function formatIssues(error: z.ZodError, max = 10): string[] {
  const lines = error.issues.slice(0, max).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  if (error.issues.length > max) lines.push(`… and ${error.issues.length - max} more problems`);
  return lines;
}

export type ValidatedAnswer<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Parses and validates one answer. `finishReason: 'length'` with JSON that needed repair is a
 * failure: the repaired value would be silently cut short.
 */
export function validateAnswer<T>(text: string, finishReason: string, schema: z.ZodType<T>): ValidatedAnswer<T> {
  const parsed = parseJsonAnswer(text);
  const cutOff = finishReason === 'length';
  if (!parsed.ok) {
    return { ok: false, problems: [cutOff ? `${parsed.error}; ${CUT_OFF}` : parsed.error] };
  }
  if (parsed.repaired && cutOff) {
    return { ok: false, problems: [`${CUT_OFF} before the JSON was complete`] };
  }
  const result = schema.safeParse(parsed.value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: formatIssues(result.error) };
}

/** The user message of a re-ask: the problems of the previous answer and a request for JSON only. */
export function repairPrompt(problems: string[]): string {
  return (
    'Your previous answer could not be accepted:\n' +
    problems.map((p) => `- ${p}`).join('\n') +
    '\nReply with the corrected JSON only: the complete JSON value, no prose, no markdown fences.'
  );
}

/** Raw answers kept in rejection records are cut to this many characters. */
export const MAX_RAW_CHARS = 20_000;

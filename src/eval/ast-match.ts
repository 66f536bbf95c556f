/**
 * Argument matching as BFCL's AST checker scores it (bfcl_eval/eval_checker/ast_eval), with
 * one reference call in place of BFCL's list of possible answers:
 *
 * - numbers compare by value (JSON has one number type, so `1` and `1.0` are equal — BFCL
 *   lets an int stand for a float);
 * - strings compare after BFCL's standardisation: spaces and `,./-_*^` removed, lower case,
 *   `'` read as `"` ("April 1, 2024" = "april 1 2024"); `strings: 'exact'` turns it off;
 * - objects compare key by key in any order; arrays element by element in order (BFCL's
 *   list checker keeps order);
 * - an argument the schema declares optional is *absent* when it is missing, `null`, or equal
 *   to its declared `default`: a call that spells out a default matches one that leaves it out;
 * - any other argument must be in both calls (a missing required one or an extra one fails);
 * - parallel calls match in any order: every reference call to a distinct model call.
 */
import type { JsonSchemaObject } from '../records.js';

export type StringMode = 'bfcl' | 'exact';

export interface MatchOptions {
  /** How strings compare. @default 'bfcl' */
  strings?: StringMode | undefined;
}

/** A call as the matcher sees it: arguments parsed, or `undefined` when they were not a JSON object. */
export interface ParsedCall {
  name: string;
  arguments: Record<string, unknown> | undefined;
}

/** Outcome of one comparison; `problem` says where it first differs. */
export type MatchResult = { ok: true } | { ok: false; problem: string };

const OK: MatchResult = { ok: true };
const fail = (problem: string): MatchResult => ({ ok: false, problem });

/** BFCL's `standardize_string`. */
export function standardizeString(value: string): string {
  return value.replace(/[ ,./\-_*^]/g, '').toLowerCase().replaceAll("'", '"');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function schemaOf(value: unknown): JsonSchemaObject | undefined {
  return isPlainObject(value) ? value : undefined;
}

/** Sub-schemas of an object schema's properties, and its required names. */
function objectParts(schema: JsonSchemaObject | undefined): { properties: Record<string, JsonSchemaObject | undefined>; required: Set<string> } {
  const props = isPlainObject(schema?.properties) ? schema.properties : {};
  const properties: Record<string, JsonSchemaObject | undefined> = {};
  for (const [k, v] of Object.entries(props)) properties[k] = schemaOf(v);
  const required = new Set(Array.isArray(schema?.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
  return { properties, required };
}

/** Deep equality of two values under `schema` (which may be absent: then by shape alone). */
export function valuesMatch(expected: unknown, actual: unknown, schema: JsonSchemaObject | undefined, options: MatchOptions = {}, path = ''): MatchResult {
  const where = path === '' ? 'value' : path;
  if (typeof expected === 'number' || typeof actual === 'number') {
    return typeof expected === 'number' && typeof actual === 'number' && expected === actual ? OK : fail(`${where}: ${show(actual)} ≠ ${show(expected)}`);
  }
  if (typeof expected === 'string' || typeof actual === 'string') {
    if (typeof expected !== 'string' || typeof actual !== 'string') return fail(`${where}: ${show(actual)} ≠ ${show(expected)}`);
    const same = (options.strings ?? 'bfcl') === 'exact' ? expected === actual : standardizeString(expected) === standardizeString(actual);
    return same ? OK : fail(`${where}: ${show(actual)} ≠ ${show(expected)}`);
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) return fail(`${where}: ${show(actual)} ≠ ${show(expected)}`);
    if (expected.length !== actual.length) return fail(`${where}: ${actual.length} item(s), expected ${expected.length}`);
    const items = schemaOf(schema?.items);
    for (let i = 0; i < expected.length; i++) {
      const r = valuesMatch(expected[i], actual[i], items, options, `${path}[${i}]`);
      if (!r.ok) return r;
    }
    return OK;
  }
  if (isPlainObject(expected) || isPlainObject(actual)) {
    if (!isPlainObject(expected) || !isPlainObject(actual)) return fail(`${where}: ${show(actual)} ≠ ${show(expected)}`);
    return objectsMatch(expected, actual, schema, options, path);
  }
  // booleans and null
  return expected === actual ? OK : fail(`${where}: ${show(actual)} ≠ ${show(expected)}`);
}

/**
 * Two argument objects under an object schema. Keys compare in any order; an optional key
 * is absent when missing, `null`, or equal to its declared default.
 */
export function objectsMatch(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  schema: JsonSchemaObject | undefined,
  options: MatchOptions = {},
  path = '',
): MatchResult {
  const { properties, required } = objectParts(schema);
  const absent = (key: string, value: unknown): boolean => {
    if (value === undefined) return true;
    if (required.has(key)) return false;
    if (value === null) return true;
    const sub = properties[key];
    return sub !== undefined && 'default' in sub && valuesMatch(sub.default, value, sub, options).ok;
  };
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of [...keys].sort()) {
    const e = expected[key];
    const a = actual[key];
    const at = path === '' ? key : `${path}.${key}`;
    const eAbsent = absent(key, e);
    const aAbsent = absent(key, a);
    if (eAbsent && aAbsent) continue;
    if (eAbsent) return fail(`${at}: unexpected argument ${show(a)}`);
    if (aAbsent) return fail(`${at}: missing (expected ${show(e)})`);
    const r = valuesMatch(e, a, properties[key], options, at);
    if (!r.ok) return r;
  }
  return OK;
}

/** One call against one reference call: same name, matching arguments. */
export function callMatches(expected: ParsedCall, actual: ParsedCall, parameters: JsonSchemaObject | undefined, options: MatchOptions = {}): MatchResult {
  if (expected.name !== actual.name) return fail(`called ${actual.name}, expected ${expected.name}`);
  if (actual.arguments === undefined) return fail(`${actual.name}: arguments are not a JSON object`);
  return objectsMatch(expected.arguments ?? {}, actual.arguments, parameters, options, actual.name);
}

/**
 * The calls of a turn against the reference's, in any order (BFCL's parallel no-order
 * checker, with a full matching rather than a greedy one). `parametersOf` gives a function's
 * argument schema.
 */
export function callsMatch(
  expected: readonly ParsedCall[],
  actual: readonly ParsedCall[],
  parametersOf: (name: string) => JsonSchemaObject | undefined,
  options: MatchOptions = {},
): MatchResult {
  if (expected.length !== actual.length) return fail(`${actual.length} call(s), expected ${expected.length}`);
  const fits = expected.map((e) => actual.map((a) => callMatches(e, a, parametersOf(e.name), options)));
  const used = new Array<boolean>(actual.length).fill(false);
  const assign = (i: number): boolean => {
    if (i === expected.length) return true;
    for (let j = 0; j < actual.length; j++) {
      if (used[j] === true || fits[i]?.[j]?.ok !== true) continue;
      used[j] = true;
      if (assign(i + 1)) return true;
      used[j] = false;
    }
    return false;
  };
  if (assign(0)) return OK;
  // Name the first reference call no model call matches, with the closest miss's reason.
  for (let i = 0; i < expected.length; i++) {
    const row = fits[i] ?? [];
    if (row.some((r) => r.ok)) continue;
    const sameName = row.find((r, j) => actual[j]?.name === expected[i]?.name && !r.ok);
    if (sameName !== undefined && !sameName.ok) return sameName;
    return fail(`no call to ${expected[i]?.name ?? '?'}`);
  }
  return fail('the calls cannot be paired one to one');
}

/** Multiset equality of function names (order-independent). */
export function namesMatch(expected: readonly string[], actual: readonly string[]): boolean {
  if (expected.length !== actual.length) return false;
  const a = [...expected].sort();
  const b = [...actual].sort();
  return a.every((name, i) => name === b[i]);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

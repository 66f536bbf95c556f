/**
 * Compiled JSON Schema validators for tool parameters, shared across trajectories.
 *
 * A dataset reuses the same few tool sets thousands of times; compiling a schema costs
 * ~100x more than running it, so validators are compiled once and kept in an LRU keyed by a
 * hash of the schema's JSON text. Failed compilations are cached too (the error message).
 */
import { hash } from 'node:crypto';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Tool } from '../records.js';

/** A compiled schema, or why it does not compile. */
export type CompiledSchema =
  | { ok: true; validate: ValidateFunction }
  | { ok: false; error: string };

// ajv-formats is CommonJS: under NodeNext the default import is `module.exports`.
const addFormats = addFormatsModule.default;

function newAjv(): Ajv {
  // strict:false — generated schemas carry harmless unknown keywords ("example", "title"
  // in odd places); logger:false — ajv would otherwise print warnings for unknown formats.
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false, validateSchema: true });
  addFormats(ajv);
  return ajv;
}

/** An LRU of compiled tool-parameter validators. Not thread-shared; one per worker is fine. */
export class SchemaCache {
  private readonly entries = new Map<string, CompiledSchema>();
  private readonly ajv: Ajv = newAjv();
  /** Lookups answered from the cache, for tests and benchmarks. */
  hits = 0;
  /** Lookups that compiled. */
  misses = 0;

  /** @param maxEntries most schemas kept; the least recently used is dropped first. */
  constructor(readonly maxEntries = 1024) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be an integer >= 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The validator for `parameters` (a tool's `function.parameters`), compiling on a miss. */
  get(parameters: Record<string, unknown>): CompiledSchema {
    const json = JSON.stringify(parameters);
    const key = hash('sha1', json, 'base64');
    const found = this.entries.get(key);
    if (found !== undefined) {
      this.hits += 1;
      // Re-insert: Map iteration order is insertion order, so the first key is the LRU one.
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    this.misses += 1;
    const compiled = this.compile(parameters);
    this.entries.set(key, compiled);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return compiled;
  }

  private compile(parameters: Record<string, unknown>): CompiledSchema {
    // `$id` would register the schema globally in ajv (a second tool with the same id would
    // throw) and `$schema` may name a draft ajv does not load; OpenAI ignores both.
    const { $id: _id, $schema: _schema, ...schema } = parameters;
    const closed = unsatisfiableRequired(schema, '');
    if (closed !== undefined) return { ok: false, error: closed };
    try {
      return { ok: true, validate: this.ajv.compile(schema) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      // ajv also caches every compiled schema by object identity; drop it so memory stays
      // bounded by our LRU. The compiled function keeps working on its own.
      this.ajv.removeSchema(schema);
    }
  }
}

/**
 * A closed object (`additionalProperties: false`) that requires a field it does not declare
 * can never be satisfied: every call would fail `arguments_schema`. Checked at every level of
 * `properties` and `items` (nested object parameters), since ajv accepts such a schema.
 */
function unsatisfiableRequired(node: unknown, where: string, depth = 0): string | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node) || depth > 16) return undefined;
  const s = node as Record<string, unknown>;
  const properties = s['properties'] !== null && typeof s['properties'] === 'object' ? (s['properties'] as Record<string, unknown>) : {};
  if (s['additionalProperties'] === false && Array.isArray(s['required'])) {
    const missing = (s['required'] as unknown[]).filter((name) => typeof name === 'string' && !Object.prototype.hasOwnProperty.call(properties, name));
    if (missing.length > 0) {
      const list = missing.map((m) => JSON.stringify(m)).join(', ');
      return `${where === '' ? '(root)' : where}: required ${list} not declared in properties while additionalProperties is false, so no arguments can satisfy the schema`;
    }
  }
  for (const [name, sub] of Object.entries(properties)) {
    const found = unsatisfiableRequired(sub, where === '' ? name : `${where}.${name}`, depth + 1);
    if (found !== undefined) return found;
  }
  if (s['items'] !== undefined) return unsatisfiableRequired(s['items'], `${where === '' ? '' : where}[]`, depth + 1);
  return undefined;
}

let shared: SchemaCache | undefined;

/** The process-wide cache used when options do not bring one (1,024 schemas). */
export function defaultSchemaCache(): SchemaCache {
  shared ??= new SchemaCache(1024);
  return shared;
}

/**
 * The validator of a tool's `parameters`: `null` when the tool declares none, `{ok:false}` when
 * they are not a compilable JSON Schema of type object. The one tool-schema check, used by the
 * extract/refine post-check and by the validator's `tool_schema` and `arguments_schema`.
 */
export function compileToolParameters(tool: Tool, cache: SchemaCache = defaultSchemaCache()): CompiledSchema | null {
  const parameters = tool.function.parameters;
  if (parameters === undefined) return null;
  if (parameters['type'] !== 'object') {
    return { ok: false, error: `parameters must be a JSON Schema with "type": "object", got type ${JSON.stringify(parameters['type'] ?? null)}` };
  }
  return cache.get(parameters);
}

/** `/items/0/sku` → `items[0].sku`; `''` → `(root)`. */
export function instancePathToJsonPath(instancePath: string): string {
  if (instancePath === '') return '(root)';
  let out = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** One ajv error as `path: message`, with the detail ajv keeps in `params`. */
export function formatAjvError(error: ErrorObject): string {
  const where = instancePathToJsonPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${where}: missing required argument "${String(params['missingProperty'])}"`;
    case 'additionalProperties':
      return `${where}: unexpected argument "${String(params['additionalProperty'])}" (additionalProperties is false)`;
    case 'enum': {
      const allowed = Array.isArray(params['allowedValues']) ? params['allowedValues'] : [];
      return `${where}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    default:
      return `${where}: ${error.message ?? error.keyword}`;
  }
}

/**
 * Canonical JSON: object keys sorted at every depth, `undefined` members dropped. The response
 * cache key is the sha256 of it, so its output must never change for a given value.
 */

/** Canonical JSON of the values given to {@link frozenForKeys}: computed once, not per call. */
const frozenJson = new WeakMap<object, string>();
/** `JSON.stringify` of the same values (the request body's text of them), made on first use. */
const frozenPlainJson = new WeakMap<object, string>();

/**
 * Deep-freezes `value` and lets {@link canonicalJson} and {@link plainJson} remember its text: for values that every
 * call of a stage repeats (a schema's `response_format` is 2–3 KB of nested objects, and was
 * most of the key's cost). Returns `value`.
 */
export function frozenForKeys<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !frozenJson.has(value)) {
    deepFreeze(value);
    frozenJson.set(value, canonicalJson(value));
  }
  return value;
}

/** `JSON.stringify(value)`, remembered for values given to {@link frozenForKeys}. */
export function plainJson(value: unknown): string {
  if (typeof value !== 'object' || value === null || !frozenJson.has(value)) return JSON.stringify(value) ?? 'null';
  let text = frozenPlainJson.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    frozenPlainJson.set(value, text);
  }
  return text;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  for (const inner of Object.values(value)) deepFreeze(inner);
  Object.freeze(value);
}

/** JSON with object keys sorted at every depth and `undefined` members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const known = frozenJson.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += `${i === 0 ? '' : ','}${item === undefined ? 'null' : canonicalJson(item)}`;
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

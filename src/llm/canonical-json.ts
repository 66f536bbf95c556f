/**
 * Canonical JSON: object keys sorted at every depth, `undefined` members dropped. The response
 * cache key is the sha256 of it, so its output must never change for a given value.
 */

/** Canonical JSON of the values given to {@link frozenForKeys}: computed once, not per call. */
const frozenJson = new WeakMap<object, string>();
/** `JSON.stringify` of the same values (the request body's text of them), made on first use. */
const frozenPlainJson = new WeakMap<object, string>();
/** Canonical text of values given to {@link rememberJson}, until {@link forgetJson}. */
const rememberedCanonical = new WeakMap<object, string>();
/** Plain text of values given to {@link rememberJson}, until {@link forgetJson}. */
const rememberedPlain = new WeakMap<object, string>();

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

/**
 * Makes the canonical and the plain JSON of `value` in one walk and remembers both, so that
 * {@link canonicalJson} (the cache key) and {@link plainJson} (the request body) escape a
 * request's messages — most of its bytes — once instead of twice. `value` must not change
 * afterwards (a request's wire messages are built per call and only read). Values that are not
 * plain JSON data (class instances, `toJSON`, functions) are left alone. Returns `value`.
 */
export function rememberJson<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !frozenJson.has(value) && !rememberedPlain.has(value)) {
    const both = dualJson(value);
    if (both !== undefined) {
      rememberedCanonical.set(value, both[0]);
      rememberedPlain.set(value, both[1]);
    }
  }
  return value;
}

/**
 * Lets go of the texts {@link rememberJson} made for `value` (only the canonical one with
 * `only: 'canonical'`): once the key is made, and once the body is, they are tens of kB per
 * request that would otherwise live — and be copied by the garbage collector into the old
 * generation — for as long as the request is in flight. Later calls compute them again.
 */
export function forgetJson(value: unknown, only?: 'canonical'): void {
  if (typeof value !== 'object' || value === null) return;
  rememberedCanonical.delete(value);
  if (only === undefined) rememberedPlain.delete(value);
}

/** `JSON.stringify(value)`, remembered for values given to {@link frozenForKeys} or {@link rememberJson}. */
export function plainJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  const known = rememberedPlain.get(value);
  if (known !== undefined) return known;
  if (!frozenJson.has(value)) return JSON.stringify(value) ?? 'null';
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
  const known = frozenJson.get(value) ?? rememberedCanonical.get(value);
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

/**
 * [canonical, plain] JSON of plain data (strings, finite or not numbers, booleans, null, arrays,
 * objects of Object's or no prototype): every string escaped once for both. `undefined` for
 * anything `JSON.stringify` and {@link canonicalJson} could treat differently.
 */
function dualJson(value: unknown): [string, string] | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean': {
      const text = JSON.stringify(value);
      return [text, text];
    }
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return ['null', 'null'];
  const frozen = frozenJson.get(value);
  if (frozen !== undefined) return [frozen, plainJson(value)];
  const knownPlain = rememberedPlain.get(value);
  if (knownPlain !== undefined) return [rememberedCanonical.get(value) ?? canonicalJson(value), knownPlain];
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return undefined;
    let canonical = '[';
    let plain = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const both: [string, string] | undefined = item === undefined ? ['null', 'null'] : dualJson(item);
      if (both === undefined) return undefined;
      const comma = i === 0 ? '' : ',';
      canonical += comma + both[0];
      plain += comma + both[1];
    }
    return [`${canonical}]`, `${plain}]`];
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const members = new Map<string, string>();
  let plain = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    const both = dualJson(item);
    if (both === undefined) return undefined;
    members.set(key, both[0]);
    plain += `${plain.length === 1 ? '' : ','}${JSON.stringify(key)}:${both[1]}`;
  }
  let canonical = '{';
  for (const key of [...members.keys()].sort()) canonical += `${canonical.length === 1 ? '' : ','}${JSON.stringify(key)}:${members.get(key) as string}`;
  return [`${canonical}}`, `${plain}}`];
}

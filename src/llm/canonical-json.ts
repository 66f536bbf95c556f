/**
 * Canonical JSON: object keys sorted at every depth, `undefined` members dropped. The response
 * cache key is the sha256 of it, so its output must never change for a given value.
 */
import type { Hash } from 'node:crypto';

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
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
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

/**
 * Strings at least this long (in UTF-16 code units) are escaped and UTF-8 encoded once per
 * request, by {@link hashCanonical}, and the bytes reused by {@link encodePlain}: a request's
 * messages are most of its bytes, and their text then never exists as one big string.
 */
const LONG = 256;

/**
 * The JSON-escaped UTF-8 bytes of a request's long strings (outside the JS heap, so the garbage
 * collector does not copy them while the request waits in a queue or is in flight), by the
 * object and member that hold them: looking a 10 kB string up by its own value would hash it.
 */
export class EncodedStrings {
  private readonly bytes = new WeakMap<object, Map<string | number, { text: string; bytes: Buffer }>>();

  /** `Buffer.from(JSON.stringify(text))` for `text` held at `holder[member]`, made once while it stays there. */
  of(holder: object, member: string | number, text: string): Buffer {
    let members = this.bytes.get(holder);
    if (members === undefined) {
      members = new Map();
      this.bytes.set(holder, members);
    }
    const known = members.get(member);
    if (known !== undefined && known.text === text) return known.bytes;
    const bytes = encodeJsonString(text);
    members.set(member, { text, bytes });
    return bytes;
  }
}

/** Scratch space of {@link encodeJsonString}: grows to the longest string seen (writing into it and copying out beats sizing the UTF-8 first). */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** Largest scratch space kept, bytes. */
const SCRATCH_MAX = 4 * 1024 * 1024;

/** `Buffer.from(JSON.stringify(text), 'utf8')`. */
function encodeJsonString(text: string): Buffer {
  const json = JSON.stringify(text);
  // At most 3 bytes per UTF-16 code unit; a huge string is not worth keeping scratch space for.
  if (json.length > SCRATCH_MAX / 3) return Buffer.from(json, 'utf8');
  if (scratch.length < 3 * json.length) scratch = Buffer.allocUnsafe(3 * json.length);
  const size = scratch.write(json, 0, 'utf8');
  return Buffer.from(scratch.subarray(0, size));
}

/** The {@link EncodedStrings} of each request's messages: made with its cache key, used again for its body (and its retries). */
const encodedByOwner = new WeakMap<object, EncodedStrings>();

/** The encoded strings kept for `owner` (a request's messages array), created on first use; they live as long as it does. */
export function encodedStringsOf(owner: object): EncodedStrings {
  let strings = encodedByOwner.get(owner);
  if (strings === undefined) {
    strings = new EncodedStrings();
    encodedByOwner.set(owner, strings);
  }
  return strings;
}

/** Where JSON text goes, piece by piece: short pieces are gathered into one string, long strings arrive as bytes. */
interface Sink {
  /** Short text not yet passed on. */
  pending: string;
  /** Passes `pending` on, then the bytes of a long string. */
  bytes(encoded: Buffer): void;
}

/** Feeds `hash` the canonical JSON of `value` (exactly the bytes of {@link canonicalJson}), long strings through `strings`. */
export function hashCanonical(hash: Hash, value: unknown, strings: EncodedStrings): void {
  const sink: Sink = {
    pending: '',
    bytes(encoded) {
      if (this.pending !== '') hash.update(this.pending, 'utf8');
      this.pending = '';
      hash.update(encoded);
    },
  };
  writeJson(value, sink, strings, true);
  if (sink.pending !== '') hash.update(sink.pending, 'utf8');
}

/**
 * `JSON.stringify` of an object's members `names` (in that order; unset ones left out) as UTF-8
 * bytes, long strings taken from `strings` (a request's body, from the bytes its key made).
 * Values that are not plain data (class instances, `toJSON`) are left to `JSON.stringify`.
 */
export function encodePlain(record: Readonly<Record<string, unknown>>, names: readonly string[], strings: EncodedStrings): Buffer {
  const pieces: (string | Buffer)[] = [];
  let size = 0;
  const sink: Sink = {
    pending: '',
    bytes(encoded) {
      if (this.pending !== '') {
        pieces.push(this.pending);
        size += Buffer.byteLength(this.pending, 'utf8');
      }
      this.pending = '';
      pieces.push(encoded);
      size += encoded.length;
    },
  };
  const picked: Record<string, unknown> = {};
  for (const name of names) picked[name] = record[name];
  writeJson(picked, sink, strings, false);
  pieces.push(sink.pending);
  size += Buffer.byteLength(sink.pending, 'utf8');
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const piece of pieces) at += typeof piece === 'string' ? out.write(piece, at, 'utf8') : piece.copy(out, at);
  return out;
}

/**
 * JSON of `value` into a sink: {@link canonicalJson}'s (keys sorted, the same cases in the same
 * order) when `canonical`, else `JSON.stringify`'s for a value that is not `undefined`, a
 * function or a symbol (plain data walked here, anything else left to `JSON.stringify`).
 */
function writeJson(value: unknown, sink: Sink, strings: EncodedStrings, canonical: boolean): void {
  if (typeof value === 'string' && value.length >= LONG) {
    sink.bytes(encodeJsonString(value));
    return;
  }
  if (value === null || typeof value !== 'object') {
    sink.pending += JSON.stringify(value) ?? 'null';
    return;
  }
  const frozen = frozenJson.get(value);
  if (frozen !== undefined || (!canonical && !isPlainData(value))) {
    sink.pending += canonical ? (frozen as string) : plainJson(value);
    return;
  }
  if (Array.isArray(value)) {
    sink.pending += '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) sink.pending += ',';
      const item: unknown = value[i];
      // Functions and symbols come out as null too (JSON.stringify gives undefined for them).
      if (item === undefined) sink.pending += 'null';
      else if (typeof item === 'string' && item.length >= LONG) sink.bytes(strings.of(value, i, item));
      else writeJson(item, sink, strings, canonical);
    }
    sink.pending += ']';
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (canonical) keys.sort();
  let first = true;
  sink.pending += '{';
  for (const key of keys) {
    const item = record[key];
    // canonicalJson keeps function and symbol members (as null); JSON.stringify leaves them out.
    if (item === undefined || (!canonical && (typeof item === 'function' || typeof item === 'symbol'))) continue;
    sink.pending += `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    if (typeof item === 'string' && item.length >= LONG) sink.bytes(strings.of(record, key, item));
    else writeJson(item, sink, strings, canonical);
  }
  sink.pending += '}';
}

/** An array, or an object of Object's or no prototype without `toJSON`: what {@link writeJson} walks itself. */
function isPlainData(value: object): boolean {
  if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype;
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

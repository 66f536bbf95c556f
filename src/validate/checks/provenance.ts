/**
 * `argument_provenance` (beyond the paper): every argument value a call passes must come from
 * somewhere the assistant could have read it — the system prompt, an earlier user message or
 * an earlier tool result — unless the assistant may legitimately choose or compose it.
 * The exact rule and its exemptions are documented on {@link ProvenanceOptions}.
 *
 * It is a heuristic (string containment, not understanding), so it warns by default. It is
 * tuned to stay quiet on real data: see the tau-bench test in test/validate-real.test.ts.
 */
import type { Reason } from '../../records.js';
import type { ValidateContext } from '../context.js';
import type { ProvenanceOptions, ResolvedValidateOptions } from '../options.js';
import { conversionSources, isDocumentedDefault, keyParts } from './derivations.js';

type ResolvedProvenance = ResolvedValidateOptions['provenance'];

// Precompiled once: the checks run per record and must not build regexes in loops.
const UNICODE_ESCAPE_RE = /\\u([0-9a-fA-F]{4})/g;
const DIGIT_GROUP_COMMA_RE = /(\d),(?=\d{3}(?:\D|$))/g;
const SEPARATOR_RE = /[\s_-]+/g;
const EDGE_PUNCT_RE = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;
const WHITESPACE_RE = /\s+/;
const NUMERIC_STRING_RE = /^-?\d+(?:\.\d+)?$/;
const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?$/;
const TIME_RE = /^(\d{1,2}):(\d{2})(?::\d{2})?$/;
const RELATIVE_DATE_RE =
  /\b(?:today|tonight|tomorrow|tmrw|yesterday|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|(?:next|this|last|following|previous|same|coming) (?:day|week|month|year)|in (?:\d+|a|one|two|three|four|five|six|seven) (?:days?|weeks?|months?)|(?:\d+|a|an|one|two|three|four|five|six|seven) (?:days?|weeks?)|day (?:after|before)|week from|month from)\b/;
const CAMEL_RE = /([a-z0-9])([A-Z])/g;
// Airport, state, country and currency codes (JFK, CA, USD) are derived from names the user
// gives ("New York", "California"); a lookup table is out of scope, so they are exempt.
const CODE_RE = /^[A-Z]{2,3}$/;
const KEY_SPLIT_RE = /[_\-\s]+/;
const NUMBER_TOKEN_RE = /\d+(?:\.\d+)?/g;

/**
 * Last words of an argument name that make it an identifier (`order_id`, `orderId`, `user_ids`,
 * `phone_number`, `sku`, `api_key`, `account`, `order`). An identifier must come from an
 * earlier user message, tool result or the system prompt: the assistant naming it while calling
 * ("Let me check order 48213") is no source, and no unit conversion yields one.
 */
const IDENTIFIER_WORDS: ReadonlySet<string> = new Set([
  'id', 'ids', 'uuid', 'guid', 'number', 'numbers', 'num', 'no', 'code', 'ref', 'reference', 'sku',
  'token', 'key', 'account', 'order', 'pin', 'serial',
]);

const ID_LOOKALIKES: ReadonlySet<string> = new Set(['valid', 'invalid', 'prepaid', 'unpaid', 'postpaid', 'liquid', 'hybrid', 'pyramid', 'android', 'fluid', 'rapid', 'solid', 'humid', 'avoid', 'squid']);

/** Whether argument `key` names an identifier (see {@link IDENTIFIER_WORDS}). */
export function isIdentifierKey(key: string | undefined): boolean {
  if (key === undefined) return false;
  const parts = keyParts(key);
  const last = parts[parts.length - 1] ?? '';
  if (IDENTIFIER_WORDS.has(last)) return true;
  // `orderid`, `userids` written as one word (but not `valid`, `prepaid`).
  const stem = last.endsWith('ids') ? last.slice(0, -1) : last;
  return stem.length >= 5 && stem.endsWith('id') && !ID_LOOKALIKES.has(stem);
}

const MONTHS: ReadonlyArray<readonly string[]> = [
  ['january', 'jan'], ['february', 'feb'], ['march', 'mar'], ['april', 'apr'], ['may'], ['june', 'jun'],
  ['july', 'jul'], ['august', 'aug'], ['september', 'sep', 'sept'], ['october', 'oct'], ['november', 'nov'],
  ['december', 'dec'],
];

/**
 * Normalizes text for containment tests: JSON `\uXXXX` escapes decoded, lower case, digit
 * group commas dropped (outside JSON, where `[1,234]` is a list), and `_`, `-`, whitespace
 * runs turned into one space (so `one_way` matches "One-way").
 */
export function normalizeForGrounding(text: string): string {
  let t = text;
  if (t.includes('\\u')) t = t.replace(UNICODE_ESCAPE_RE, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  t = t.toLowerCase();
  if (t.includes(',')) {
    const first = t.trimStart().charCodeAt(0);
    if (first !== 123 /* { */ && first !== 91 /* [ */) t = t.replace(DIGIT_GROUP_COMMA_RE, '$1');
  }
  return t.replace(SEPARATOR_RE, ' ');
}

/** 1 digit, 2 letter (any script), 0 other. */
function charClass(code: number): 0 | 1 | 2 {
  if (code >= 48 && code <= 57) return 1;
  if ((code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code >= 0xc0) return 2;
  return 0;
}

/**
 * True when `needle` occurs in `hay` without running into a neighbour of the same kind:
 * "121" is not found in "1213" and "shoe" not in "shoes", but "20" is found in "may 20th"
 * and "10:30" in "10:30am".
 */
export function containsToken(hay: string, needle: string): boolean {
  if (needle === '') return true;
  const startClass = charClass(needle.charCodeAt(0));
  const endClass = charClass(needle.charCodeAt(needle.length - 1));
  let from = 0;
  for (;;) {
    const at = hay.indexOf(needle, from);
    if (at < 0) return false;
    const end = at + needle.length;
    const okStart = startClass === 0 || at === 0 || charClass(hay.charCodeAt(at - 1)) !== startClass;
    const okEnd = endClass === 0 || end === hay.length || charClass(hay.charCodeAt(end)) !== endClass;
    if (okStart && okEnd) return true;
    from = at + 1;
  }
}

function ordinal(day: number): string {
  if (day >= 11 && day <= 13) return `${day}th`;
  const last = day % 10;
  return `${day}${last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th'}`;
}

/** Ways a text may mention a calendar day (month 1-12, day 1-31), normalized. */
export function dateMentions(month: number, day: number): string[] {
  const out: string[] = [];
  const dd = String(day).padStart(2, '0');
  const mm = String(month).padStart(2, '0');
  const nth = ordinal(day);
  for (const name of MONTHS[month - 1] ?? []) {
    out.push(`${name} ${day}`, `${name} ${dd}`, `${day} ${name}`, `${nth} ${name}`, `${nth} of ${name}`);
  }
  out.push(`${month}/${day}`, `${mm}/${dd}`, `${day}/${month}`, `${dd}/${mm}`, `${dd}.${mm}`, `the ${nth}`);
  return out;
}

/** Ways a text may mention a clock time, normalized. */
export function timeMentions(hour: number, minute: number): string[] {
  const mm = String(minute).padStart(2, '0');
  const h12 = hour % 12 === 0 ? 12 : hour % 12;
  const suffixes = hour < 12 ? ['am', 'a.m.', 'in the morning'] : ['pm', 'p.m.', 'in the afternoon', 'in the evening'];
  const out = [`${hour}:${mm}`, `${String(hour).padStart(2, '0')}:${mm}`, `${h12}:${mm}`];
  for (const s of suffixes) {
    out.push(`${h12}:${mm} ${s}`, `${h12}:${mm}${s}`);
    if (minute === 0) out.push(`${h12} ${s}`, `${h12}${s}`);
  }
  if (minute === 0) out.push(`${h12} o'clock`);
  if (hour === 12 && minute === 0) out.push('noon', 'midday');
  return out;
}

function numberForms(n: number): string[] {
  const abs = Math.abs(n);
  const forms = new Set<string>([String(abs), abs.toFixed(2), String(Number(abs.toFixed(2)))]);
  return [...forms];
}

/** What the schema lets the assistant pick without grounding: enum, const and default values. */
function schemaLiterals(schema: unknown, out: unknown[] = [], depth = 0): unknown[] {
  if (schema === null || typeof schema !== 'object' || depth > 4) return out;
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s['enum'])) out.push(...(s['enum'] as unknown[]));
  if ('const' in s) out.push(s['const']);
  if ('default' in s) out.push(s['default']);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = s[key];
    if (Array.isArray(branches)) for (const b of branches) schemaLiterals(b, out, depth + 1);
  }
  // An array of enum items: the literals live on `items`.
  if (s['items'] !== undefined && !Array.isArray(s['items'])) schemaLiterals(s['items'], out, depth + 1);
  return out;
}

/** The sub-schema describing `schema`'s child `key` (a property name or an array index). */
function childSchema(schema: unknown, key: string | number, depth = 0): unknown {
  if (schema === null || typeof schema !== 'object' || depth > 4) return undefined;
  const s = schema as Record<string, unknown>;
  if (typeof key === 'number') {
    if (Array.isArray(s['prefixItems'])) return (s['prefixItems'] as unknown[])[key] ?? s['items'];
    if (s['items'] !== undefined) return s['items'];
  } else {
    const props = s['properties'];
    if (props !== null && typeof props === 'object' && Object.prototype.hasOwnProperty.call(props, key)) {
      return (props as Record<string, unknown>)[key];
    }
    if (s['additionalProperties'] !== null && typeof s['additionalProperties'] === 'object') {
      return s['additionalProperties'];
    }
  }
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = s[k];
    if (!Array.isArray(branches)) continue;
    for (const b of branches) {
      const found = childSchema(b, key, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

// Free-text verdict per argument name, per configured name set (names are few in practice).
const freeTextKeyMemo = new WeakMap<ReadonlySet<string>, Map<string, boolean>>();

function isFreeTextKey(key: string, names: ReadonlySet<string>): boolean {
  let memo = freeTextKeyMemo.get(names);
  if (memo === undefined) {
    memo = new Map();
    freeTextKeyMemo.set(names, memo);
  }
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  let result = names.has(key.toLowerCase());
  if (!result) {
    // `cancel_reason`, `searchQuery`: the last word decides.
    const parts = key.replace(CAMEL_RE, '$1_$2').toLowerCase().split(KEY_SPLIT_RE);
    const last = parts[parts.length - 1];
    result = last !== undefined && names.has(last);
  }
  if (memo.size > 10_000) memo.clear();
  memo.set(key, result);
  return result;
}

/** A leaf value to ground, with where it sits in the arguments. */
interface Leaf {
  path: string;
  key: string | undefined;
  value: string | number;
  schema: unknown;
  /** A property its object's schema does not require (it may be left at its default). */
  optional: boolean;
}

function requiredOf(schema: unknown): ReadonlySet<string> {
  if (schema === null || typeof schema !== 'object') return new Set();
  const required = (schema as Record<string, unknown>)['required'];
  return new Set(Array.isArray(required) ? required.filter((r): r is string => typeof r === 'string') : []);
}

function collectLeaves(value: unknown, path: string, key: string | undefined, schema: unknown, out: Leaf[], depth: number, optional = false): void {
  if (depth > 16) return;
  if (typeof value === 'string' || typeof value === 'number') {
    out.push({ path, key, value, schema, optional });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => collectLeaves(item, `${path}[${i}]`, key, childSchema(schema, i), out, depth + 1));
  } else if (value !== null && typeof value === 'object') {
    const required = requiredOf(schema);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      collectLeaves(v, path === '' ? k : `${path}.${k}`, k, childSchema(schema, k), out, depth + 1, !required.has(k));
    }
  }
}

/**
 * Per-trajectory grounding: source texts prepared lazily, needle lookups memoized.
 *
 * Speed matters (the check runs on every record): a needle is first looked up in the merely
 * lower-cased texts, which finds almost every grounded value, and only then in the fully
 * normalized texts (separators unified, digit groups joined, escapes decoded). The system
 * prompt, the longest text and the rarest source of argument values, is searched last.
 */
class Grounding {
  private readonly lower: (string | undefined)[] = [];
  private readonly norm: (string | undefined)[] = [];
  private readonly relative: (boolean | undefined)[] = [];
  /** key → index of the first source containing it, or -(searched prefix length) - 1. */
  private readonly memo = new Map<string, number>();
  /** keys known to be absent from the system prompt. */
  private readonly notInSystem = new Set<string>();
  private readonly hasSystem: boolean;
  private numbers: Set<string> | undefined;

  constructor(private readonly ctx: ValidateContext) {
    this.hasSystem = ctx.messages?.[0]?.role === 'system';
  }

  private source(j: number, assistant: boolean, normalized: boolean): string | undefined {
    const m = this.ctx.messages?.[j];
    if (m === undefined) return undefined;
    if (m.role === 'assistant' && (!assistant || m.content === null || m.content === undefined)) return undefined;
    const cache = normalized ? this.norm : this.lower;
    let t = cache[j];
    if (t === undefined) {
      const content = m.content ?? '';
      t = normalized ? normalizeForGrounding(content) : content.toLowerCase();
      cache[j] = t;
    }
    return t;
  }

  /**
   * Is any of `needles` (normalized with {@link normalizeForGrounding}) in a source before
   * message `before`? `rawNeedle` (only lower-cased) is tried first in the lower-cased texts.
   * With `assistant`, earlier assistant text counts too (for computed numbers the assistant
   * told the user).
   */
  any(needles: readonly string[], before: number, assistant = false, rawNeedle?: string): boolean {
    if (rawNeedle !== undefined && rawNeedle !== '' && this.one(rawNeedle, before, assistant, false)) return true;
    for (const n of needles) if (this.one(n, before, assistant, false)) return true;
    for (const n of needles) if (this.one(n, before, assistant, true)) return true;
    return false;
  }

  private one(needle: string, before: number, assistant: boolean, normalized: boolean): boolean {
    const key = `${assistant ? 'a' : '-'}${normalized ? 'n' : 'l'}${needle}`;
    const known = this.memo.get(key);
    let start = this.hasSystem ? 1 : 0;
    if (known !== undefined) {
      if (known >= 0) return known < before;
      start = Math.max(start, -known - 1); // sources before `start` are known not to contain it
    }
    // Scan forward from the first unsearched source so the memo stays a prefix.
    for (let j = start; j < before; j++) {
      const text = this.source(j, assistant, normalized);
      if (text !== undefined && containsToken(text, needle)) {
        this.memo.set(key, j);
        return true;
      }
    }
    this.memo.set(key, -Math.max(before, start) - 1);
    if (this.hasSystem && before > 0 && !this.notInSystem.has(key)) {
      if (containsToken(this.source(0, false, normalized) ?? '', needle)) {
        this.memo.set(key, 0);
        return true;
      }
      this.notInSystem.add(key);
    }
    return false;
  }

  /**
   * Does number `num` (as {@link plain} writes it) occur in any message? Built once per
   * trajectory: a conversion whose number no message contains is skipped without a search, so
   * long tool results cost one pass, not one per candidate phrase.
   */
  numberSeen(num: string): boolean {
    if (this.numbers === undefined) {
      const seen = new Set<string>();
      const messages = this.ctx.messages ?? [];
      for (let j = 0; j < messages.length; j++) {
        for (const m of (this.source(j, true, true) ?? '').matchAll(NUMBER_TOKEN_RE)) {
          seen.add(m[0]);
          if (m[0].includes('.')) seen.add(String(Number(m[0])));
        }
      }
      this.numbers = seen;
    }
    return this.numbers.has(num);
  }

  /** Did the user mention a relative date ("tomorrow", "next Friday") before message `before`? */
  relativeDate(before: number): boolean {
    const messages = this.ctx.messages ?? [];
    for (let j = 0; j < before; j++) {
      if (messages[j]?.role !== 'user') continue;
      let r = this.relative[j];
      if (r === undefined) {
        r = RELATIVE_DATE_RE.test(this.source(j, false, true) ?? '');
        this.relative[j] = r;
      }
      if (r) return true;
    }
    return false;
  }
}

/**
 * A number is grounded when it is stated (by the user, a tool, the system prompt, or earlier
 * assistant text) or follows from a stated number by a unit conversion ("12 hours" → 720 under
 * `window_minutes`). Only a non-identifier value may be stated by the calling turn itself
 * ("12 hours is 720 minutes") or be converted; an identifier must come from an earlier user
 * message, tool result or the system prompt.
 */
function numberGrounded(n: number, forms: readonly string[], key: string | undefined, g: Grounding, before: number): boolean {
  if (isIdentifierKey(key)) return g.any(forms, before, false);
  // Amounts are often computed (a total, a split between two cards): grounded when the
  // assistant stated them to the user, before or while calling. Whether the arithmetic is right is R1.
  const through = before + 1;
  if (g.any(forms, through, true)) return true;
  for (const source of conversionSources(Math.abs(n), key)) {
    if (source.number !== undefined && !g.numberSeen(source.number)) continue;
    if (g.any(source.phrases, through, true)) return true;
  }
  return false;
}

function isGrounded(value: string | number, key: string | undefined, g: Grounding, before: number, p: ResolvedProvenance): boolean {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) <= p.smallIntMax) return true;
    return numberGrounded(value, numberForms(value), key, g, before);
  }
  const text = value.trim();
  if (text === '' || CODE_RE.test(text)) return true;
  if (NUMERIC_STRING_RE.test(text)) {
    const n = Number(text);
    if (Number.isInteger(n) && Math.abs(n) <= p.smallIntMax) return true;
    return numberGrounded(n, [text.startsWith('-') ? text.slice(1) : text, ...numberForms(n)], key, g, before);
  }
  const needle = normalizeForGrounding(text).replace(EDGE_PUNCT_RE, '');
  if (needle === '') return true;
  if (g.any([needle], before, false, text.toLowerCase().replace(EDGE_PUNCT_RE, ''))) return true;
  // Assistant text, the calling turn's included ("14 days from March 3 is March 17"), grounds
  // dates and times it works out, but never an identifier.
  const identifier = isIdentifierKey(key);
  const through = identifier ? before : before + 1;
  const assistant = !identifier;
  const date = ISO_DATE_RE.exec(text.toLowerCase());
  if (date !== null) {
    const [, y, mo, d, hh, mi] = date;
    const month = Number(mo);
    const day = Number(d);
    const dateOk =
      g.any([`${y} ${mo} ${d}`], through, assistant) || g.any(dateMentions(month, day), through, assistant) || g.relativeDate(before);
    if (!dateOk) return false;
    if (hh === undefined || mi === undefined) return true;
    const hour = Number(hh);
    const minute = Number(mi);
    return (hour === 0 && minute === 0) || g.any(timeMentions(hour, minute), through, assistant);
  }
  const time = TIME_RE.exec(text);
  if (time !== null) return g.any(timeMentions(Number(time[1]), Number(time[2])), through, assistant);
  return false;
}

function isFreeText(text: string, p: ResolvedProvenance): boolean {
  const t = text.trim();
  if (t.length > p.freeTextMinChars) return true;
  return t.split(WHITESPACE_RE).length > p.freeTextMaxWords;
}

/** `argument_provenance`: each leaf argument value is grounded (see {@link ProvenanceOptions}). */
export function checkArgumentProvenance(ctx: ValidateContext): Reason[] {
  if (ctx.messages === undefined) return [];
  const p = ctx.options.provenance;
  const g = new Grounding(ctx);
  const reasons: Reason[] = [];
  const leaves: Leaf[] = [];
  for (const c of ctx.calls) {
    if (c.args === undefined) continue;
    const parameters = ctx.toolsByName.get(c.call.function.name)?.function.parameters;
    leaves.length = 0;
    collectLeaves(c.args, '', undefined, parameters, leaves, 0);
    for (const leaf of leaves) {
      if (leaf.key !== undefined && isFreeTextKey(leaf.key, p.freeTextKeys)) continue;
      if (typeof leaf.value === 'string' && isFreeText(leaf.value, p)) continue;
      if (leaf.schema !== undefined && schemaLiterals(leaf.schema).includes(leaf.value)) continue;
      // An optional parameter left at the default its description documents.
      if (leaf.optional && isDocumentedDefault(leaf.value, leaf.schema)) continue;
      if (isGrounded(leaf.value, leaf.key, g, c.msg, p)) continue;
      reasons.push({
        check: 'argument_provenance',
        path: c.path,
        message: `argument ${leaf.path} = ${JSON.stringify(leaf.value)} of ${c.call.function.name} appears in no earlier user message, tool result or the system prompt, nor follows from one by a unit conversion`,
      });
    }
  }
  return reasons;
}

/**
 * Plain derivations the provenance check credits: a number the assistant passes that is a
 * number stated in the conversation in another unit ("the last 12 hours" → `window_minutes:
 * 720`, "15%" → `0.15`, "$12.50" → `amount_cents: 1250`, "5k" → `5000`), and the default an
 * optional parameter's description documents ("Page size; default 20").
 *
 * Each derivation yields the phrases that would ground the value (normalized as
 * `normalizeForGrounding` does); the caller looks them up in the conversation. A conversion is
 * credited only when the source number appears together with its unit, so a bare "12" never
 * grounds 720.
 */

/** Units of one dimension: size in the base unit, and the words a text writes them with. */
interface Unit {
  size: number;
  words: readonly string[];
  /** Written straight after the number ("12h", "500ms"). */
  suffixes?: readonly string[];
  /** Argument-name parts that say a value is in this unit (`window_minutes`, `timeout_ms`). */
  keys?: readonly string[];
}

const TIME: readonly Unit[] = [
  { size: 0.001, words: ['milliseconds', 'millisecond'], suffixes: ['ms'], keys: ['ms', 'millis', 'milliseconds'] },
  { size: 1, words: ['seconds', 'second', 'secs', 'sec'], suffixes: ['s'], keys: ['s', 'sec', 'secs', 'seconds'] },
  { size: 60, words: ['minutes', 'minute', 'mins', 'min'], suffixes: ['min'], keys: ['min', 'mins', 'minutes'] },
  { size: 3600, words: ['hours', 'hour', 'hrs', 'hr'], suffixes: ['h', 'hr', 'hrs'], keys: ['h', 'hr', 'hrs', 'hours'] },
  { size: 86_400, words: ['days', 'day'], suffixes: ['d'], keys: ['days', 'day'] },
  { size: 604_800, words: ['weeks', 'week', 'wks'], suffixes: ['w', 'wk'], keys: ['weeks', 'week'] },
];
const LENGTH: readonly Unit[] = [
  { size: 0.001, words: ['millimeters', 'millimetres', 'millimeter', 'millimetre'], suffixes: ['mm'], keys: ['mm'] },
  { size: 0.01, words: ['centimeters', 'centimetres', 'centimeter', 'centimetre'], suffixes: ['cm'], keys: ['cm'] },
  { size: 1, words: ['meters', 'metres', 'meter', 'metre'], suffixes: ['m'], keys: ['m', 'meters', 'metres'] },
  { size: 1000, words: ['kilometers', 'kilometres', 'kilometer', 'kilometre'], suffixes: ['km'], keys: ['km'] },
];
const MASS: readonly Unit[] = [
  { size: 1, words: ['grams', 'gram'], suffixes: ['g'], keys: ['g', 'grams'] },
  { size: 1000, words: ['kilograms', 'kilogram', 'kilos', 'kilo'], suffixes: ['kg'], keys: ['kg'] },
];
const DATA: readonly Unit[] = [
  { size: 1, words: ['bytes', 'byte'], suffixes: ['b'], keys: ['bytes'] },
  { size: 1024, words: ['kilobytes', 'kibibytes'], suffixes: ['kb', 'kib'], keys: ['kb', 'kib'] },
  { size: 1024 ** 2, words: ['megabytes', 'mebibytes'], suffixes: ['mb', 'mib'], keys: ['mb', 'mib'] },
  { size: 1024 ** 3, words: ['gigabytes', 'gibibytes'], suffixes: ['gb', 'gib'], keys: ['gb', 'gib'] },
  { size: 1024 ** 4, words: ['terabytes', 'tebibytes'], suffixes: ['tb', 'tib'], keys: ['tb', 'tib'] },
];
// Storage vendors count in thousands: "2 GB" is 2,000,000,000 bytes as often as 2^31.
const DATA_DECIMAL: readonly Unit[] = DATA.map((u, i) => ({ ...u, size: 1000 ** i }));
const DIMENSIONS: readonly (readonly Unit[])[] = [TIME, LENGTH, MASS, DATA, DATA_DECIMAL];

const NUMBER_WORDS: Readonly<Record<number, readonly string[]>> = {
  0.5: ['half a', 'half an'],
  1: ['one'],
  2: ['two', 'a couple of'],
  3: ['three'],
  4: ['four'],
  5: ['five'],
  6: ['six'],
  7: ['seven'],
  8: ['eight'],
  9: ['nine'],
  10: ['ten'],
  11: ['eleven'],
  12: ['twelve'],
  15: ['fifteen'],
  20: ['twenty'],
  24: ['twenty four'],
  30: ['thirty'],
  45: ['forty five'],
  48: ['forty eight'],
  60: ['sixty'],
  72: ['seventy two'],
  90: ['ninety'],
};
// "the last hour", "a day": one, but only straight before a time unit ("at the last minute"
// under `amount` or "a 3d printer" must not ground 60 or 72).
const TIME_ONE_WORDS: readonly string[] = ['a', 'an', 'last', 'past', 'next', 'previous'];

const KEY_SPLIT_RE = /[_\-\s]+/;
const CAMEL_RE = /([a-z0-9])([A-Z])/g;

/** A number as a text would write it: at most two decimals, no trailing zeros. */
function plain(n: number): string | undefined {
  const rounded = Math.round(n * 100) / 100;
  if (!(n > 0) || Math.abs(rounded - n) > 1e-9 * Math.max(1, n)) return undefined;
  return String(rounded);
}

/** Lower-case words of an argument name: `windowMinutes` → ["window", "minutes"]. */
export function keyParts(key: string | undefined): string[] {
  return key === undefined ? [] : key.replace(CAMEL_RE, '$1_$2').toLowerCase().split(KEY_SPLIT_RE);
}

/**
 * Phrases that would ground one derived value, grouped by the number they contain so the
 * caller can skip the group when that number occurs in no message (`number` undefined: the
 * phrases spell the number in words, "twelve hours").
 */
export interface ConversionSource {
  number: string | undefined;
  phrases: string[];
}

/**
 * Phrases that state `n` of `unit`: "12 hours", "12-hour" (normalized "12 hour"), "12h",
 * "twelve hours". A one-letter suffix ("5m", "3d") counts only attached to the number.
 */
function statements(n: number, unit: Unit, time: boolean): ConversionSource[] {
  const text = plain(n);
  if (text === undefined) return [];
  const digits: string[] = [];
  const words: string[] = [];
  for (const w of unit.words) {
    digits.push(`${text} ${w}`);
    for (const word of NUMBER_WORDS[n] ?? []) words.push(`${word} ${w}`);
    if (time && n === 1) for (const word of TIME_ONE_WORDS) words.push(`${word} ${w}`);
  }
  for (const s of unit.suffixes ?? []) {
    digits.push(`${text}${s}`);
    if (s.length > 1) digits.push(`${text} ${s}`);
  }
  return words.length > 0 ? [{ number: text, phrases: digits }, { number: undefined, phrases: words }] : [{ number: text, phrases: digits }];
}

// Argument-name words saying a value is a fraction or a percentage ("15%" → `rate: 0.15`).
const FRACTION_KEYS: ReadonlySet<string> = new Set(['ratio', 'fraction', 'rate', 'share', 'proportion', 'percent', 'pct', 'percentage']);
const PERCENT_KEYS: ReadonlySet<string> = new Set(['percent', 'pct', 'percentage']);
const MINOR_CURRENCY_KEYS: ReadonlySet<string> = new Set(['cents', 'cent', 'minor', 'pence']);

/**
 * Phrases from which `value` (a number passed under argument `key`) follows by a unit
 * conversion. A conversion counts only when the argument's name says its unit
 * (`window_minutes`, `timeout_ms`, `size_mb`, `rate`, `amount_cents`): a bare `count` or
 * `amount` is no unit, so "5m users" never grounds `count: 5000` nor "1 m wide" `amount: 100`.
 * Scale words ("5k" → 5000) are not units and count under any name.
 */
export function conversionSources(value: number, key: string | undefined): ConversionSource[] {
  if (!Number.isFinite(value) || value <= 0) return [];
  const parts = keyParts(key);
  const out: ConversionSource[] = [];
  for (const units of DIMENSIONS) {
    const named = units.filter((u) => u.keys?.some((k) => parts.includes(k)));
    for (const target of named) {
      for (const source of units) {
        if (source === target) continue;
        out.push(...statements((value * target.size) / source.size, source, units === TIME));
      }
    }
  }
  // Percent ↔ fraction: "15%" → 0.15 under a fraction-named argument; "0.15" → 15 under a percent-named one.
  if (value < 1 && parts.some((p) => FRACTION_KEYS.has(p))) {
    const pct = plain(value * 100);
    if (pct !== undefined) out.push({ number: pct, phrases: [`${pct}%`, `${pct} %`, `${pct} percent`, `${pct} per cent`] });
  }
  if (parts.some((p) => PERCENT_KEYS.has(p))) {
    const fraction = plain(value / 100);
    if (fraction !== undefined) out.push({ number: fraction, phrases: [fraction] });
  }
  // Minor currency units: "$12.50" → amount_cents 1250.
  if (parts.some((p) => MINOR_CURRENCY_KEYS.has(p))) {
    const major = value / 100;
    const fixed = major.toFixed(2);
    out.push({ number: plain(major) ?? fixed, phrases: [fixed, ...(Number.isInteger(major) ? [String(major)] : [])] });
  }
  // Scale words: "5k" → 5000, "2.5 million" → 2500000.
  for (const [size, words] of [
    [1000, ['k', ' thousand']],
    [1_000_000, [' million', 'm', ' mn']],
    [1_000_000_000, [' billion', 'bn', ' bn']],
  ] as const) {
    const n = plain(value / size);
    if (n !== undefined && value >= size) out.push({ number: n, phrases: words.map((w) => `${n}${w}`) });
  }
  return out;
}

// "default 20", "defaults to 'asc'", "(default: 7 days)", "default is desc", "default value: 50".
// Linear: no two adjacent quantifiers can both take the same whitespace run.
const DEFAULT_RE = /\b(no\s+|without\s+(?:a\s+)?)?defaults?(?:\s+value)?(?:\s+(?:to|is|of)\b)?[\s:=]*(["'`“])?([^\s"'`”,;()]+)/gi;
const VALUE_LIKE_RE = /^-?\d+(?:\.\d+)?$|^(?:true|false)$/i;
/** Only the head of a description is read: defaults are stated early, and it bounds the work. */
const DESCRIPTION_MAX_CHARS = 2000;

function enumOf(schema: Record<string, unknown>): unknown[] {
  return Array.isArray(schema['enum']) ? (schema['enum'] as unknown[]) : [];
}

/**
 * The default a parameter description documents ("Page size; default 20" → "20"), if any:
 * a number, true/false, a quoted value or one of the parameter's enum values. "No default"
 * and "without defaults" document none.
 */
export function documentedDefault(schema: unknown): string | undefined {
  if (schema === null || typeof schema !== 'object') return undefined;
  const s = schema as Record<string, unknown>;
  const description = s['description'];
  if (typeof description !== 'string') return undefined;
  const head = description.slice(0, DESCRIPTION_MAX_CHARS);
  const enumValues = enumOf(s).map((v) => String(v).toLowerCase());
  for (const m of head.matchAll(DEFAULT_RE)) {
    if (m[1] !== undefined) continue;
    const raw = m[3]?.replace(/\.$/, '');
    if (raw === undefined || raw === '') continue;
    if (m[2] !== undefined || VALUE_LIKE_RE.test(raw) || enumValues.includes(raw.toLowerCase())) return raw;
  }
  return undefined;
}
/** Whether `value` is the documented default of an optional parameter with schema `schema`. */
export function isDocumentedDefault(value: string | number, schema: unknown): boolean {
  const documented = documentedDefault(schema);
  if (documented === undefined) return false;
  if (typeof value === 'number') return Number(documented) === value;
  return documented.toLowerCase() === value.trim().toLowerCase();
}

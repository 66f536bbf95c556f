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
  // "the last hour" is one hour.
  1: ['one', 'a', 'an', 'last', 'past', 'next', 'previous'],
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

const KEY_SPLIT_RE = /[_\-\s]+/;
const CAMEL_RE = /([a-z0-9])([A-Z])/g;

/** A number as a text would write it: at most two decimals, no trailing zeros. */
function plain(n: number): string | undefined {
  const rounded = Math.round(n * 100) / 100;
  if (!(n > 0) || Math.abs(rounded - n) > 1e-9 * Math.max(1, n)) return undefined;
  return String(rounded);
}

function keyParts(key: string | undefined): string[] {
  return key === undefined ? [] : key.replace(CAMEL_RE, '$1_$2').toLowerCase().split(KEY_SPLIT_RE);
}

/** Phrases that state `n` of `unit`: "12 hours", "12-hour" (normalized "12 hour"), "12h", "twelve hours". */
function statements(n: number, unit: Unit): string[] {
  const text = plain(n);
  if (text === undefined) return [];
  const out: string[] = [];
  for (const w of unit.words) {
    out.push(`${text} ${w}`);
    for (const word of NUMBER_WORDS[n] ?? []) out.push(`${word} ${w}`);
  }
  for (const s of unit.suffixes ?? []) out.push(`${text}${s}`, `${text} ${s}`);
  return out;
}

/**
 * Phrases from which `value` (a number passed under argument `key`) follows by a unit
 * conversion. When the argument's name says its unit (`window_minutes`), only conversions
 * into that unit count.
 */
export function conversionSources(value: number, key: string | undefined): string[] {
  if (!Number.isFinite(value) || value <= 0) return [];
  const parts = keyParts(key);
  const out: string[] = [];
  for (const units of DIMENSIONS) {
    const named = units.filter((u) => u.keys?.some((k) => parts.includes(k)));
    for (const target of named.length > 0 ? named : units) {
      for (const source of units) {
        if (source === target) continue;
        out.push(...statements((value * target.size) / source.size, source));
      }
    }
  }
  // Percent ↔ fraction: "15%" → 0.15; "0.15" → 15 under a percent-named argument.
  if (value < 1) {
    const pct = plain(value * 100);
    if (pct !== undefined) out.push(`${pct}%`, `${pct} %`, `${pct} percent`, `${pct} per cent`);
  }
  if (parts.some((p) => p === 'percent' || p === 'pct' || p === 'percentage')) {
    const fraction = plain(value / 100);
    if (fraction !== undefined) out.push(fraction);
  }
  // Minor currency units: "$12.50" → amount_cents 1250.
  if (parts.some((p) => p === 'cents' || p === 'cent' || p === 'minor' || p === 'pence')) {
    const major = value / 100;
    out.push(major.toFixed(2), ...(Number.isInteger(major) ? [String(major)] : []));
  }
  // Scale words: "5k" → 5000, "2.5 million" → 2500000.
  for (const [size, words] of [
    [1000, ['k', ' thousand']],
    [1_000_000, [' million', 'm', ' mn']],
    [1_000_000_000, [' billion', 'bn', ' bn']],
  ] as const) {
    const n = plain(value / size);
    if (n !== undefined && value >= size) for (const w of words) out.push(`${n}${w}`);
  }
  return out;
}

// "default 20", "defaults to 'asc'", "(default: 7 days)", "default is desc", "default value: 50".
const DEFAULT_RE = /\bdefaults?(?:\s+value)?(?:\s+(?:to|is|of))?\s*[:=]?\s*["'`“]?([^\s"'`”,;()]+)/i;

/** The default a parameter description documents ("Page size; default 20" → "20"), if any. */
export function documentedDefault(schema: unknown): string | undefined {
  if (schema === null || typeof schema !== 'object') return undefined;
  const description = (schema as Record<string, unknown>)['description'];
  if (typeof description !== 'string') return undefined;
  const m = DEFAULT_RE.exec(description);
  const raw = m?.[1]?.replace(/\.$/, '');
  return raw === undefined || raw === '' ? undefined : raw;
}

/** Whether `value` is the documented default of an optional parameter with schema `schema`. */
export function isDocumentedDefault(value: string | number, schema: unknown): boolean {
  const documented = documentedDefault(schema);
  if (documented === undefined) return false;
  if (typeof value === 'number') return Number(documented) === value;
  return documented.toLowerCase() === value.trim().toLowerCase();
}

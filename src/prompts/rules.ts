/**
 * Domain rules as the generator receives them (prompt set v2): the segment's global rules and
 * the workflow's own, each once. Extraction states many rules twice (globally and for the
 * workflow, in slightly different words); the generator was asked to restate every one.
 */

/** Word sets at least this similar (Jaccard) are the same rule said twice. */
const NEAR_DUPLICATE = 0.75;

function words(rule: string): Set<string> {
  return new Set(
    rule
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s]/gu, ' ')
      .split(/\s+/)
      .filter((w) => w.length > 0),
  );
}

/** Numbers carry the rule (14 days, not 30): rules that state different ones never merge. */
function sameNumbers(a: Set<string>, b: Set<string>): boolean {
  const numbers = (s: Set<string>) => [...s].filter((w) => /\d/.test(w)).sort().join(' ');
  return numbers(a) === numbers(b);
}

function similarity(a: Set<string>, b: Set<string>): number {
  if (!sameNumbers(a, b)) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

/**
 * The rules in their first order with repeats removed: exact repeats up to case, spacing and
 * punctuation, and near-repeats (the same words but for a few). Of two near-repeats the
 * longer wording is kept, in the place of the first, since it usually carries the specifics.
 */
export function dedupeRules(rules: readonly string[]): string[] {
  const kept: Array<{ text: string; words: Set<string> }> = [];
  for (const raw of rules) {
    const text = raw.trim();
    if (text === '') continue;
    const w = words(text);
    const same = kept.find((k) => similarity(k.words, w) >= NEAR_DUPLICATE);
    if (same === undefined) kept.push({ text, words: w });
    else if (text.length > same.text.length) {
      same.text = text;
      same.words = w;
    }
  }
  return kept.map((k) => k.text);
}

/**
 * Is a document of unknown markup HTML? Only when that is clear: markdown and plain text are
 * read as text, and reading them as HTML deletes every `<word>` in them (placeholders,
 * generics). The rule, for text whose kind nothing declared (a JSONL or Parquet text field
 * without a `format`/`mime` field, a pipe, a file without an extension):
 *
 * - HTML when it starts (after spaces) with `<!doctype html`, `<html`, `<head` or `<body`;
 * - else HTML when, in its first {@link SNIFF_CHARS} characters, there are at least 4 opening
 *   and 4 closing known block tags (`p`, `div`, `li`, `ul`, `ol`, `table`, `tr`, `td`, `th`,
 *   `h1`–`h6`, `blockquote`, `pre`, `section`, `article`; `<br>` counts as both), at least one
 *   such tag per 1000 characters, no markdown heading line and no code fence line;
 * - else markdown (plain text is valid markdown).
 */

/** Characters of the start of a document the sniff looks at. */
export const SNIFF_CHARS = 20_000;

const DECLARED = /^\s*(?:<!doctype\s+html\b|<html\b|<head\b|<body\b)/i;
const BLOCK_TAG = /<(\/?)(?:p|div|li|ul|ol|table|tr|td|th|h[1-6]|blockquote|pre|section|article|(br))\b[^<>]*>/gi;
const MARKDOWN_SIGN = /^ {0,3}(?:#{1,6}[ \t]|```|~~~)/m;

export function looksLikeHtml(text: string): boolean {
  if (DECLARED.test(text)) return true;
  const sample = text.length > SNIFF_CHARS ? text.slice(0, SNIFF_CHARS) : text;
  if (sample.indexOf('</') === -1) return false;
  let open = 0;
  let close = 0;
  BLOCK_TAG.lastIndex = 0;
  for (let m = BLOCK_TAG.exec(sample); m !== null; m = BLOCK_TAG.exec(sample)) {
    if (m[2] !== undefined) {
      open++;
      close++;
    } else if (m[1] === '/') close++;
    else open++;
  }
  if (open < 4 || close < 4 || open + close < sample.length / 1000) return false;
  return !MARKDOWN_SIGN.test(sample);
}

/**
 * Segmenter: cuts a document into passages the filter and the extractor can handle.
 *
 * The document is first turned into a flat list of "pieces" (a line of markdown, a block of
 * HTML text, a sentence of an over-long line), each carrying its offsets in the original text,
 * its reduced text (markup stripped, list markers kept) and the *cost* of breaking a segment
 * just before it. A greedy packer then fills segments up to `maxChars` and, when one would
 * overflow, cuts at the cheapest break in it: between blocks before between list items,
 * between list items before inside a paragraph line. So a list of steps stays whole whenever
 * it fits, and a list longer than `maxChars` is cut between items. Headings are the preferred
 * cut, but sections are packed together up to `maxChars`: a rules section stays with the steps
 * it governs, which is what extraction needs. Everything is deterministic.
 *
 * Parts (src/stages/segment/): piece.ts (pieces, break costs, long-line splitting),
 * markdown.ts and html.ts (the readers), inline-html.ts (HTML inside markdown), detect.ts
 * (is an undeclared text HTML?), pack.ts (the packer), entities.ts.
 */
import { CONFIG_DEFAULTS } from '../config.js';
import type { Document, SegmentDraft } from '../records.js';
import { looksLikeHtml } from './segment/detect.js';
import { htmlPieces } from './segment/html.js';
import { markdownPieces } from './segment/markdown.js';
import { finishPieces, joinPieces, pack } from './segment/pack.js';
import type { Piece } from './segment/piece.js';

export type SegmentFormat = 'auto' | 'markdown' | 'html';

export interface SegmentOptions {
  /**
   * Upper bound on the length of a segment's reduced text, in UTF-16 characters.
   * Minimum 200. @default 6000
   */
  maxChars?: number | undefined;
  /**
   * Segments shorter than this (UTF-16 characters) are avoided: a cut that would leave a
   * first part this short is taken last, and a tiny trailing piece is merged into the
   * previous segment when the result still fits `maxChars`. Minimum 0; must be below
   * `maxChars`. @default 200
   */
  minChars?: number | undefined;
  /**
   * Markup of the document. `auto` follows the document's declared `markup` (its file type or
   * a `format`/`mime` field) and otherwise reads it as markdown unless it is clearly HTML: it
   * starts with `<!doctype html>`, `<html>`, `<head>` or `<body>`, or holds many known block
   * tags with their closers and no markdown heading or code fence (the rule: segment/detect.ts).
   * Plain text is valid markdown. `markdown` and `html` override the declared markup.
   * @default 'auto'
   */
  format?: SegmentFormat | undefined;
}

/** Default of {@link SegmentOptions.maxChars}: config `segment.max_chars`. */
export const DEFAULT_MAX_CHARS = CONFIG_DEFAULTS.segment.max_chars;
/** Default of {@link SegmentOptions.minChars}: config `segment.min_chars`. */
export const DEFAULT_MIN_CHARS = CONFIG_DEFAULTS.segment.min_chars;

/** Cuts `doc` into segments. Pure and deterministic: same text and options, same segments. */
export function segmentDocument(doc: Pick<Document, 'id' | 'text' | 'markup'>, options: SegmentOptions = {}): SegmentDraft[] {
  const maxChars = Math.max(200, Math.floor(options.maxChars ?? DEFAULT_MAX_CHARS));
  const minChars = Math.min(
    Math.max(0, Math.floor(options.minChars ?? DEFAULT_MIN_CHARS)),
    Math.floor(maxChars / 2),
  );
  const html = isHtml(doc.text, options.format, doc.markup);
  const raw = html ? htmlPieces(doc.text, maxChars) : markdownPieces(doc.text, maxChars);
  const pieces = finishPieces(raw);
  const groups = pack(pieces, maxChars, minChars);
  return groups.map((group, index) => {
    const first = group[0] as Piece;
    const last = group[group.length - 1] as Piece;
    const segment: SegmentDraft = {
      id: `${doc.id}#${index}`,
      doc_id: doc.id,
      index,
      text: joinPieces(group),
      start: first.start,
      end: last.end,
    };
    if (first.heading !== undefined) segment.heading = first.heading;
    return segment;
  });
}

/** Reduces markdown or HTML to plain text (the segments' text, without cutting). */
export function reduceMarkup(text: string, format: SegmentFormat = 'auto'): string {
  const html = isHtml(text, format, undefined);
  const pieces = finishPieces(html ? htmlPieces(text, Infinity) : markdownPieces(text, Infinity));
  return joinPieces(pieces);
}

/** The format option first, then the document's declared markup, then the sniff. */
function isHtml(text: string, format: SegmentFormat | undefined, markup: Document['markup']): boolean {
  const chosen = format === undefined || format === 'auto' ? markup : format;
  return chosen === undefined ? looksLikeHtml(text) : chosen === 'html';
}

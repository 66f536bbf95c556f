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
 */
import type { Document, SegmentDraft } from '../records.js';

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
   * Markup of the document. `auto` treats text that starts with an HTML tag, or that holds
   * many block-level tags and no markdown headings, as HTML, and anything else as markdown
   * (plain text is valid markdown). @default 'auto'
   */
  format?: SegmentFormat | undefined;
}

/** Default of {@link SegmentOptions.maxChars}. */
export const DEFAULT_MAX_CHARS = 6000;
/** Default of {@link SegmentOptions.minChars}. */
export const DEFAULT_MIN_CHARS = 200;

// Break costs (lower = better place to end a segment). Chosen so that the packer prefers, in
// order: a heading, a blank-line block boundary, the gap between a lead-in "...:" and its list,
// the gap after a heading, gaps between list items, line breaks, sentence ends, spaces.
const COST_HEADING = 0;
const COST_BLOCK = 1;
const COST_LEAD_IN = 4;
const COST_AFTER_HEADING = 5;
const COST_LIST_ITEM = 6;
const COST_NESTED_ITEM = 6.5;
const COST_LINE_AFTER_SENTENCE = 6.8;
const COST_LINE = 7;
const COST_SENTENCE = 8;
const COST_SPACE = 9;
const COST_HARD = 10;

interface Piece {
  /** Original offsets [start, end), whitespace-trimmed. */
  start: number;
  end: number;
  /** Reduced text (never empty). */
  text: string;
  /** Separator placed before this piece when it follows another in a segment. */
  sep: string;
  /** Cost of a segment break just before this piece. */
  cost: number;
  isHeading: boolean;
  /** Nearest heading at or before the piece. */
  heading: string | undefined;
  /** True for the first piece of a list or code block (a lead-in "...:" may precede it). */
  leadIn?: boolean;
  /** True when a break before this piece would cut a list (items after the first, their lines). */
  inList?: boolean;
}

/** Cuts `doc` into segments. Pure and deterministic: same text and options, same segments. */
export function segmentDocument(doc: Pick<Document, 'id' | 'text'>, options: SegmentOptions = {}): SegmentDraft[] {
  const maxChars = Math.max(200, Math.floor(options.maxChars ?? DEFAULT_MAX_CHARS));
  const minChars = Math.min(
    Math.max(0, Math.floor(options.minChars ?? DEFAULT_MIN_CHARS)),
    Math.floor(maxChars / 2),
  );
  const format = options.format ?? 'auto';
  const html = format === 'html' || (format === 'auto' && looksLikeHtml(doc.text));
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
  const html = format === 'html' || (format === 'auto' && looksLikeHtml(text));
  const pieces = finishPieces(html ? htmlPieces(text, Infinity) : markdownPieces(text, Infinity));
  return joinPieces(pieces);
}

// ---------------------------------------------------------------------------------------------
// Packing

function joinPieces(group: readonly Piece[]): string {
  let out = '';
  for (let i = 0; i < group.length; i++) {
    const piece = group[i] as Piece;
    out += i === 0 ? piece.text : piece.sep + piece.text;
  }
  return out;
}

function pack(pieces: readonly Piece[], maxChars: number, minChars: number): Piece[][] {
  const segments: Piece[][] = [];
  let cur: Piece[] = [];
  let curLen = 0;
  const lengthOf = (group: readonly Piece[]): number => {
    let n = 0;
    for (let i = 0; i < group.length; i++) {
      const p = group[i] as Piece;
      n += p.text.length + (i === 0 ? 0 : p.sep.length);
    }
    return n;
  };
  for (const piece of pieces) {
    while (cur.length > 0 && curLen + piece.sep.length + piece.text.length > maxChars) {
      const k = bestCut(cur, piece, minChars);
      segments.push(cur.slice(0, k));
      cur = cur.slice(k);
      curLen = lengthOf(cur);
    }
    curLen += cur.length === 0 ? piece.text.length : piece.sep.length + piece.text.length;
    cur.push(piece);
  }
  if (cur.length > 0) segments.push(cur);
  // A tiny tail reads better as the end of the previous segment, when it fits.
  if (segments.length >= 2) {
    const last = segments[segments.length - 1] as Piece[];
    const prev = segments[segments.length - 2] as Piece[];
    const lastLen = lengthOf(last);
    if (lastLen < minChars) {
      const merged = prev.concat(last);
      if (lengthOf(merged) <= maxChars) segments.splice(segments.length - 2, 2, merged);
    }
  }
  return segments;
}

/**
 * Where to end the current segment `cur` (about to overflow with `next`): the index k of the
 * first piece of the remainder (1..cur.length; cur.length = break before `next`). A cut inside
 * a list is taken only when there is no other; then cuts leaving a first part under
 * `minChars` are avoided; then the cheapest wins, the latest among equals.
 */
function bestCut(cur: readonly Piece[], next: Piece, minChars: number): number {
  // Ranked by: not inside a list, first part at least minChars, cheapest, latest.
  let best = cur.length;
  let bestKey: [number, number, number] = [Infinity, Infinity, Infinity];
  let prefix = (cur[0] as Piece).text.length;
  for (let k = 1; k <= cur.length; k++) {
    const after = k === cur.length ? next : (cur[k] as Piece);
    const key: [number, number, number] = [after.inList === true ? 1 : 0, prefix >= minChars ? 0 : 1, after.cost];
    if (key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] <= bestKey[2])))) {
      best = k;
      bestKey = key;
    }
    if (k < cur.length) prefix += after.sep.length + after.text.length;
  }
  return best;
}

/** Applies the cost rules that depend on neighbours, and the nearest-heading propagation. */
function finishPieces(pieces: Piece[]): Piece[] {
  let heading: string | undefined;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as Piece;
    const prev = i > 0 ? pieces[i - 1] : undefined;
    if (piece.isHeading) {
      heading = piece.text;
      piece.cost = COST_HEADING;
    }
    if (prev !== undefined) {
      if (prev.isHeading) piece.cost = Math.max(piece.cost, COST_AFTER_HEADING);
      else if (piece.cost === COST_BLOCK && piece.leadIn === true && /:\s*$/.test(prev.text)) {
        // "Do the following:" belongs with the list or code that follows it.
        piece.cost = COST_LEAD_IN;
      }
    }
    piece.heading = heading;
  }
  return pieces;
}

// ---------------------------------------------------------------------------------------------
// Long lines: split at sentence ends, then spaces, then anywhere.

/**
 * Pushes the original range [start, end) as one piece, or as several when it is longer than
 * `maxChars`; `reduce` turns an original substring into reduced text.
 */
function pushRange(
  out: Piece[],
  text: string,
  start: number,
  end: number,
  sep: string,
  cost: number,
  isHeading: boolean,
  maxChars: number,
  reduce: (s: string) => string,
  leadIn = false,
): void {
  // Trim whitespace so offsets point at content.
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  if (start >= end) return;
  if (end - start <= maxChars) {
    const reduced = reduce(text.slice(start, end));
    if (reduced.trim() === '') return;
    out.push({ start, end, text: reduced, sep, cost, isHeading, heading: undefined, leadIn });
    return;
  }
  // Over-long: greedy chunks ending at the last sentence end, else space, else hard cut.
  let pos = start;
  let first = true;
  let chunkCost = cost;
  while (pos < end) {
    let stop = Math.min(end, pos + maxChars);
    let nextCost = COST_HARD;
    if (stop < end) {
      const window = text.slice(pos, stop);
      const sentence = lastSentenceEnd(window);
      if (sentence > maxChars / 4) {
        stop = pos + sentence;
        nextCost = COST_SENTENCE;
      } else {
        const space = window.lastIndexOf(' ');
        if (space > maxChars / 4) {
          stop = pos + space;
          nextCost = COST_SPACE;
        }
      }
    }
    const before = out.length;
    pushRange(out, text, pos, stop, first ? sep : ' ', chunkCost, isHeading, maxChars, reduce, first && leadIn);
    if (out.length > before) first = false;
    chunkCost = nextCost;
    pos = stop;
  }
}

const SENTENCE_END = /[.!?][)"'”’\]]*\s+/g;

/** Index just past the last sentence end (punctuation + spaces) in `s`, or -1. */
function lastSentenceEnd(s: string): number {
  let last = -1;
  SENTENCE_END.lastIndex = 0;
  for (let m = SENTENCE_END.exec(s); m !== null; m = SENTENCE_END.exec(s)) {
    const at = m.index + m[0].length;
    // Not inside an HTML tag (an attribute value may hold a full stop).
    const lt = s.lastIndexOf('<', m.index);
    if (lt !== -1 && s.lastIndexOf('>', m.index) < lt) continue;
    last = at;
  }
  return last;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12 || code === 0xa0;
}

// ---------------------------------------------------------------------------------------------
// Markdown (and plain text, and reStructuredText headings)

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const UNDERLINE = /^ {0,3}([=\-~^*+#"'`_:.])\1{2,}[ \t]*$/;
const FENCE = /^([ \t]*)(`{3,}|~{3,})/;
const LIST_ITEM = /^([ \t]*)(?:[-*+•]|\d{1,3}[.)]|[a-z][.)]|#\.|[Ss]tep\s+\d{1,3}[a-z]?[:.)])(?:[ \t]+|$)/;
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:[ \t]+\S+/;
const SENTENCE_FINAL = /[.!?:;]["')\]”’*_]*$/;

function markdownPieces(text: string, maxChars: number): Piece[] {
  const out: Piece[] = [];
  let fence: string | null = null;
  let fenceInList = false;
  let firstCode = false;
  let blankBefore = true;
  let inList = false;
  let listIndent = 0;
  /** Kind of the last non-blank content line. */
  let prevKind: 'none' | 'para' | 'item' | 'code' | 'heading' = 'none';
  /** The paragraph that just ended is a single line (a candidate setext/RST title). */
  let paraLines = 0;
  let pos = 0;
  const n = text.length;
  while (pos <= n) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1) eol = n;
    const lineStart = pos;
    let lineEnd = eol;
    if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    pos = eol + 1;
    const line = text.slice(lineStart, lineEnd);

    if (fence !== null) {
      const close = FENCE.exec(line);
      if (close !== null && (close[2] as string).startsWith(fence) && line.trim() === close[2]) {
        fence = null;
        blankBefore = false;
        continue;
      }
      if (line.trim() === '') continue;
      const cost = firstCode ? (fenceInList ? COST_LINE : COST_BLOCK) : COST_LINE;
      // Code keeps its indentation and characters: no inline reduction.
      const before = out.length;
      pushCodeLine(out, text, lineStart, lineEnd, firstCode && !fenceInList ? '\n\n' : '\n', cost, maxChars, firstCode);
      if (fenceInList) markInList(out, before);
      firstCode = false;
      prevKind = 'code';
      continue;
    }
    if (line.trim() === '') {
      blankBefore = true;
      if (pos > n) break;
      continue;
    }
    const fenceOpen = FENCE.exec(line);
    if (fenceOpen !== null) {
      fence = fenceOpen[2] as string;
      fenceInList = inList && (fenceOpen[1] as string).length > 0;
      if (!fenceInList) inList = false;
      firstCode = true;
      blankBefore = false;
      continue;
    }
    if (UNDERLINE.test(line)) {
      const prev = out[out.length - 1];
      if (!blankBefore && prevKind === 'para' && paraLines === 1 && prev !== undefined) {
        // Setext / RST title: the single line above is a heading.
        prev.isHeading = true;
        prevKind = 'heading';
      }
      // Otherwise a thematic break or an RST overline: a block boundary.
      blankBefore = true;
      inList = false;
      continue;
    }
    const atx = ATX_HEADING.exec(line);
    if (atx !== null) {
      const title = atx[2] ?? '';
      const offset = title === '' ? lineEnd : lineStart + line.indexOf(title, (atx[1] as string).length);
      pushRange(out, text, offset, offset + title.length, '\n\n', COST_HEADING, true, maxChars, reduceInlineMarkdown);
      inList = false;
      prevKind = 'heading';
      blankBefore = false;
      paraLines = 0;
      continue;
    }
    if (LINK_DEFINITION.test(line)) {
      blankBefore = false;
      continue;
    }
    const item = LIST_ITEM.exec(line);
    const indent = indentWidth(line);
    const sep = blankBefore || prevKind === 'heading' ? '\n\n' : '\n';
    // A wrapped paragraph line that happens to start with "a) " or "step 2:" is not a list.
    const lazyLetter =
      item !== null && prevKind === 'para' && !blankBefore && !inList && /^[a-z]/.test(line.trimStart()) &&
      !/:\s*$/.test(out[out.length - 1]?.text ?? '');
    if (item !== null && !lazyLetter) {
      let cost: number;
      let leadIn = false;
      if (inList) {
        cost = indent <= listIndent + 1 ? COST_LIST_ITEM : COST_NESTED_ITEM;
      } else {
        inList = true;
        listIndent = indent;
        cost = COST_BLOCK;
        leadIn = true;
      }
      const before = out.length;
      pushRange(out, text, lineStart, lineEnd, inList && !leadIn ? '\n' : sep, cost, false, maxChars, reduceInlineMarkdown, leadIn);
      // Nesting is signal (sub-steps): keep the item's indentation in the reduced text.
      const pushed = out[before];
      if (pushed !== undefined && indent > 0) pushed.text = ' '.repeat(Math.min(indent, 12)) + pushed.text;
      if (!leadIn) markInList(out, before);
      prevKind = 'item';
      paraLines = 0;
      blankBefore = false;
      continue;
    }
    // Paragraph text, or the continuation of a list item.
    const prevText = out[out.length - 1]?.text ?? '';
    const lineCost = SENTENCE_FINAL.test(prevText) ? COST_LINE_AFTER_SENTENCE : COST_LINE;
    if (inList && (!blankBefore || indent >= 2)) {
      const before = out.length;
      pushRange(out, text, lineStart, lineEnd, '\n', lineCost, false, maxChars, reduceInlineMarkdown);
      markInList(out, before);
      prevKind = 'item';
    } else {
      inList = false;
      const newPara = blankBefore || prevKind !== 'para';
      pushRange(out, text, lineStart, lineEnd, newPara ? sep : '\n', newPara ? COST_BLOCK : lineCost, false, maxChars, reduceInlineMarkdown);
      paraLines = newPara ? 1 : paraLines + 1;
      prevKind = 'para';
    }
    blankBefore = false;
  }
  return out;
}

function markInList(out: Piece[], from: number): void {
  for (let k = from; k < out.length; k++) (out[k] as Piece).inList = true;
}

function pushCodeLine(
  out: Piece[],
  text: string,
  start: number,
  end: number,
  sep: string,
  cost: number,
  maxChars: number,
  leadIn: boolean,
): void {
  // Keep the indentation of code in the reduced text: trim only the right side for offsets.
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  let s = start;
  while (s < end && isSpace(text.charCodeAt(s))) s++;
  if (s >= end) return;
  if (end - start <= maxChars) {
    out.push({ start: s, end, text: text.slice(start, end), sep, cost, isHeading: false, heading: undefined, leadIn });
    return;
  }
  pushRange(out, text, s, end, sep, cost, false, maxChars, (x) => x, leadIn);
}

function indentWidth(line: string): number {
  let w = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32) w += 1;
    else if (c === 9) w += 4;
    else break;
  }
  return w;
}

const CODE_SPAN = /(`+)([\s\S]*?[^`])\1(?!`)/g;

/**
 * Strips inline markdown from one line: links and images keep their text, emphasis and code
 * span markers go, inline HTML tags go, entities are decoded. Leading list markers and
 * indentation stay (they are not touched by any rule here).
 */
export function reduceInlineMarkdown(line: string): string {
  let out = '';
  let last = 0;
  CODE_SPAN.lastIndex = 0;
  for (let m = CODE_SPAN.exec(line); m !== null; m = CODE_SPAN.exec(line)) {
    out += reduceInlineText(line.slice(last, m.index));
    // Code span content is literal: only the backticks go.
    out += (m[2] as string).replace(/^ (.*) $/s, '$1');
    last = m.index + m[0].length;
  }
  out += reduceInlineText(line.slice(last));
  return out.replace(/[ \t]+$/, '');
}

function reduceInlineText(s: string): string {
  if (s === '') return s;
  return decodeEntities(
    s
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]+)\]\((?:[^()\s]+|\([^)]*\))*(?:\s+(?:"[^"]*"|'[^']*'))?\)/g, '$1')
      .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
      .replace(/<((?:https?|ftp|mailto):[^>\s]+)>/g, '$1')
      .replace(/<\/?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?\/?>/g, '')
      .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '$1')
      // `__x__` and `_x_` only as whole words: identifiers (__init__.py, snake_case) stay.
      .replace(/(^|[^\w\\])__(?=\S)([^_\n]*?\S)__(?!\w|\.\w)/g, '$1$2')
      .replace(/(^|[^\w*\\])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1$2')
      .replace(/(^|[^\w\\])_(?=\S)([^_\n]*?\S)_(?!\w|\.\w)/g, '$1$2')
      .replace(/~~(?=\S)([^~\n]*?\S)~~/g, '$1')
      .replace(/\\([\\`*_{}[\]()#+\-.!|>~<])/g, '$1'),
  );
}

// ---------------------------------------------------------------------------------------------
// HTML

const HTML_START = /^\s*(?:<!doctype\b|<html\b|<head\b|<body\b|<\?xml|<div\b|<p\b|<section\b|<article\b|<main\b|<h[1-6]\b|<ul\b|<ol\b|<table\b)/i;
const HTML_BLOCK_TAG = /<\/?(?:p|div|br|h[1-6]|ul|ol|li|table|tr|section|article|blockquote|pre)\b[^>]*>/gi;

function looksLikeHtml(text: string): boolean {
  if (HTML_START.test(text)) return true;
  let count = 0;
  HTML_BLOCK_TAG.lastIndex = 0;
  while (HTML_BLOCK_TAG.exec(text) !== null) if (++count >= 5) break;
  return count >= 5 && !/^ {0,3}#{1,6} /m.test(text);
}

const HTML_TOKEN =
  /<!--[\s\S]*?(?:-->|$)|<(script|style|noscript|template|head|svg|iframe|object)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)|<!\[CDATA\[[\s\S]*?\]\]>|<[!?][^>]*>|<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;

const HTML_BLOCKS = new Set([
  'p', 'div', 'section', 'article', 'header', 'footer', 'main', 'nav', 'aside', 'blockquote',
  'table', 'thead', 'tbody', 'tfoot', 'tr', 'form', 'fieldset', 'figure', 'figcaption', 'dl',
  'dt', 'dd', 'address', 'details', 'summary', 'hr', 'body', 'html', 'caption', 'legend',
  'title', 'center',
]);

interface ListState {
  ordered: boolean;
  counter: number;
  items: number;
}

function htmlPieces(text: string, maxChars: number): Piece[] {
  const out: Piece[] = [];
  // The text run being collected: original offsets of its content and its reduced text.
  let runStart = -1;
  let runEnd = -1;
  let runText = '';
  // The strongest (cheapest) boundary seen since the last emitted piece.
  let pendingCost = Infinity;
  let pendingSep = '\n';
  let pendingHeading = false;
  let pendingLeadIn = false;
  let pendingMarker = '';
  let pendingInList = false;
  let inPre = 0;
  const lists: ListState[] = [];

  const flush = (): void => {
    if (runStart !== -1) {
      const body = inPre > 0 ? runText.replace(/\s+$/, '') : runText.replace(/\s+/g, ' ').trim();
      if (body !== '') {
        out.push({
          start: runStart,
          end: runEnd,
          text: pendingMarker + body,
          sep: pendingSep,
          cost: Number.isFinite(pendingCost) ? pendingCost : COST_LINE,
          isHeading: pendingHeading,
          heading: undefined,
          leadIn: pendingLeadIn,
          inList: pendingInList,
        });
        pendingMarker = '';
        pendingLeadIn = false;
        pendingInList = lists.length > 0;
        pendingCost = Infinity;
        pendingSep = '\n';
      }
    }
    runStart = -1;
    runEnd = -1;
    runText = '';
  };
  const boundary = (cost: number, sep: string): void => {
    flush();
    if (cost < pendingCost) {
      pendingCost = cost;
      pendingSep = sep;
    }
  };
  const inListCost = (): [number, string] => (lists.length > 0 ? [COST_LINE, '\n'] : [COST_BLOCK, '\n\n']);
  const addText = (from: number, to: number): void => {
    if (from >= to) return;
    const raw = text.slice(from, to);
    if (inPre > 0) {
      // Preformatted: one piece per line, whitespace kept.
      let lineFrom = from;
      const lines = raw.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const part = lines[i] as string;
        if (i > 0) boundary(COST_LINE, '\n');
        if (part.trim() !== '') {
          const lead = part.length - part.trimStart().length;
          if (runStart === -1) runStart = lineFrom + lead;
          runEnd = lineFrom + part.trimEnd().length;
          runText += decodeEntities(part);
        }
        lineFrom += part.length + 1;
      }
      return;
    }
    const lead = raw.length - raw.trimStart().length;
    const trail = raw.length - raw.trimEnd().length;
    if (raw.length - lead - trail > 0) {
      if (runStart === -1) runStart = from + lead;
      runEnd = to - trail;
    }
    runText += decodeEntities(raw);
  };

  let last = 0;
  HTML_TOKEN.lastIndex = 0;
  for (let m = HTML_TOKEN.exec(text); m !== null; m = HTML_TOKEN.exec(text)) {
    addText(last, m.index);
    last = m.index + m[0].length;
    const name = m[3]?.toLowerCase();
    if (name === undefined) continue; // comment, script, style, doctype
    const closing = m[2] === '/';
    if (/^h[1-6]$/.test(name)) {
      boundary(closing ? COST_BLOCK : COST_HEADING, '\n\n');
      pendingHeading = !closing;
      continue;
    }
    if (name === 'ul' || name === 'ol') {
      boundary(...inListCost());
      if (closing && lists.length === 1) pendingInList = false;
      if (!closing) {
        const startAttr = /\bstart\s*=\s*["']?(-?\d+)/i.exec(m[4] ?? '');
        lists.push({ ordered: name === 'ol', counter: startAttr ? Number(startAttr[1]) - 1 : 0, items: 0 });
      } else lists.pop();
      continue;
    }
    if (name === 'li') {
      if (closing) {
        boundary(COST_LIST_ITEM, '\n');
        continue;
      }
      const list = lists[lists.length - 1];
      const depth = Math.max(1, lists.length);
      if (list !== undefined) {
        list.counter += 1;
        list.items += 1;
      }
      const first = list === undefined || list.items === 1;
      if (depth > 1) boundary(COST_NESTED_ITEM, '\n');
      else if (first) boundary(COST_BLOCK, '\n\n');
      else boundary(COST_LIST_ITEM, '\n');
      pendingLeadIn = first && depth === 1;
      pendingInList = !(first && depth === 1);
      pendingMarker = '  '.repeat(depth - 1) + (list?.ordered === true ? `${list.counter}. ` : '- ');
      continue;
    }
    if (name === 'pre') {
      boundary(...inListCost());
      if (!closing) {
        inPre += 1;
        pendingLeadIn = lists.length === 0;
      } else inPre = Math.max(0, inPre - 1);
      continue;
    }
    if (name === 'br') {
      boundary(COST_LINE, '\n');
      continue;
    }
    if (name === 'td' || name === 'th') {
      if (closing && runStart !== -1) runText += ' | ';
      continue;
    }
    if (HTML_BLOCKS.has(name)) {
      boundary(...inListCost());
      continue;
    }
    // Inline tags (a, span, strong, code, img...) vanish; their text stays.
  }
  addText(last, text.length);
  flush();
  // Over-long pieces: re-split the original range with the same rules as markdown lines.
  if (Number.isFinite(maxChars) && out.some((p) => p.text.length > maxChars)) {
    const split: Piece[] = [];
    for (const p of out) {
      if (p.text.length <= maxChars) split.push(p);
      else pushRange(split, text, p.start, p.end, p.sep, p.cost, p.isHeading, maxChars, reduceHtmlFragment, p.leadIn === true);
    }
    return split;
  }
  return out;
}

/** Reduces a fragment of HTML (a part of one block) to text. */
function reduceHtmlFragment(fragment: string): string {
  return decodeEntities(
    fragment
      .replace(/<(script|style|noscript|template)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi, '')
      .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
      .replace(/<[^>]*>?/g, ''),
  )
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Entities

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—',
  hellip: '…', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', sbquo: '‚', bdquo: '„',
  copy: '©', reg: '®', trade: '™', middot: '·', bull: '•', laquo: '«', raquo: '»', times: '×',
  divide: '÷', euro: '€', pound: '£', yen: '¥', cent: '¢', deg: '°', para: '¶', sect: '§',
  larr: '←', rarr: '→', uarr: '↑', darr: '↓', shy: '', zwj: '', zwnj: '', ensp: ' ', emsp: ' ',
  thinsp: ' ',
};

const ENTITY = /&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,9});/g;

/** Decodes numeric entities and the common named ones; unknown names stay as written. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') === -1) return s;
  return s.replace(ENTITY, (all: string, body: string) => {
    if (body.charCodeAt(0) === 35) {
      const hex = body.charCodeAt(1) === 120 || body.charCodeAt(1) === 88;
      const code = Number.parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return all;
      return String.fromCodePoint(code);
    }
    return NAMED_ENTITIES[body] ?? NAMED_ENTITIES[body.toLowerCase()] ?? all;
  });
}

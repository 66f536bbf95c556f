/**
 * Pieces: the units the segment readers produce and the packer groups. A piece is a line of
 * markdown, a block of HTML text or a sentence of an over-long line, with its offsets in the
 * original text, its reduced text and the cost of breaking a segment just before it.
 */

// Break costs (lower = better place to end a segment). Chosen so that the packer prefers, in
// order: a heading, a blank-line block boundary, the gap between a lead-in "...:" and its list,
// the gap after a heading, gaps between list items, line breaks, sentence ends, spaces.
export const COST_HEADING = 0;
export const COST_BLOCK = 1;
export const COST_LEAD_IN = 4;
export const COST_AFTER_HEADING = 5;
export const COST_LIST_ITEM = 6;
export const COST_NESTED_ITEM = 6.5;
export const COST_LINE_AFTER_SENTENCE = 6.8;
export const COST_LINE = 7;
export const COST_SENTENCE = 8;
export const COST_SPACE = 9;
export const COST_HARD = 10;

export interface Piece {
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

/**
 * Pushes the original range [start, end) as one piece, or as several when it is longer than
 * `maxChars` (cut at the last sentence end, else space, else anywhere); `reduce` turns an
 * original substring into reduced text.
 */
export function pushRange(
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

export function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12 || code === 0xa0;
}

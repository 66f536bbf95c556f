/**
 * The HTML reader: block tags are breaks, list items keep a `- ` or `1. ` marker, `<pre>`
 * keeps its lines, scripts, styles and comments vanish, inline tags leave their text.
 */
import { decodeEntities } from './entities.js';
import {
  COST_BLOCK,
  COST_HEADING,
  COST_LINE,
  COST_LIST_ITEM,
  COST_NESTED_ITEM,
  pushRange,
  type Piece,
} from './piece.js';

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

export function htmlPieces(text: string, maxChars: number): Piece[] {
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
      // Tags only: a raw `<` in text ("a < b") is text, as browsers read it.
      .replace(/<\/?[a-zA-Z][^<>]*(?:>|$)|<[!?][^<>]*>/g, ''),
  )
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The markdown reader (also plain text, and reStructuredText titles). Each line is first
 * classified on its own ({@link classifyLine}); a small state carried from line to line
 * ({@link MarkdownReader}) then decides what it means in context: a line inside a fenced or
 * indented code block, a shell continuation line, an item or continuation of the open list, a
 * setext title, a new paragraph. Code and continuation lines keep their indentation and
 * characters; only prose gets its inline markup reduced.
 */
import { decodeEntities } from './entities.js';
import { stripInlineHtml } from './inline-html.js';
import {
  COST_BLOCK,
  COST_HEADING,
  COST_LINE,
  COST_LINE_AFTER_SENTENCE,
  COST_LIST_ITEM,
  COST_NESTED_ITEM,
  isSpace,
  pushRange,
  type Piece,
} from './piece.js';

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const UNDERLINE = /^ {0,3}([=\-~^*+#"'`_:.])\1{2,}[ \t]*$/;
const FENCE = /^([ \t]*)(`{3,}|~{3,})/;
const LIST_ITEM = /^([ \t]*)(?:[-*+•]|\d{1,3}[.)]|[a-z][.)]|#\.|[Ss]tep\s+\d{1,3}[a-z]?[:.)])(?:[ \t]+|$)/;
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:[ \t]+\S+/;
const SENTENCE_FINAL = /[.!?:;]["')\]”’*_]*$/;
/** A shell line continued on the next one: a backslash after a space at the end. */
const CONTINUED = /[ \t]\\$/;
/** Indentation of an indented code block, in columns. */
const CODE_INDENT = 4;

/** What a line outside a code block is, on its own. */
type LineClass =
  | { kind: 'blank' }
  | { kind: 'fence'; fence: string; indented: boolean }
  /** `===`, `---`, `~~~`…: a setext/RST title underline, a thematic break or an RST overline. */
  | { kind: 'underline' }
  /** ATX heading; `hashes` is the length of the `#` run. */
  | { kind: 'heading'; title: string; hashes: number }
  | { kind: 'link-definition' }
  /** `content`: the column where the item's text starts (after its marker). */
  | { kind: 'item'; indent: number; content: number }
  | { kind: 'text'; indent: number };

function classifyLine(line: string): LineClass {
  if (line.trim() === '') return { kind: 'blank' };
  const fence = FENCE.exec(line);
  if (fence !== null) return { kind: 'fence', fence: fence[2] as string, indented: (fence[1] as string).length > 0 };
  if (UNDERLINE.test(line)) return { kind: 'underline' };
  const atx = ATX_HEADING.exec(line);
  if (atx !== null) return { kind: 'heading', title: atx[2] ?? '', hashes: (atx[1] as string).length };
  if (LINK_DEFINITION.test(line)) return { kind: 'link-definition' };
  const indent = indentWidth(line);
  const item = LIST_ITEM.exec(line);
  return item !== null ? { kind: 'item', indent, content: indentWidth(line.slice(0, item[0].length).replace(/\S/g, ' ')) } : { kind: 'text', indent };
}

/** An open fenced code block. */
interface CodeBlock {
  /** The opening fence; a line of at least this fence closes the block. */
  fence: string;
  /** Indented inside an open list: the code belongs to the item, not after the list. */
  inList: boolean;
  /** No line of the block was read yet (its first line is the place for a block break). */
  first: boolean;
}

/** Kind of the last content line. */
type LineKind = 'none' | 'para' | 'item' | 'code' | 'heading';

/** Reads a document line by line into pieces. */
class MarkdownReader {
  readonly out: Piece[] = [];
  /** The open fenced code block, if any: every line goes to it until its fence closes. */
  private code: CodeBlock | null = null;
  /** The open list, with the indentation of its first item. */
  private list: { indent: number } | null = null;
  /** A blank line (or a block boundary) came after the last content line. */
  private blankBefore = true;
  private prev: LineKind = 'none';
  /** Lines of the current paragraph (1 = a candidate setext/RST title). */
  private paraLines = 0;
  /** An indented code block is open (blank lines inside it do not close it). */
  private indentedCode: { strip: number; inList: boolean } | null = null;
  /** Column where the text of the last list item starts: code inside the item is 4 columns further. */
  private itemContent = 0;
  /** The last line ended with ` \`: the next one continues it; its indentation is kept relative to `indent`. */
  private continuation: { indent: number } | null = null;

  constructor(
    private readonly text: string,
    private readonly maxChars: number,
  ) {}

  /** Reads the line [lineStart, lineEnd) (without its line break). */
  read(lineStart: number, lineEnd: number): void {
    const line = this.text.slice(lineStart, lineEnd);
    if (this.code !== null) {
      this.codeLine(this.code, line, lineStart, lineEnd);
      return;
    }
    if (this.continuation !== null) {
      // A code fence is never a continuation: a prose line ending in ` \` must not swallow it.
      if (line.trim() !== '' && !FENCE.test(line)) {
        this.continuationLine(this.continuation.indent, line, lineStart, lineEnd);
        return;
      }
      this.continuation = null;
    }
    const c = classifyLine(line);
    const strip = c.kind === 'blank' ? -1 : this.indentedCodeStrip(line);
    if (strip !== -1) {
      this.indentedCodeLine(strip, lineStart, lineEnd);
      return;
    }
    this.indentedCode = null;
    if (c.kind === 'item' || c.kind === 'text') this.continuation = CONTINUED.test(line) ? { indent: c.indent } : null;
    switch (c.kind) {
      case 'blank':
        this.blankBefore = true;
        return;
      case 'fence': {
        const inList = this.list !== null && c.indented;
        if (!inList) this.list = null;
        this.code = { fence: c.fence, inList, first: true };
        this.blankBefore = false;
        return;
      }
      case 'underline':
        this.underline();
        return;
      case 'heading':
        this.heading(c.title, c.hashes, line, lineStart, lineEnd);
        return;
      case 'link-definition':
        this.blankBefore = false;
        return;
      case 'item':
        if (this.isWrappedParagraphLine(line)) this.textLine(c.indent, lineStart, lineEnd);
        else {
          this.item(c.indent, lineStart, lineEnd);
          this.itemContent = c.content;
        }
        return;
      case 'text':
        this.textLine(c.indent, lineStart, lineEnd);
        return;
    }
  }

  private codeLine(code: CodeBlock, line: string, lineStart: number, lineEnd: number): void {
    const close = FENCE.exec(line);
    if (close !== null && (close[2] as string).startsWith(code.fence) && line.trim() === close[2]) {
      this.code = null;
      this.blankBefore = false;
      return;
    }
    if (line.trim() === '') return;
    const cost = code.first ? (code.inList ? COST_LINE : COST_BLOCK) : COST_LINE;
    // Code keeps its indentation and characters: no inline reduction.
    const before = this.out.length;
    pushCodeLine(this.out, this.text, lineStart, lineEnd, code.first && !code.inList ? '\n\n' : '\n', cost, this.maxChars, code.first);
    if (code.inList) markInList(this.out, before);
    code.first = false;
    this.prev = 'code';
  }

  /**
   * The columns of indentation an indented code line loses, or -1 when `line` is not one: 4
   * columns in (4 past the item's text inside a list), not inside a paragraph (after a blank
   * line, a heading or the start) unless continuing a code block.
   */
  private indentedCodeStrip(line: string): number {
    const strip = (this.list !== null ? this.itemContent : 0) + CODE_INDENT;
    if (indentWidth(line) < strip) return -1;
    if (this.indentedCode !== null) return this.indentedCode.strip;
    const after = this.blankBefore || (this.list === null && (this.prev === 'heading' || this.prev === 'none'));
    return after ? strip : -1;
  }

  private indentedCodeLine(strip: number, lineStart: number, lineEnd: number): void {
    const first = this.indentedCode === null;
    const inList = this.indentedCode?.inList ?? this.list !== null;
    const line = this.text.slice(lineStart, lineEnd);
    const before = this.out.length;
    const blockStart = first && !inList;
    pushCodeLine(this.out, this.text, lineStart + columnsPrefix(line, strip), lineEnd, blockStart ? '\n\n' : '\n', blockStart ? COST_BLOCK : COST_LINE, this.maxChars, blockStart);
    if (inList) markInList(this.out, before);
    this.indentedCode = { strip, inList };
    this.prev = 'code';
    this.blankBefore = false;
    this.paraLines = 0;
  }

  /** A line continuing a shell command: kept as written, indented relative to the command's first line. */
  private continuationLine(indent: number, line: string, lineStart: number, lineEnd: number): void {
    const before = this.out.length;
    pushCodeLine(this.out, this.text, lineStart + columnsPrefix(line, indent), lineEnd, '\n', COST_LINE, this.maxChars, false);
    if (this.list !== null) markInList(this.out, before);
    if (!CONTINUED.test(line)) this.continuation = null;
    this.blankBefore = false;
  }

  private underline(): void {
    const last = this.out[this.out.length - 1];
    if (!this.blankBefore && this.prev === 'para' && this.paraLines === 1 && last !== undefined) {
      // Setext / RST title: the single line above is a heading.
      last.isHeading = true;
      this.prev = 'heading';
    }
    // Otherwise a thematic break or an RST overline: a block boundary.
    this.blankBefore = true;
    this.list = null;
  }

  private heading(title: string, hashes: number, line: string, lineStart: number, lineEnd: number): void {
    const offset = title === '' ? lineEnd : lineStart + line.indexOf(title, hashes);
    pushRange(this.out, this.text, offset, offset + title.length, '\n\n', COST_HEADING, true, this.maxChars, reduceInlineMarkdown);
    this.list = null;
    this.prev = 'heading';
    this.blankBefore = false;
    this.paraLines = 0;
  }

  /** A wrapped paragraph line that happens to start with "a) " or "step 2:" is not a list. */
  private isWrappedParagraphLine(line: string): boolean {
    return (
      this.prev === 'para' && !this.blankBefore && this.list === null && /^[a-z]/.test(line.trimStart()) &&
      !/:\s*$/.test(this.out[this.out.length - 1]?.text ?? '')
    );
  }

  /** Separator before a line that starts a block. */
  private blockSep(): string {
    return this.blankBefore || this.prev === 'heading' ? '\n\n' : '\n';
  }

  private item(indent: number, lineStart: number, lineEnd: number): void {
    let cost: number;
    let sep: string;
    const leadIn = this.list === null;
    if (this.list !== null) {
      cost = indent <= this.list.indent + 1 ? COST_LIST_ITEM : COST_NESTED_ITEM;
      sep = '\n';
    } else {
      this.list = { indent };
      cost = COST_BLOCK;
      sep = this.blockSep();
    }
    const before = this.out.length;
    pushRange(this.out, this.text, lineStart, lineEnd, sep, cost, false, this.maxChars, reduceInlineMarkdown, leadIn);
    // Nesting is signal (sub-steps): keep the item's indentation in the reduced text.
    const pushed = this.out[before];
    if (pushed !== undefined && indent > 0) pushed.text = ' '.repeat(Math.min(indent, 12)) + pushed.text;
    if (!leadIn) markInList(this.out, before);
    this.prev = 'item';
    this.paraLines = 0;
    this.blankBefore = false;
  }

  /** Paragraph text, or the continuation of a list item. */
  private textLine(indent: number, lineStart: number, lineEnd: number): void {
    const prevText = this.out[this.out.length - 1]?.text ?? '';
    const lineCost = SENTENCE_FINAL.test(prevText) ? COST_LINE_AFTER_SENTENCE : COST_LINE;
    // The first line of a continued shell command is code, not prose: no inline reduction.
    const reduce = this.continuation !== null ? verbatim : reduceInlineMarkdown;
    if (this.list !== null && (!this.blankBefore || indent >= 2)) {
      const before = this.out.length;
      pushRange(this.out, this.text, lineStart, lineEnd, '\n', lineCost, false, this.maxChars, reduce);
      markInList(this.out, before);
      this.prev = 'item';
    } else {
      this.list = null;
      const newPara = this.blankBefore || this.prev !== 'para';
      pushRange(this.out, this.text, lineStart, lineEnd, newPara ? this.blockSep() : '\n', newPara ? COST_BLOCK : lineCost, false, this.maxChars, reduce);
      this.paraLines = newPara ? 1 : this.paraLines + 1;
      this.prev = 'para';
    }
    this.blankBefore = false;
  }
}

/** Pieces of a markdown (or plain text) document. */
export function markdownPieces(text: string, maxChars: number): Piece[] {
  const reader = new MarkdownReader(text, maxChars);
  const n = text.length;
  let pos = 0;
  while (pos <= n) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1) eol = n;
    let lineEnd = eol;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    reader.read(pos, lineEnd);
    pos = eol + 1;
  }
  return reader.out;
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

const verbatim = (s: string): string => s;

/** Length of the prefix of `line` that covers up to `columns` columns of indentation (a tab is 4). */
function columnsPrefix(line: string, columns: number): number {
  let w = 0;
  let i = 0;
  for (; i < line.length && w < columns; i++) {
    const c = line.charCodeAt(i);
    if (c === 32) w += 1;
    else if (c === 9) w += 4;
    else break;
  }
  return i;
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
 * span markers go, sure inline HTML tags go (placeholders and generics stay: inline-html.ts),
 * entities are decoded. Leading list markers and indentation stay (no rule here touches them).
 */
export function reduceInlineMarkdown(line: string): string {
  let out = '';
  let last = 0;
  CODE_SPAN.lastIndex = 0;
  for (let m = CODE_SPAN.exec(line); m !== null; m = CODE_SPAN.exec(line)) {
    out += reduceInlineText(line.slice(last, m.index), line, last);
    // Code span content is literal: only the backticks go.
    out += (m[2] as string).replace(/^ (.*) $/s, '$1');
    last = m.index + m[0].length;
  }
  out += reduceInlineText(line.slice(last), line, last);
  return out.replace(/[ \t]+$/, '');
}

/** Reduces `s`, the part of `line` at `offset` between code spans. */
function reduceInlineText(s: string, line: string, offset: number): string {
  if (s === '') return s;
  const linked = s
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\((?:[^()\s]+|\([^)]*\))*(?:\s+(?:"[^"]*"|'[^']*'))?\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    .replace(/<((?:https?|ftp|mailto):[^>\s]+)>/g, '$1');
  return decodeEntities(
    stripInlineHtml(linked, line, offset)
      .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '$1')
      // `__x__` and `_x_` only as whole words: identifiers (__init__.py, snake_case) stay.
      .replace(/(^|[^\w\\])__(?=\S)([^_\n]*?\S)__(?!\w|\.\w)/g, '$1$2')
      .replace(/(^|[^\w*\\])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1$2')
      .replace(/(^|[^\w\\])_(?=\S)([^_\n]*?\S)_(?!\w|\.\w)/g, '$1$2')
      .replace(/~~(?=\S)([^~\n]*?\S)~~/g, '$1')
      .replace(/\\([\\`*_{}[\]()#+\-.!|>~<])/g, '$1'),
  );
}

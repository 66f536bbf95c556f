/**
 * HTML inside markdown, read as markdown renderers do, but only where it is surely HTML: a
 * `<word>` in documentation is far more often a placeholder (`<Account ID>`, `<file>`), a
 * generic (`Promise<void>`) or a comparison (`x<y or y>z`) than a tag. A tag goes (its text
 * stays) when its name is a known HTML element written in one case (`<kbd>`, `<BR>`, not
 * `<Title>`) and it is a closing tag, a void element (`br`, `hr`, `img`, `wbr`), self-closing,
 * has `name="value"` attributes, is closed later on the same line, or is the only thing on
 * its line (`<details>`). `<br>` between words becomes a space. Everything else stays as written.
 */

const KNOWN = new Set([
  'a', 'abbr', 'address', 'article', 'aside', 'b', 'bdi', 'bdo', 'big', 'blockquote', 'body', 'br',
  'caption', 'center', 'cite', 'code', 'col', 'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl',
  'dt', 'em', 'figcaption', 'figure', 'font', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header',
  'hr', 'html', 'i', 'img', 'ins', 'kbd', 'li', 'main', 'mark', 'nav', 'ol', 'p', 'picture', 'pre',
  'q', 's', 'samp', 'section', 'small', 'span', 'strike', 'strong', 'sub', 'summary', 'sup', 'table',
  'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'tt', 'u', 'ul', 'var', 'video', 'source', 'audio',
]);
const VOID = new Set(['br', 'hr', 'img', 'wbr']);

const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s[^<>]*|\/)?)>/g;
/** Attributes as HTML writes them, at least one with a value. */
const HTML_ATTRIBUTES = /^(?:\s+[a-zA-Z_:][\w:.-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*\/?$/;

/**
 * `s` with its sure HTML tags removed. `s` is a part of `line` outside code spans, starting
 * at `offset` in it: closers are looked for in the whole rest of the line.
 */
export function stripInlineHtml(s: string, line = s, offset = 0): string {
  if (s.indexOf('<') === -1) return s;
  const alone = /^\s*(?:<[^<>]*>\s*)+$/.test(line);
  const lower = line.toLowerCase();
  return s.replace(TAG, (all: string, slash: string, rawName: string, attrs: string, at: number) => {
    const name = rawName.toLowerCase();
    if (!KNOWN.has(name) || (rawName !== name && rawName !== rawName.toUpperCase())) return all;
    const selfClosing = attrs.endsWith('/');
    if (attrs !== '' && !HTML_ATTRIBUTES.test(attrs)) return all;
    const sure =
      slash === '/' ||
      VOID.has(name) ||
      selfClosing ||
      attrs.includes('=') ||
      alone ||
      lower.indexOf(`</${name}>`, offset + at + all.length) !== -1;
    if (!sure) return all;
    if (name !== 'br') return '';
    // A line break reads as a space between words, nothing next to one.
    const before = s.charCodeAt(at - 1);
    const after = s.charCodeAt(at + all.length);
    return at === 0 || before === 32 || before === 9 || Number.isNaN(after) || after === 32 || after === 9 ? '' : ' ';
  });
}

/**
 * Markdown and plain text stay text: angle-bracketed words, generics and comparisons survive,
 * code keeps its indentation, and only real HTML (declared, or sniffed conservatively) is
 * read as HTML.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reduceMarkup, segmentDocument } from '../src/stages/segment.js';
import { looksLikeHtml } from '../src/stages/segment/detect.js';
import { runMain } from '../src/testing/cli-harness.js';

describe('markdown keeps angle-bracketed text', () => {
  it('keeps placeholders, in and out of code spans', () => {
    expect(reduceMarkup('Use the field <Account ID> to log in.')).toBe('Use the field <Account ID> to log in.');
    expect(reduceMarkup('Use the field `<Account ID>` to log in.')).toBe('Use the field <Account ID> to log in.');
    expect(reduceMarkup('Copy <source> to <destination>, then set <title> and <data>.')).toBe('Copy <source> to <destination>, then set <title> and <data>.');
    expect(reduceMarkup('GET /users/<id>/orders/<order_id>')).toBe('GET /users/<id>/orders/<order_id>');
  });

  it('keeps TypeScript generics', () => {
    expect(reduceMarkup('It returns Promise<void>, takes Array<string> and a Map<K, V>.')).toBe('It returns Promise<void>, takes Array<string> and a Map<K, V>.');
    expect(reduceMarkup('function f<T extends object>(x: Record<string, T>): Set<T>')).toBe('function f<T extends object>(x: Record<string, T>): Set<T>');
  });

  it('keeps comparisons', () => {
    expect(reduceMarkup('If a < b and c > d, stop; if x<y or y>z, go on.')).toBe('If a < b and c > d, stop; if x<y or y>z, go on.');
  });

  it('reads inline HTML the way markdown renderers do: known tags go, their text stays', () => {
    expect(reduceMarkup('Press <kbd>Ctrl</kbd>+<kbd>C</kbd>, then <b>stop</b>.<br>Next<br/>line')).toBe('Press Ctrl+C, then stop. Next line');
    expect(reduceMarkup('<p align="center"><img src="logo.png" alt=""></p>\n\n# Title\n\nText <span class="x">here</span>.')).toBe('Title\n\nText here.');
    // A closer after a code span still closes.
    expect(reduceMarkup('Run <b>the `npm` command</b> now.')).toBe('Run the npm command now.');
    expect(reduceMarkup('<details>\n<summary>More</summary>\n\nHidden text.\n\n</details>')).toBe('More\n\nHidden text.');
  });
});

describe('code keeps its indentation', () => {
  it('fenced code, also when the document starts with inline HTML', () => {
    const md = '<p align="center"><img src="x.png"></p>\n\nIntro:\n\n```ts\nfunction f() {\n    return 1;\n}\n```\n';
    expect(reduceMarkup(md)).toBe('Intro:\n\nfunction f() {\n    return 1;\n}');
  });

  it('indented code blocks', () => {
    expect(reduceMarkup('Intro.\n\n    def f():\n        return 1\n\nAfter.')).toBe('Intro.\n\ndef f():\n    return 1\n\nAfter.');
    // Inside code, markdown is literal.
    expect(reduceMarkup('Example:\n\n    x = a_b_c * 2  # <Account ID>\n')).toBe('Example:\n\nx = a_b_c * 2  # <Account ID>');
  });

  it('indented code inside a list item: 4 columns past the item text', () => {
    expect(reduceMarkup('- Install:\n\n      pip install x\n        --user\n- Then run it.')).toBe('- Install:\npip install x\n  --user\n- Then run it.');
    expect(reduceMarkup('1. Install:\n\n       npm i\n2. Done.')).toBe('1. Install:\nnpm i\n2. Done.');
    // Less than that is the item's own paragraph.
    expect(reduceMarkup('- Install:\n\n    more about it\n- Then run it.')).toBe('- Install:\nmore about it\n- Then run it.');
  });

  it('shell continuation lines', () => {
    const md = 'Run:\n\ncurl -X POST https://x/v1/items \\\n    -H "Authorization: Bearer <token>" \\\n    -d @file_name.json\n\nDone.';
    expect(reduceMarkup(md)).toBe('Run:\n\ncurl -X POST https://x/v1/items \\\n    -H "Authorization: Bearer <token>" \\\n    -d @file_name.json\n\nDone.');
  });

  it('a code fence after a line ending in a backslash still opens a code block', () => {
    expect(reduceMarkup('Text ends here \\\n```sh\nls \\\n    -l\n```\nAfter.')).toBe('Text ends here \\\n\nls \\\n    -l\nAfter.');
  });

  it('shell continuation lines inside a list item', () => {
    const md = '1. Call the API:\n   curl https://x \\\n       -d a=1\n2. Check the answer.';
    expect(reduceMarkup(md)).toBe('1. Call the API:\ncurl https://x \\\n    -d a=1\n2. Check the answer.');
  });

  it('offsets of indented code map back to the original text', () => {
    const text = 'Intro.\n\n    def f():\n        return 1\n\nAfter.';
    const [segment] = segmentDocument({ id: 'c', text }, { minChars: 0 });
    expect(text.slice(segment!.start, segment!.end)).toBe(text);
  });
});

describe('only real HTML is parsed as HTML', () => {
  it('sniffs HTML only on a doctype or html element, or on many known block tags with closers', () => {
    expect(looksLikeHtml('<!DOCTYPE html><html><body><p>x</p></body></html>')).toBe(true);
    expect(looksLikeHtml('  <html lang="en"><p>x')).toBe(true);
    expect(looksLikeHtml('<div><p>One.</p><p>Two.</p><ul><li>a</li><li>b</li></ul></div>')).toBe(true);
    // Markdown with a little inline HTML, or a placeholder at the start, stays markdown.
    expect(looksLikeHtml('<p align="center"><img src="x.png"></p>\n\n# Title\n\nText.')).toBe(false);
    expect(looksLikeHtml('<Account ID> is on the first page.')).toBe(false);
    expect(looksLikeHtml('<div>\n\nSome text <br> more.\n\n</div>\n\n' + 'Long prose. '.repeat(400))).toBe(false);
    // HTML shown in a code fence is an example, not the document's markup.
    expect(looksLikeHtml('Example:\n\n```html\n<div><p>One.</p><p>Two.</p><ul><li>a</li><li>b</li></ul></div>\n```\n')).toBe(false);
  });

  it('follows the declared markup of the document', () => {
    const html = '<p>Use <code>&lt;Account ID&gt;</code>.</p>';
    expect(segmentDocument({ id: 'h', text: html, markup: 'html' })[0]!.text).toBe('Use <Account ID>.');
    const md = '<div><p>One.</p><p>Two.</p><ul><li>a</li><li>b</li></ul></div>';
    expect(segmentDocument({ id: 'm', text: 'Keep <Account ID>\n\n' + md, markup: 'markdown' })[0]!.text).toContain('<Account ID>');
    // An explicit format option wins over the document's own.
    expect(segmentDocument({ id: 'o', text: html, markup: 'markdown' }, { format: 'html' })[0]!.text).toBe('Use <Account ID>.');
  });

  it('HTML: a raw "<" in a long paragraph is text, not a tag', () => {
    const html = `<html><body><p>${'Compare the totals. '.repeat(20)}If a < b and c > d, stop. ${'Then go on. '.repeat(30)}</p></body></html>`;
    const segments = segmentDocument({ id: 'l', text: html }, { maxChars: 200, minChars: 0 });
    expect(segments.map((s) => s.text).join(' ')).toContain('If a < b and c > d, stop.');
  });
});

describe('a run segments each input by its declared markup', () => {
  it('a .md file with HTML blocks stays markdown (placeholders kept); a .html file is HTML', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemtraj-markup-'));
    try {
      const html = '<div><p>Sign in first.</p><p>Then open Settings.</p><ul><li>a</li><li>b</li></ul></div>\n';
      writeFileSync(join(dir, 'guide.md'), `To reset access, enter <Account ID> and the code from Promise<void> logs.\n\n${html}`);
      writeFileSync(join(dir, 'page.html'), `<p>Enter the &lt;Account ID&gt; shown on <b>your</b> card.</p>${html}`);
      const out = join(dir, 'run');
      const result = await runMain(['filter', join(dir, 'guide.md'), '--out', out, '--filter', 'local', '--quiet']);
      expect(result.code).toBe(0);
      const segments = readFileSync(join(out, 'segments.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string });
      expect(segments[0]?.text).toContain('enter <Account ID> and the code from Promise<void> logs.');
      const out2 = join(dir, 'run-html');
      expect((await runMain(['filter', join(dir, 'page.html'), '--out', out2, '--filter', 'local', '--quiet'])).code).toBe(0);
      const htmlSegments = readFileSync(join(out2, 'segments.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string });
      expect(htmlSegments[0]?.text).toMatch(/^Enter the <Account ID> shown on your card\.\n\nSign in first\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

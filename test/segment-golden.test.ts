/**
 * Golden test of the segmenter: every shared text document and every example document is cut
 * with several option sets (and as HTML, via a fixed markdown-to-HTML rendering), and each
 * result is compared with a digest recorded from the segmenter before its split into files.
 * Any change to segment text, offsets or headings changes a digest.
 *
 * Regenerate (only for an intended behaviour change): GOLDEN_UPDATE=1 npx vitest run test/segment-golden.test.ts
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reduceMarkup, segmentDocument, type SegmentOptions } from '../src/stages/segment.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const TEXT = join(SHARED_DATA, 'text');
const GOLDEN = join(process.cwd(), 'test', 'fixtures', 'segment-golden.json');

interface Doc {
  id: string;
  text: string;
}

function jsonlDocs(file: string, prefix: string): Doc[] {
  const docs: Doc[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const d = JSON.parse(line) as { id: string; text?: string; content?: string };
    docs.push({ id: `${prefix}:${d.id}`, text: d.text ?? d.content ?? '' });
  }
  return docs;
}

function corpus(): Doc[] {
  const docs: Doc[] = [];
  const sources = join(TEXT, 'sources');
  for (const name of readdirSync(sources).sort()) {
    const file = join(sources, name);
    if (name.endsWith('.jsonl')) docs.push(...jsonlDocs(file, name));
    else docs.push({ id: name, text: readFileSync(file, 'utf8') });
  }
  docs.push(...jsonlDocs(join(TEXT, 'passages.jsonl'), 'passages'));
  docs.push(...jsonlDocs(join(process.cwd(), 'examples', 'corpus.jsonl'), 'examples'));
  return docs;
}

/** A fixed, crude markdown → HTML rendering, so the HTML reader sees real documents. */
function toHtml(md: string): string {
  const out: string[] = ['<html><body>'];
  const lists: string[] = [];
  const closeLists = (depth: number): void => {
    while (lists.length > depth) out.push(`</${lists.pop() as string}>`);
  };
  let code = false;
  for (const line of md.split('\n')) {
    if (/^\s*```/.test(line)) {
      out.push(code ? '</pre>' : '<pre>');
      code = !code;
      continue;
    }
    const esc = line.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    if (code) {
      out.push(esc);
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (h !== null) {
      closeLists(0);
      out.push(`<h${h[1]!.length}>${h[2]!}</h${h[1]!.length}>`);
    } else if (item !== null) {
      const depth = Math.floor(item[1]!.length / 2) + 1;
      const tag = /\d/.test(item[2]!) ? 'ol' : 'ul';
      closeLists(depth);
      while (lists.length < depth) {
        out.push(`<${tag}>`);
        lists.push(tag);
      }
      out.push(`<li>${item[3]!.replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')}</li>`);
    } else if (line.trim() === '') {
      if (lists.length === 0) out.push('');
    } else {
      closeLists(0);
      out.push(`<p>${esc.replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`);
    }
  }
  closeLists(0);
  out.push('</body></html>');
  return out.join('\n');
}

const CASES: ReadonlyArray<readonly [string, SegmentOptions, boolean]> = [
  ['default', {}, false],
  ['800/100', { maxChars: 800, minChars: 100 }, false],
  ['200/0', { maxChars: 200, minChars: 0 }, false],
  ['html-default', { format: 'html' }, true],
  ['html-600/50', { maxChars: 600, minChars: 50, format: 'html' }, true],
  ['forced-html', { maxChars: 1500, format: 'html' }, false],
  ['forced-markdown', { maxChars: 1500, format: 'markdown' }, true],
];

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

function compute(): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const doc of corpus()) {
    const html = toHtml(doc.text);
    const row: string[] = [];
    for (const [, options, asHtml] of CASES) {
      const segments = segmentDocument({ id: doc.id, text: asHtml ? html : doc.text }, options);
      row.push(`${segments.length}:${digest(segments)}`);
    }
    row.push(`md:${digest(reduceMarkup(doc.text))}`, `html:${digest(reduceMarkup(html))}`);
    expect(result[doc.id], `duplicate id ${doc.id}`).toBeUndefined();
    result[doc.id] = row;
  }
  return result;
}

describe.skipIf(!existsSync(TEXT))('segmenter golden output', () => {
  it('cuts every shared and example document exactly as recorded', () => {
    const actual = compute();
    if (process.env['GOLDEN_UPDATE'] === '1') {
      // One line per document keeps diffs readable.
      const lines = Object.entries(actual).map(([id, row]) => `  ${JSON.stringify(id)}: ${JSON.stringify(row)}`);
      writeFileSync(GOLDEN, `{"cases": ${JSON.stringify(CASES.map((c) => c[0]))}, "docs": {\n${lines.join(',\n')}\n}}\n`);
    }
    const expected = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { docs: Record<string, string[]> };
    expect(Object.keys(actual).length).toBeGreaterThan(800);
    for (const [id, row] of Object.entries(expected.docs)) expect(actual[id], id).toEqual(row);
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected.docs).sort());
  });
});

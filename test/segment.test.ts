import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SegmentDraft } from '../src/records.js';
import { reduceMarkup, segmentDocument } from '../src/stages/segment.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const SOURCES = join(SHARED_DATA, 'text', 'sources');
const POLICIES = ['tau2-airline-policy.md', 'tau2-retail-policy.md', 'tau2-telecom-tech-support-workflow.md'];

/** Spans [start, end) of numbered lists in markdown: items, their nested lines, blank lines inside. */
function numberedLists(text: string): Array<[number, number]> {
  const lists: Array<[number, number]> = [];
  const lines: Array<{ start: number; end: number; text: string }> = [];
  let pos = 0;
  for (const line of text.split('\n')) {
    lines.push({ start: pos, end: pos + line.length, text: line });
    pos += line.length + 1;
  }
  const isItem = (s: string): boolean => /^\s*\d+[.)]\s/.test(s);
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (!isItem(l.text) || /^\s/.test(l.text)) {
      i++;
      continue;
    }
    const start = l.start + (l.text.length - l.text.trimStart().length);
    let end = l.end;
    let j = i + 1;
    while (j < lines.length) {
      const t = lines[j]!.text;
      if (t.trim() === '') {
        const next = lines.slice(j + 1).find((x) => x.text.trim() !== '');
        if (next !== undefined && (isItem(next.text) || /^\s{2,}\S/.test(next.text))) {
          j++;
          continue;
        }
        break;
      }
      if (isItem(t) || /^\s+\S/.test(t)) {
        end = lines[j]!.end;
        j++;
        continue;
      }
      break;
    }
    lists.push([start, end]);
    i = j;
  }
  return lists;
}

const alnum = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');

function checkOffsets(text: string, segments: SegmentDraft[], maxChars: number): void {
  let prevEnd = 0;
  segments.forEach((s, index) => {
    expect(s.index).toBe(index);
    expect(s.id).toBe(`${s.doc_id}#${index}`);
    expect(s.start).toBeGreaterThanOrEqual(prevEnd);
    expect(s.end).toBeGreaterThan(s.start);
    expect(s.end).toBeLessThanOrEqual(text.length);
    expect(s.text.length).toBeLessThanOrEqual(maxChars);
    // The segment's first and last lines come from its own slice of the original text.
    const slice = alnum(text.slice(s.start, s.end));
    const lines = s.text.split('\n').filter((l) => alnum(l) !== '');
    expect(slice.startsWith(alnum(lines[0]!))).toBe(true);
    expect(slice.endsWith(alnum(lines[lines.length - 1]!))).toBe(true);
    prevEnd = s.end;
  });
}

function checkListsWhole(text: string, segments: SegmentDraft[], maxChars: number): number {
  let checked = 0;
  for (const [start, end] of numberedLists(text)) {
    if (end - start > maxChars) continue; // a list longer than maxChars may be cut between items
    checked++;
    for (const s of segments.slice(1)) {
      const inside = s.start > start && s.start < end;
      if (inside) throw new Error(`segment ${s.id} starts at ${s.start}, inside the list [${start}, ${end}): ${JSON.stringify(text.slice(start, end).slice(0, 120))}`);
    }
  }
  return checked;
}

describe('segmentDocument on tau2 policies', () => {
  for (const file of POLICIES) {
    const text = readFileSync(`${SOURCES}/${file}`, 'utf8');
    for (const [maxChars, minChars] of [[6000, 200], [800, 150], [400, 100]] as const) {
      it(`${file} maxChars=${maxChars}: offsets map back, numbered lists stay whole`, () => {
        const segments = segmentDocument({ id: file, text }, { maxChars, minChars });
        expect(segments.length).toBeGreaterThan(0);
        checkOffsets(text, segments, maxChars);
        checkListsWhole(text, segments, maxChars);
      });
    }
  }

  it('is deterministic and keeps the nearest heading', () => {
    const text = readFileSync(`${SOURCES}/tau2-telecom-tech-support-workflow.md`, 'utf8');
    const a = segmentDocument({ id: 't', text });
    expect(segmentDocument({ id: 't', text })).toEqual(a);
    // A segment's heading is the nearest heading at its start, and that heading opens it.
    expect(a.every((s) => s.heading !== undefined && s.text.startsWith(s.heading))).toBe(true);
    const small = segmentDocument({ id: 't', text }, { maxChars: 600 });
    const step = small.find((s) => s.text.includes('Check Mobile Data Settings'));
    expect(step?.text).toMatch(/Step 2\.1\.3/);
  });
});

describe('segmentDocument on tau2 banking knowledge (698 articles)', () => {
  const articles = readFileSync(`${SOURCES}/tau2-banking-knowledge.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; title: string; content: string });

  it('has the articles', () => expect(articles.length).toBe(698));

  for (const [maxChars, minChars] of [[6000, 200], [1000, 200], [500, 100]] as const) {
    it(`maxChars=${maxChars}: offsets map back, numbered lists stay whole`, () => {
      let lists = 0;
      for (const a of articles) {
        const segments = segmentDocument({ id: a.id, text: a.content }, { maxChars, minChars });
        checkOffsets(a.content, segments, maxChars);
        lists += checkListsWhole(a.content, segments, maxChars);
      }
      expect(lists).toBeGreaterThan(100);
    });
  }
});

describe('segment packing', () => {
  it('cuts a list longer than maxChars between items only', () => {
    const items = Array.from({ length: 30 }, (_, i) => `${i + 1}. Click the button number ${i + 1} and wait for the page.`);
    const text = `# Steps\n\nDo this:\n\n${items.join('\n')}\n`;
    const segments = segmentDocument({ id: 'l', text }, { maxChars: 400, minChars: 50 });
    expect(segments.length).toBeGreaterThan(3);
    for (const s of segments.slice(1)) expect(s.text).toMatch(/^\d+\. Click/);
    for (const s of segments) expect(s.text.length).toBeLessThanOrEqual(400);
    expect(segments.every((s) => s.heading === 'Steps')).toBe(true);
  });

  it('moves a list that fits to the next segment instead of cutting it', () => {
    const para = 'Background text that explains things at some length. '.repeat(5).trim();
    const list = Array.from({ length: 5 }, (_, i) => `${i + 1}. Step ${i + 1}: open the settings page.`).join('\n');
    const text = `${para}\n\n${para}\n\nTo change it:\n${list}\n`;
    const segments = segmentDocument({ id: 'm', text }, { maxChars: 700, minChars: 100 });
    const withList = segments.filter((s) => /^\d+\. /m.test(s.text));
    expect(withList).toHaveLength(1);
    expect(withList[0]!.text).toContain('To change it:\n1. Step 1');
    expect(withList[0]!.text).toContain('5. Step 5');
  });

  it('packs sections together and cuts at a heading when the segment would overflow', () => {
    const body = 'Some words here. '.repeat(20);
    const text = `# A\n\n${body}\n\n## B\n\n${body}\n\n## C\n\ntiny`;
    // Everything fits: one segment, so rules sections stay with the steps they govern.
    expect(segmentDocument({ id: 'h', text }, { maxChars: 6000, minChars: 200 }).map((s) => s.heading)).toEqual(['A']);
    // Two sections do not fit: the cut falls on the heading, not inside a paragraph.
    const segments = segmentDocument({ id: 'h', text }, { maxChars: 500, minChars: 200 });
    expect(segments.map((s) => s.heading)).toEqual(['A', 'B']);
    expect(segments[1]!.text.startsWith('B')).toBe(true);
    // "## C / tiny" is under minChars: merged into the previous segment.
    expect(segments[1]!.text.endsWith('C\n\ntiny')).toBe(true);
    expect(segments[1]!.end).toBe(text.length);
  });

  it('splits an over-long paragraph at sentence ends', () => {
    const text = 'This is one sentence of a long paragraph. '.repeat(100);
    const segments = segmentDocument({ id: 'p', text }, { maxChars: 500, minChars: 100 });
    expect(segments.length).toBeGreaterThan(8);
    for (const s of segments) {
      expect(s.text.length).toBeLessThanOrEqual(500);
      expect(s.text.endsWith('paragraph.')).toBe(true);
    }
  });

  it('handles empty text', () => {
    expect(segmentDocument({ id: 'e', text: '' })).toEqual([]);
    expect(segmentDocument({ id: 'e', text: '  \n\n ' })).toEqual([]);
  });
});

describe('markup reduction', () => {
  it('reduces markdown: emphasis and links go, list markers and identifiers stay', () => {
    const md =
      '# Title\n\nSome *emphasis*, **bold**, `code_x`, [a link](http://x.com "t"), ![img](a.png), __init__.py and snake_case_name &amp; more.\n\n' +
      '1. First step\n2. Second [step][r]\n   - nested\n\n[r]: http://example.com\n\nSetext\n------\n\n```sh\n$ npm run *build*\n```\n';
    expect(reduceMarkup(md)).toBe(
      'Title\n\nSome emphasis, bold, code_x, a link, img, __init__.py and snake_case_name & more.\n\n' +
        '1. First step\n2. Second step\n   - nested\n\nSetext\n\n$ npm run *build*',
    );
  });

  it('reduces HTML: tags, scripts and styles go, entities decode, lists get markers', () => {
    const html =
      '<!doctype html><html><head><title>x</title><style>p{color:red}</style></head><body>' +
      '<h1>Reset your password</h1><p>To reset your <b>password</b> &amp; regain access:</p>' +
      '<ol><li>Open the <a href="/login">login page</a>.</li><li>Click <em>Forgot password</em>.<ul><li>nested &lt;ok&gt;</li></ul></li>' +
      '<li>Enter your email&nbsp;address.</li></ol><script>alert(1)</script><p>Done.<br>Really &#x2713; &#8212; yes</p></body></html>';
    expect(reduceMarkup(html)).toBe(
      'Reset your password\n\nTo reset your password & regain access:\n\n1. Open the login page.\n2. Click Forgot password.\n  - nested <ok>\n3. Enter your email address.\n\nDone.\nReally ✓ — yes',
    );
    const [segment] = segmentDocument({ id: 'h', text: html }, { minChars: 0 });
    expect(segment!.heading).toBe('Reset your password');
    expect(html.slice(segment!.start, segment!.start + 5)).toBe('Reset');
    expect(html.slice(0, segment!.end).endsWith('yes')).toBe(true);
  });

  it('keeps RST titles as headings', () => {
    const rst = 'Installing Packages\n===================\n\nThis section covers the basics.\n\nRequirements\n------------\n\nRun ``pip --version``.\n';
    const segments = segmentDocument({ id: 'r', text: rst }, { minChars: 0, maxChars: 200 });
    expect(segments.map((s) => s.heading)).toEqual(['Installing Packages']);
    expect(segments[0]!.text).toMatch(/^Installing Packages\n\nThis section covers the basics\.\n\nRequirements\n\nRun .*pip --version/);
  });
});

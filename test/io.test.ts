import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropTornTail, JsonlWriter, readJsonl, readJsonlLocated, readJsonlValues, readRecordAt, type JsonlLine } from '../src/io/jsonl.js';
import { splitLines } from '../src/io/lines.js';
import { readRecordFile } from '../src/io/record-file.js';
import {
  contentId,
  countInputRecords,
  InputError,
  listInputFiles,
  readDocuments,
  textProblem,
  type InputItem,
  type ReadOptions,
} from '../src/io/documents.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-io-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

async function all<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

const OPTS: ReadOptions = { textField: 'text', idField: 'id' };
const PROSE = 'Open the app, sign in with your member number, then choose Claims and upload the receipt.';

function docs(items: InputItem[]) {
  return items.flatMap((i) => (i.kind === 'document' ? [i.document] : []));
}
function rejections(items: InputItem[]) {
  return items.flatMap((i) => (i.kind === 'rejection' ? [i] : []));
}

// ---------------------------------------------------------------------------------------------
describe('readJsonl', () => {
  it('numbers lines from 1, counting blank lines it skips', async () => {
    const path = file('a.jsonl', '{"a":1}\n\n   \n{"a":2}\n\t\n{"a":3}\n');
    const lines = await all(readJsonl(path));
    expect(lines).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 4, value: { a: 2 } },
      { line: 6, value: { a: 3 } },
    ]);
  });

  it('strips a UTF-8 byte order mark on the first line only', async () => {
    const path = file('bom.jsonl', '\uFEFF{"id":"x"}\n{"id":"y"}\n');
    expect(await all(readJsonl(path))).toEqual([
      { line: 1, value: { id: 'x' } },
      { line: 2, value: { id: 'y' } },
    ]);
    // written as raw bytes too
    const raw = file('bom2.jsonl', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"k":1}\n')]));
    expect(await all(readJsonl(raw))).toEqual([{ line: 1, value: { k: 1 } }]);
  });

  it('a BOM followed by a blank first line still counts that line', async () => {
    const path = file('bom-blank.jsonl', '\uFEFF\n{"id":"y"}\n');
    expect(await all(readJsonl(path))).toEqual([{ line: 2, value: { id: 'y' } }]);
  });

  it('handles CRLF line ends and a last line without newline', async () => {
    const path = file('crlf.jsonl', '{"a":1}\r\n{"a":2}\r\n{"a":3}');
    expect((await all(readJsonl(path))).map((l) => [l.line, l.value])).toEqual([
      [1, { a: 1 }],
      [2, { a: 2 }],
      [3, { a: 3 }],
    ]);
  });

  it('yields bad JSON as an error with its line and text, and keeps going', async () => {
    const path = file('bad.jsonl', '{"a":1}\n{"a":\n\n{oops}\n{"a":4}\n');
    const lines = await all(readJsonl(path));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({ line: 1, value: { a: 1 } });
    const bad1 = lines[1] as Extract<JsonlLine, { error: string }>;
    expect(bad1.line).toBe(2);
    expect(bad1.error).toMatch(/^invalid JSON: /);
    expect(bad1.text).toBe('{"a":');
    expect(bad1.value).toBeUndefined();
    expect(lines[2]?.line).toBe(4);
    expect(lines[2]?.error).toMatch(/^invalid JSON/);
    expect(lines[3]).toEqual({ line: 5, value: { a: 4 } });
  });

  it('truncates the raw text of a bad line to 2000 characters', async () => {
    const path = file('long-bad.jsonl', `{${'x'.repeat(5000)}\n`);
    const [entry] = await all(readJsonl(path));
    expect(entry?.error).toBeDefined();
    expect(entry?.text).toHaveLength(2000);
  });

  it('yields any JSON value, not only objects', async () => {
    const path = file('values.jsonl', '1\n"s"\nnull\n[1,2]\n');
    expect((await all(readJsonl(path))).map((l) => l.value)).toEqual([1, 's', null, [1, 2]]);
  });

  it('keeps non-ASCII text intact across stream chunks', async () => {
    // ~2.6 MB of UTF-8: several 1 MiB reads, multi-byte characters cut at their edges.
    const text = 'Ünïcödé ✓ 日本語 '.repeat(90_000);
    const path = file('utf8.jsonl', `${JSON.stringify({ text })}\n${JSON.stringify({ text: 'b' })}\n${JSON.stringify({ text })}\n`);
    const lines = await all(readJsonl(path));
    expect((lines[0]?.value as { text: string }).text).toBe(text);
    expect(lines[1]).toEqual({ line: 2, value: { text: 'b' } });
    expect(lines[2]?.line).toBe(3);
    expect((lines[2]?.value as { text: string }).text).toBe(text);
  });

  it('readJsonlLocated: offsets and lengths read each record back, across reads and CRLF', async () => {
    const big = { text: 'Ünïcödé ✓ 日本語 '.repeat(90_000) };
    const path = file('located.jsonl', `{"a":1}\r\n\n${JSON.stringify(big)}\n{"b":2}\n${JSON.stringify(big)}\n{"c":3}`);
    const lines = await all(readJsonlLocated(path));
    expect(lines.map((l) => l.line)).toEqual([1, 3, 4, 5, 6]);
    for (const entry of lines) expect(readRecordAt(path, entry.offset, entry.length)).toEqual(entry.value);
    expect(lines[1]?.value).toEqual(big);
  });

  it('splitLines joins a line spread over many chunks', async () => {
    const text = 'ab✓'.repeat(5000);
    const bytes = Buffer.from(`${text}\nxy\n${text}`);
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    const out: string[] = [];
    for await (const { text: line } of splitLines(chunks())) out.push(line);
    expect(out).toEqual([text, 'xy', text]);
  });

  it('numbers lines as the record reader does: a lone CR does not end a line', async () => {
    // Lines end at \n, as for `validate`, `export` and the run's input, so a line number in a
    // run's own files means the same line everywhere.
    const path = file('lone-cr.jsonl', '{"a":1}\r{"a":2}\n{"a":3}\n');
    const lines = await all(readJsonl(path));
    const numbers = async () => {
      const out: number[] = [];
      for await (const entry of readRecordFile(path)) out.push(entry.line);
      return out;
    };
    expect(lines.map((l) => l.line)).toEqual(await numbers());
    expect(lines[0]?.error).toMatch(/^invalid JSON/);
    expect(lines[1]).toEqual({ line: 2, value: { a: 3 } });
  });

  it('can be abandoned early without leaking (return closes the stream)', async () => {
    const path = file('many.jsonl', Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i })).join('\n'));
    for await (const entry of readJsonl(path)) {
      expect(entry.line).toBe(1);
      break;
    }
    // the file is still usable (not locked / truncated)
    expect((await readJsonlValues(path)).length).toBe(1000);
  });

  it('readJsonlValues: [] for a missing file, only parsable values otherwise', async () => {
    expect(await readJsonlValues(join(dir, 'missing.jsonl'))).toEqual([]);
    const path = file('mix.jsonl', '{"a":1}\nnope\n{"a":2}\n');
    expect(await readJsonlValues(path)).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('dropTornTail', () => {
  it('does nothing to a missing, empty or whole file', () => {
    expect(dropTornTail(join(dir, 'missing.jsonl'))).toBe(0);
    expect(existsSync(join(dir, 'missing.jsonl'))).toBe(false);
    const empty = file('empty.jsonl', '');
    expect(dropTornTail(empty)).toBe(0);
    const whole = file('whole.jsonl', '{"a":1}\n{"a":2}\n');
    expect(dropTornTail(whole)).toBe(0);
    expect(readFileSync(whole, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });

  it('drops a last line without its newline and returns the bytes removed', () => {
    const path = file('torn.jsonl', '{"a":1}\n{"a":2}\n{"a":');
    expect(dropTornTail(path)).toBe(5);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    // idempotent
    expect(dropTornTail(path)).toBe(0);
  });

  it('counts bytes, not characters, for a multi-byte torn tail', () => {
    const path = file('mb.jsonl', '{"a":1}\n{"t":"日本');
    const tail = Buffer.byteLength('{"t":"日本');
    expect(dropTornTail(path)).toBe(tail);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
  });

  it('a file that is only a torn line becomes empty', () => {
    const path = file('only.jsonl', '{"id":"x","text":"half');
    const size = statSync(path).size;
    expect(dropTornTail(path)).toBe(size);
    expect(statSync(path).size).toBe(0);
  });

  it('finds the previous newline across several 64 KiB chunks', () => {
    const head = `${JSON.stringify({ id: 'first' })}\n`;
    const tail = `{"text":"${'x'.repeat(200_000)}`; // longer than three chunks
    const path = file('big-tail.jsonl', head + tail);
    expect(dropTornTail(path)).toBe(tail.length);
    expect(readFileSync(path, 'utf8')).toBe(head);
  });

  it('a torn line larger than 64 KiB with no newline at all empties the file', () => {
    const path = file('big-only.jsonl', 'y'.repeat(150_000));
    expect(dropTornTail(path)).toBe(150_000);
    expect(statSync(path).size).toBe(0);
  });

  it('many whole lines over 64 KiB followed by a short torn line', () => {
    const whole = Array.from({ length: 3000 }, (_, i) => `${JSON.stringify({ id: `r${i}`, pad: 'p'.repeat(40) })}\n`).join('');
    expect(whole.length).toBeGreaterThan(128 * 1024);
    const path = file('big-whole.jsonl', `${whole}{"id":"r3000","pa`);
    expect(dropTornTail(path)).toBe('{"id":"r3000","pa'.length);
    expect(readFileSync(path, 'utf8')).toBe(whole);
  });

  it.each([
    ['newline just before the last chunk', 65_536],
    ['newline as the first byte of the last chunk', 65_535],
    ['tail exactly one chunk plus one byte', 65_537],
  ])('chunk boundary: %s', (_name, tailLength) => {
    const head = `${'a'.repeat(1000)}\n`;
    const path = file(`boundary-${tailLength}.jsonl`, head + 'b'.repeat(tailLength));
    expect(dropTornTail(path)).toBe(tailLength);
    expect(readFileSync(path, 'utf8')).toBe(head);
  });
});

// ---------------------------------------------------------------------------------------------
describe('JsonlWriter', () => {
  it('writes one line per record and counts them', async () => {
    const path = join(dir, 'out.jsonl');
    const w = new JsonlWriter(path);
    w.write({ id: 'a', n: 1 });
    w.write({ id: 'b', text: 'line\nbreak' });
    expect(w.written).toBe(2);
    w.close();
    expect(readFileSync(path, 'utf8')).toBe('{"id":"a","n":1}\n{"id":"b","text":"line\\nbreak"}\n');
    expect(await readJsonlValues(path)).toEqual([{ id: 'a', n: 1 }, { id: 'b', text: 'line\nbreak' }]);
  });

  it('appends to an existing file; written counts only its own records', () => {
    const path = file('existing.jsonl', '{"id":"old"}\n');
    const w = new JsonlWriter(path);
    expect(w.written).toBe(0);
    w.write({ id: 'new' });
    w.close();
    expect(readFileSync(path, 'utf8')).toBe('{"id":"old"}\n{"id":"new"}\n');
    expect(w.written).toBe(1);
  });

  it('drops a torn tail before appending, so no line is glued to half a record', () => {
    const path = file('torn.jsonl', '{"id":"old"}\n{"id":"ha');
    const w = new JsonlWriter(path);
    w.write({ id: 'new' });
    w.close();
    expect(readFileSync(path, 'utf8')).toBe('{"id":"old"}\n{"id":"new"}\n');
  });

  it('refuses writes after close; close is idempotent', () => {
    const path = join(dir, 'closed.jsonl');
    const w = new JsonlWriter(path);
    w.close();
    w.close();
    expect(() => w.write({ id: 'x' })).toThrow(/writer is closed/);
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('the file exists (empty) as soon as the writer is opened', () => {
    const path = join(dir, 'created.jsonl');
    const w = new JsonlWriter(path);
    expect(existsSync(path)).toBe(true);
    w.close();
  });
});

// ---------------------------------------------------------------------------------------------
describe('textProblem and contentId', () => {
  it('accepts prose, tabs and newlines', () => {
    expect(textProblem(PROSE)).toBeUndefined();
    expect(textProblem('a\tb\r\nc\n')).toBeUndefined();
  });

  it('empty and whitespace-only text is input_empty', () => {
    expect(textProblem('')?.check).toBe('input_empty');
    expect(textProblem(' \n\t ')?.check).toBe('input_empty');
  });

  it('NUL bytes and mostly-control text are input_not_text', () => {
    expect(textProblem('abc\u0000def')).toEqual({ check: 'input_not_text', message: 'text contains NUL bytes (binary data?)' });
    expect(textProblem('\u0001\u0002\u0003abc')?.check).toBe('input_not_text');
    expect(textProblem('\uFFFD\uFFFD\uFFFDab')?.check).toBe('input_not_text');
    // a few control characters in long prose are tolerated
    expect(textProblem(`${PROSE}\u0007`)).toBeUndefined();
  });

  it('contentId is doc_ + the first 16 hex chars of the SHA-256 of the text, and stable', () => {
    const expected = `doc_${createHash('sha256').update(PROSE).digest('hex').slice(0, 16)}`;
    expect(contentId(PROSE)).toBe(expected);
    expect(contentId(PROSE)).toBe(contentId(`${PROSE}`));
    expect(contentId(PROSE)).toMatch(/^doc_[0-9a-f]{16}$/);
    expect(contentId(`${PROSE} `)).not.toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
describe('readDocuments: JSONL', () => {
  it('reads text and id with the default fields, recording file and line', async () => {
    const path = file('docs.jsonl', `${JSON.stringify({ id: 'd1', text: PROSE })}\n\n${JSON.stringify({ id: 'd2', text: 'Second text.' })}\n`);
    const items = await all(readDocuments(path, OPTS));
    expect(items).toEqual([
      { kind: 'document', document: { id: 'd1', text: PROSE, origin: { file: path, line: 1 } } },
      { kind: 'document', document: { id: 'd2', text: 'Second text.', origin: { file: path, line: 3 } } },
    ]);
  });

  it('uses --text-field and --id-field', async () => {
    const path = file('custom.jsonl', `${JSON.stringify({ uid: 'u-7', body: PROSE, text: 'not this' })}\n`);
    const [doc] = docs(await all(readDocuments(path, { textField: 'body', idField: 'uid' })));
    expect(doc).toMatchObject({ id: 'u-7', text: PROSE });
  });

  it('turns numeric ids into strings', async () => {
    const path = file('num.jsonl', `${JSON.stringify({ id: 42, text: PROSE })}\n${JSON.stringify({ id: 0, text: 'Zero.' })}\n`);
    expect(docs(await all(readDocuments(path, OPTS))).map((d) => d.id)).toEqual(['42', '0']);
  });

  it('without an id (or with an empty or non-scalar one) the id is a stable content hash', async () => {
    const lines = [{ text: PROSE }, { id: '', text: 'Empty id.' }, { id: { nested: 1 }, text: 'Object id.' }, { id: null, text: 'Null id.' }];
    const path = file('noid.jsonl', lines.map((l) => JSON.stringify(l)).join('\n'));
    const first = docs(await all(readDocuments(path, OPTS)));
    expect(first.map((d) => d.id)).toEqual([contentId(PROSE), contentId('Empty id.'), contentId('Object id.'), contentId('Null id.')]);
    // a second read (another run, another file) gives the same ids
    const copy = file('noid-copy.jsonl', readFileSync(path));
    expect(docs(await all(readDocuments(copy, OPTS))).map((d) => d.id)).toEqual(first.map((d) => d.id));
  });

  it('a missing text field is a rejection naming file:line, the field, the fields present and the flag', async () => {
    const path = file('missing.jsonl', `${JSON.stringify({ id: 'ok', text: PROSE })}\n${JSON.stringify({ id: 'r2', body: 'x', title: 'y' })}\n`);
    const items = await all(readDocuments(path, OPTS));
    expect(docs(items)).toHaveLength(1);
    const [rej] = rejections(items);
    // Rejected records keep their id, tagged with the file (relative) and line: unique and stable.
    expect(rej?.id).toBe('r2@missing.jsonl:2');
    expect(rej?.reasons).toEqual([
      {
        check: 'input_text_missing',
        path: 'text',
        message: `${path}:2: no string field "text" (fields: id, body, title); choose one with --text-field`,
      },
    ]);
  });

  it('a non-string text is input_text_type, an empty object input_text_missing; an unnamed record is identified by file:line', async () => {
    const path = file('nonstring.jsonl', `${JSON.stringify({ text: 17 })}\n{}\n`);
    const rejs = rejections(await all(readDocuments(path, OPTS)));
    expect(rejs.map((r) => r.id)).toEqual(['nonstring.jsonl:1', 'nonstring.jsonl:2']);
    expect(rejs.map((r) => r.reasons[0]?.check)).toEqual(['input_text_type', 'input_text_missing']);
    expect(rejs[1]?.reasons[0]?.message).toContain('(fields: none)');
  });

  it('a text field of the wrong type says its type, naming file:line', async () => {
    const path = file('wrongtype.jsonl', `${JSON.stringify({ id: 'a', text: 42 })}\n${JSON.stringify({ id: 'b', text: null })}\n${JSON.stringify({ id: 'c', text: ['x'] })}\n`);
    const rejs = rejections(await all(readDocuments(path, OPTS)));
    expect(rejs.map((r) => r.reasons[0])).toEqual([
      { check: 'input_text_type', path: 'text', message: `${path}:1: field "text" is a number, not a string` },
      { check: 'input_text_type', path: 'text', message: `${path}:2: field "text" is null, not a string` },
      { check: 'input_text_type', path: 'text', message: `${path}:3: field "text" is an array, not a string` },
    ]);
  });

  it('lists at most eight fields', async () => {
    const rec = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, i]));
    const path = file('wide.jsonl', `${JSON.stringify(rec)}\n`);
    const [rej] = rejections(await all(readDocuments(path, OPTS)));
    expect(rej?.reasons[0]?.message).toContain('(fields: f0, f1, f2, f3, f4, f5, f6, f7)');
    expect(rej?.reasons[0]?.message).not.toContain('f8');
  });

  it('empty text and binary text (NUL) are rejected with file:line', async () => {
    const path = file('bad-text.jsonl', [{ id: 'e', text: '   ' }, { id: 'b', text: 'PK\u0003\u0004\u0000\u0000binary' }].map((l) => JSON.stringify(l)).join('\n'));
    const rejs = rejections(await all(readDocuments(path, OPTS)));
    expect(rejs).toEqual([
      { kind: 'rejection', id: 'e@bad-text.jsonl:1', reasons: [{ check: 'input_empty', path: 'text', message: `${path}:1: text is empty` }] },
      { kind: 'rejection', id: 'b@bad-text.jsonl:2', reasons: [{ check: 'input_not_text', path: 'text', message: `${path}:2: text contains NUL bytes (binary data?)` }] },
    ]);
  });

  it('bad JSON and non-object lines are rejections, not exceptions', async () => {
    const path = file('junk.jsonl', `{"id":"a",\n[1,2]\n"str"\n${JSON.stringify({ id: 'good', text: PROSE })}\n`);
    const items = await all(readDocuments(path, OPTS));
    const rejs = rejections(items);
    expect(rejs.map((r) => [r.id, r.reasons[0]?.check])).toEqual([
      ['junk.jsonl:1', 'input_json'],
      ['junk.jsonl:2', 'input_shape'],
      ['junk.jsonl:3', 'input_shape'],
    ]);
    expect(rejs[0]?.reasons[0]?.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1: invalid JSON`));
    expect(docs(items).map((d) => d.id)).toEqual(['good']);
  });

  it('a repeated id is rejected as duplicate_id naming where it repeats; the first wins', async () => {
    const path = file(
      'dups.jsonl',
      [{ id: 'x', text: PROSE }, { id: 'y', text: 'Other.' }, { id: 'x', text: 'Different text, same id.' }].map((l) => JSON.stringify(l)).join('\n'),
    );
    const items = await all(readDocuments(path, OPTS));
    expect(docs(items).map((d) => [d.id, d.text])).toEqual([
      ['x', PROSE],
      ['y', 'Other.'],
    ]);
    const [rej] = rejections(items);
    expect(rej?.id).toBe(`x@${path}:3`);
    expect(rej?.reasons).toEqual([{ check: 'duplicate_id', message: `${path}:3: id "x" was already used by an earlier document` }]);
  });

  it('identical texts without ids collide on their content hash and the repeat is rejected', async () => {
    const path = file('same-text.jsonl', `${JSON.stringify({ text: PROSE })}\n${JSON.stringify({ text: PROSE })}\n`);
    const items = await all(readDocuments(path, OPTS));
    expect(docs(items)).toHaveLength(1);
    expect(rejections(items)[0]?.reasons[0]?.check).toBe('duplicate_id');
  });

  it('reads a .ndjson and a .json (one object per line) file the same way', async () => {
    for (const name of ['c.ndjson', 'c.json']) {
      const path = file(name, `${JSON.stringify({ id: name, text: PROSE })}\n`);
      expect(docs(await all(readDocuments(path, OPTS))).map((d) => d.id)).toEqual([name]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('readDocuments: text files and folders', () => {
  it('a single .txt file is one document whose id is the file name', async () => {
    const path = file('guide.txt', PROSE);
    expect(await all(readDocuments(path, OPTS))).toEqual([{ kind: 'document', document: { id: 'guide.txt', text: PROSE, markup: 'markdown', origin: { file: path } } }]);
  });

  it('the markup a document declares: by file type, by a format or MIME field, else none (the segmenter sniffs)', async () => {
    const html = '<p>Use <code>&lt;Account ID&gt;</code>.</p>';
    expect(docs(await all(readDocuments(file('page.html', html), OPTS)))[0]?.markup).toBe('html');
    expect(docs(await all(readDocuments(file('page.htm.gz', gzipSync(html)), OPTS)))[0]?.markup).toBe('html');
    expect(docs(await all(readDocuments(file('notes.md', 'Use <Account ID>.'), OPTS)))[0]?.markup).toBe('markdown');
    expect(docs(await all(readDocuments(file('notes', 'Use <Account ID>.'), OPTS)))[0]?.markup).toBeUndefined();
    const lines = [
      { id: 'a', text: html, mime: 'text/html; charset=utf-8' },
      { id: 'b', text: html, format: 'markdown' },
      { id: 'c', text: html, content_type: 'text/plain' },
      { id: 'd', text: html, format: 'qa' },
      { id: 'e', text: html },
    ];
    const path = file('records.jsonl', lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(docs(await all(readDocuments(path, OPTS))).map((d) => d.markup)).toEqual(['html', 'markdown', 'markdown', undefined, undefined]);
  });

  it('a folder: .md/.txt/.jsonl files, recursively, in sorted order, with relative-path ids', async () => {
    const root = join(dir, 'corpus');
    file('corpus/b.md', '# B\n\nSecond.');
    file('corpus/a.txt', 'First.');
    file('corpus/sub/c.md', 'Third.');
    file('corpus/sub/deeper/d.txt', 'Fourth.');
    file('corpus/z.jsonl', `${JSON.stringify({ id: 'zz', text: 'Fifth.' })}\n`);
    file('corpus/notes.pdf', 'ignored');
    file('corpus/.hidden.md', 'ignored');
    file('corpus/.git/HEAD.md', 'ignored');
    const items = await all(readDocuments(root, OPTS));
    // A file of a type gemtraj does not read is reported by name, never skipped in silence; so are hidden entries.
    expect(rejections(items)).toEqual([
      { kind: 'rejection', id: '.git/', reasons: [{ check: 'input_hidden', message: expect.stringContaining(`${join(root, '.git')}: hidden folder`) }] },
      { kind: 'rejection', id: '.hidden.md', reasons: [{ check: 'input_hidden', message: expect.stringContaining(`${join(root, '.hidden.md')}: hidden file`) }] },
      { kind: 'rejection', id: 'notes.pdf', reasons: [{ check: 'input_unsupported', message: expect.stringContaining(`${join(root, 'notes.pdf')}: not a file type gemtraj reads`) }] },
    ]);
    expect(docs(items).map((d) => d.id)).toEqual(['a.txt', 'b.md', 'sub/c.md', 'sub/deeper/d.txt', 'zz']);
    expect(docs(items).map((d) => d.text)).toEqual(['First.', '# B\n\nSecond.', 'Third.', 'Fourth.', 'Fifth.']);
    expect(docs(items)[2]?.origin).toEqual({ file: join(root, 'sub', 'c.md') });
    expect(listInputFiles(root)).toEqual([
      join(root, '.git'),
      join(root, '.hidden.md'),
      join(root, 'a.txt'),
      join(root, 'b.md'),
      join(root, 'notes.pdf'),
      join(root, 'sub', 'c.md'),
      join(root, 'sub', 'deeper', 'd.txt'),
      join(root, 'z.jsonl'),
    ]);
  });

  it('the order does not depend on creation order', async () => {
    const root = join(dir, 'order');
    for (const n of ['m.md', 'c.md', 'x.md', 'a.md']) file(`order/${n}`, `Text of ${n}.`);
    expect(docs(await all(readDocuments(root, OPTS))).map((d) => d.id)).toEqual(['a.md', 'c.md', 'm.md', 'x.md']);
  });

  it('an empty or binary text file is a rejection naming the file', async () => {
    const root = join(dir, 'mixed');
    const empty = file('mixed/empty.txt', '\n\n');
    const bin = file('mixed/bin.md', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x1a, 0x0a]));
    file('mixed/ok.txt', PROSE);
    const items = await all(readDocuments(root, OPTS));
    expect(rejections(items)).toEqual([
      { kind: 'rejection', id: 'bin.md', reasons: [{ check: 'input_not_text', message: `${bin}: text contains NUL bytes (binary data?)` }] },
      { kind: 'rejection', id: 'empty.txt', reasons: [{ check: 'input_empty', message: `${empty}: text is empty` }] },
    ]);
    expect(docs(items).map((d) => d.id)).toEqual(['ok.txt']);
  });

  it('ids repeated across files of a folder are rejected', async () => {
    const root = join(dir, 'dupdir');
    file('dupdir/a.jsonl', `${JSON.stringify({ id: 'same', text: PROSE })}\n`);
    file('dupdir/b.jsonl', `${JSON.stringify({ id: 'same', text: 'Other.' })}\n`);
    const items = await all(readDocuments(root, OPTS));
    expect(docs(items)).toHaveLength(1);
    expect(rejections(items)[0]?.id).toBe(`same@${join(root, 'b.jsonl')}:1`);
  });

  it('an unsupported extension is an InputError naming the file and the types allowed', () => {
    const path = file('data.docx', 'PK');
    expect(() => listInputFiles(path)).toThrow(InputError);
    expect(() => listInputFiles(path)).toThrow(`${path}: unsupported input type ".docx"`);
  });

  it('readDocuments throws the InputError on first use', async () => {
    const path = file('data.parquet', 'PAR1');
    await expect(all(readDocuments(path, OPTS))).rejects.toBeInstanceOf(InputError);
  });

  it('a missing path and a folder without usable files are InputErrors', async () => {
    const missing = join(dir, 'nowhere');
    expect(() => listInputFiles(missing)).toThrow(new InputError(`${missing}: no such file or folder`));
    const root = join(dir, 'useless');
    file('useless/.b.md', 'hidden');
    expect(() => listInputFiles(root)).toThrow(/the folder holds no file gemtraj reads; it holds .b.md: hidden/);
    const error = (() => {
      try {
        listInputFiles(root);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).name).toBe('InputError');
  });

  it('extensions are matched case-insensitively', async () => {
    const path = file('UPPER.MD', PROSE);
    expect(docs(await all(readDocuments(path, OPTS))).map((d) => d.id)).toEqual(['UPPER.MD']);
  });
});

// ---------------------------------------------------------------------------------------------
describe('countInputRecords', () => {
  it('counts non-blank JSONL lines (bad ones too) and one per text file', async () => {
    const root = join(dir, 'count');
    file('count/a.jsonl', '{"text":"a"}\n\n{"text":"b"}\nnot json\n   \n{"text":"c"}');
    file('count/b.md', 'B');
    file('count/sub/c.txt', 'C');
    file('count/one-row.csv', 'x\ny\n');
    file('count/unsupported.pdf', 'x');
    // 4 JSONL lines, 2 text files, 1 CSV row, 1 unsupported file (one rejection)
    expect(await countInputRecords(root)).toBe(8);
    expect(await countInputRecords(join(root, 'a.jsonl'))).toBe(4);
    expect(await countInputRecords(join(root, 'b.md'))).toBe(1);
  });

  it('agrees with readDocuments on how many items a corpus yields', async () => {
    const root = join(dir, 'agree');
    file('agree/x.jsonl', [JSON.stringify({ id: 1, text: PROSE }), '', 'broken', JSON.stringify({ id: 1, text: 'dup' }), JSON.stringify({ body: 'no text' })].join('\n'));
    file('agree/y.txt', PROSE);
    file('agree/z.txt', '');
    const items = await all(readDocuments(root, OPTS));
    expect(await countInputRecords(root)).toBe(items.length);
  });

  it('throws InputError for a missing input', async () => {
    await expect(countInputRecords(join(dir, 'nope.jsonl'))).rejects.toBeInstanceOf(InputError);
  });
});

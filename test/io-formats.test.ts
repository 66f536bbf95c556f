/**
 * Corpora as users have them: the same documents as JSON Lines, Parquet (Ultra-FineWeb's
 * `content` and FineWeb's `text` shapes), .jsonl.gz, .jsonl.zst, a JSON array, CSV, TSV, a
 * Common Crawl WET file and standard input give the same documents and the same segments;
 * a folder mixing them reads every file or names the one it cannot read.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contentId, countInputRecords, InputError, listInputFiles, readDocuments, type InputItem, type ReadOptions } from '../src/io/documents.js';
import { readCsv } from '../src/io/csv.js';
import { readJsonArray } from '../src/io/json-array.js';
import { segmentDocument } from '../src/stages/segment.js';
import type { Document } from '../src/records.js';
import { builtCli, runMain } from '../src/testing/cli-harness.js';
import { corpusJsonl, FORMAT_CORPUS } from './helpers/format-corpus.js';

const OPTS: ReadOptions = { textField: 'text', idField: 'id' };
const ZST_FIXTURE = join(__dirname, 'fixtures', 'format-corpus.jsonl.zst');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-formats-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function all<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}
const docs = (items: InputItem[]): Document[] => items.flatMap((i) => (i.kind === 'document' ? [i.document] : []));
const rejections = (items: InputItem[]): Array<Extract<InputItem, { kind: 'rejection' }>> =>
  items.flatMap((i) => (i.kind === 'rejection' ? [i] : []));

function path(name: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  return p;
}
function write(name: string, content: string | Buffer): string {
  const p = path(name);
  writeFileSync(p, content);
  return p;
}

function csvField(value: string, delimiter: string): string {
  return /["\n\r]/.test(value) || value.includes(delimiter) ? `"${value.replace(/"/g, '""')}"` : value;
}
function csv(delimiter: ',' | '\t', crlf = false): string {
  const nl = crlf ? '\r\n' : '\n';
  const rows = [['id', 'url', 'text'], ...FORMAT_CORPUS.map((d) => [d.id, d.url, d.text])];
  return rows.map((r) => r.map((f) => csvField(f, delimiter)).join(delimiter)).join(nl) + nl;
}

/** Ultra-FineWeb's shape: the text in `content`, no id column, a quality score. */
function writeContentParquet(name: string, rowGroupSize?: number): string {
  const file = path(name);
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'content', data: FORMAT_CORPUS.map((d) => d.text), type: 'STRING' },
      { name: 'score', data: FORMAT_CORPUS.map((_, i) => 0.5 + i / 100), type: 'DOUBLE' },
    ],
    ...(rowGroupSize === undefined ? {} : { rowGroupSize }),
  });
  return file;
}
/** FineWeb's shape: `text`, `id`, `url`, `dump`, … */
function writeTextParquet(name: string, rowGroupSize?: number): string {
  const file = path(name);
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'text', data: FORMAT_CORPUS.map((d) => d.text), type: 'STRING' },
      { name: 'id', data: FORMAT_CORPUS.map((d) => d.id), type: 'STRING' },
      { name: 'dump', data: FORMAT_CORPUS.map(() => 'CC-MAIN-2024-10'), type: 'STRING' },
      { name: 'url', data: FORMAT_CORPUS.map((d) => d.url), type: 'STRING' },
    ],
    ...(rowGroupSize === undefined ? {} : { rowGroupSize }),
  });
  return file;
}

function warcRecord(headers: Record<string, string>, body: string): string {
  const bytes = Buffer.byteLength(body, 'utf8');
  const head = Object.entries({ ...headers, 'Content-Length': String(bytes) })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return `WARC/1.0\r\n${head}\r\n\r\n${body}\r\n\r\n`;
}
/** A Common Crawl WET file: a warcinfo record, then one conversion record per page. */
function wet(): string {
  const info = warcRecord({ 'WARC-Type': 'warcinfo', 'WARC-Record-ID': '<urn:uuid:info>', 'Content-Type': 'application/warc-fields' }, 'isPartOf: CC-MAIN-2024-10\r\n');
  const pages = FORMAT_CORPUS.map((d) =>
    warcRecord(
      { 'WARC-Type': 'conversion', 'WARC-Target-URI': d.url, 'WARC-Date': '2024-02-20T00:00:00Z', 'WARC-Record-ID': `<${d.id}>`, 'Content-Type': 'text/plain' },
      d.text,
    ),
  );
  return info + pages.join('');
}

function segmentsOf(documents: Document[]): Array<{ id: string; text: string }> {
  return documents.flatMap((d) => segmentDocument(d).map((s) => ({ id: s.id, text: s.text })));
}
const EXPECTED_IDS = FORMAT_CORPUS.map((d) => d.id);
const EXPECTED_TEXTS = FORMAT_CORPUS.map((d) => d.text);

// ---------------------------------------------------------------------------------------------
describe('the same documents in every format', () => {
  const reference = (): Array<{ id: string; text: string }> => segmentsOf(FORMAT_CORPUS.map((d) => ({ id: d.id, text: d.text })));

  it('the corpus splits into several segments (the comparison is not trivial)', () => {
    expect(reference().length).toBeGreaterThan(FORMAT_CORPUS.length);
  });

  const cases: Array<[string, () => string]> = [
    ['JSON Lines', () => write('c.jsonl', corpusJsonl())],
    ['.jsonl.gz', () => write('c.jsonl.gz', gzipSync(corpusJsonl()))],
    ['.jsonl.zst (two zstd frames, made by the zstd CLI)', () => ZST_FIXTURE],
    ['.json.gz holding a JSON array', () => write('c.json.gz', gzipSync(JSON.stringify(FORMAT_CORPUS, null, 2)))],
    ['a JSON array', () => write('c.json', JSON.stringify(FORMAT_CORPUS, null, 2))],
    ['CSV with a header (quoted fields, embedded newlines and quotes)', () => write('c.csv', csv(','))],
    ['CSV with CRLF line ends', () => write('crlf.csv', csv(',', true))],
    ['TSV', () => write('c.tsv', csv('\t'))],
    ['Parquet, FineWeb shape (text, id, url, one row group per 2 rows)', () => writeTextParquet('train-00000-of-00001.parquet', 2)],
    ['a Common Crawl WET file, gzip (.warc.wet.gz)', () => write('CC-MAIN-x.warc.wet.gz', gzipSync(wet()))],
    // Common Crawl compresses each record as its own gzip member.
    ['a WET file of one gzip member per record', () => write('members.warc.wet.gz', Buffer.concat(wet().split(/(?=WARC\/1\.0\r\n)/).map((r) => gzipSync(r))))],
    ['a gzip file named by compression only (layout sniffed)', () => write('dump.gz', gzipSync(corpusJsonl()))],
    ['JSON Lines without an extension (sniffed)', () => write('corpus', corpusJsonl())],
  ];
  for (const [name, make] of cases) {
    it(`${name}: same ids, texts and segments as the JSONL`, async () => {
      const items = await all(readDocuments(make(), OPTS));
      expect(rejections(items)).toEqual([]);
      const got = docs(items);
      expect(got.map((d) => d.id)).toEqual(EXPECTED_IDS);
      expect(got.map((d) => d.text)).toEqual(EXPECTED_TEXTS);
      expect(got.map((d) => d.url)).toEqual(FORMAT_CORPUS.map((d) => d.url));
      expect(segmentsOf(got)).toEqual(reference());
    });
  }

  it('Parquet in the Ultra-FineWeb shape (content, no id) with --text-field content: same texts and segment texts; ids are content hashes', async () => {
    const file = writeContentParquet('ultra.parquet', 4);
    const got = docs(await all(readDocuments(file, { textField: 'content', idField: 'id' })));
    expect(got.map((d) => d.text)).toEqual(EXPECTED_TEXTS);
    expect(got.map((d) => d.id)).toEqual(EXPECTED_TEXTS.map(contentId));
    expect(segmentsOf(got).map((s) => s.text)).toEqual(reference().map((s) => s.text));
    expect(got[5]?.origin).toEqual({ file, row: 6 });
  });

  it('a Parquet file without the text column is named with its columns and the flag to choose', async () => {
    const file = writeContentParquet('ultra.parquet');
    const attempt = all(readDocuments(file, OPTS));
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(all(readDocuments(file, OPTS))).rejects.toThrow(`${file}: no column "text" (columns: content, score); choose one with --text-field`);
  });

  it('the Hugging Face layout: a data/ folder of shards, or a quoted glob over them', async () => {
    writeTextParquet('hf/data/train-00000-of-00002.parquet');
    write('hf/data/train-00001-of-00002.jsonl', `${JSON.stringify({ id: 'extra', text: 'Press the power button for three seconds, then release it.' })}\n`);
    write('hf/README.md', '---\nlicense: odc-by\n---\n# Dataset card');
    const fromFolder = docs(await all(readDocuments(join(dir, 'hf', 'data'), OPTS)));
    expect(fromFolder.map((d) => d.id)).toEqual([...EXPECTED_IDS, 'extra']);
    const fromGlob = docs(await all(readDocuments(join(dir, 'hf', 'data', 'train-*.parquet'), OPTS)));
    expect(fromGlob.map((d) => d.id)).toEqual(EXPECTED_IDS);
    const recursive = await all(readDocuments(join(dir, 'hf', '**', '*-of-00002.*'), OPTS));
    expect(docs(recursive).map((d) => d.id)).toEqual([...EXPECTED_IDS, 'extra']);
    expect(() => listInputFiles(join(dir, 'hf', 'data', 'test-*.parquet'))).toThrow('the pattern matches no file');
    expect(await countInputRecords(join(dir, 'hf', 'data'))).toBe(FORMAT_CORPUS.length + 1);
  });
});

// ---------------------------------------------------------------------------------------------
describe('where a bad record is, per format', () => {
  it('CSV: row number and line; a row with the wrong number of fields; a missing text column', async () => {
    const file = write('bad.csv', `id,text\na,"Open the app, then sign in."\nb,"two\nlines",extra\nc,\n`);
    const items = await all(readDocuments(file, OPTS));
    expect(docs(items).map((d) => [d.id, d.origin])).toEqual([['a', { file, row: 1, line: 2 }]]);
    expect(rejections(items)).toEqual([
      { kind: 'rejection', id: 'bad.csv:row 2', reasons: [{ check: 'input_shape', message: `${file}: row 2 (line 3): 3 field(s) but the header has 2 (an unquoted delimiter or newline?)` }] },
      { kind: 'rejection', id: 'c@bad.csv:row 3', reasons: [{ check: 'input_empty', path: 'text', message: `${file}: row 3 (line 5): text is empty` }] },
    ]);
    const noText = write('notext.csv', 'id,body\n1,x\n');
    await expect(all(readDocuments(noText, OPTS))).rejects.toThrow('no column "text" in the header row (columns: id, body); choose one with --text-field');
  });

  it('Parquet: the row number', async () => {
    const file = path('rows.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'text', data: ['Open the app and sign in.', '   ', 'Choose Claims, then Upload.'], type: 'STRING' },
        { name: 'id', data: ['r1', 'r2', 'r3'], type: 'STRING' },
      ],
      rowGroupSize: 2,
    });
    const items = await all(readDocuments(file, OPTS));
    expect(docs(items).map((d) => [d.id, d.origin?.row])).toEqual([
      ['r1', 1],
      ['r3', 3],
    ]);
    expect(rejections(items)).toEqual([{ kind: 'rejection', id: 'r2@rows.parquet:row 2', reasons: [{ check: 'input_empty', path: 'text', message: `${file}: row 2: text is empty` }] }]);
  });

  it('WET: the record offset; a WARC without conversion records is named', async () => {
    const good = warcRecord({ 'WARC-Type': 'conversion', 'WARC-Record-ID': '<urn:uuid:1>', 'WARC-Target-URI': 'https://a.example/' }, 'Open the app.');
    const empty = warcRecord({ 'WARC-Type': 'conversion', 'WARC-Record-ID': '<urn:uuid:2>', 'WARC-Target-URI': 'https://b.example/' }, '  \n');
    const file = write('x.warc.wet', good + empty);
    const items = await all(readDocuments(file, OPTS));
    // Extracted text: never read as HTML.
    expect(docs(items)).toEqual([{ id: 'urn:uuid:1', text: 'Open the app.', url: 'https://a.example/', markup: 'markdown', origin: { file, offset: 0 } }]);
    const offset = Buffer.byteLength(good);
    expect(rejections(items)).toEqual([
      { kind: 'rejection', id: `urn:uuid:2@x.warc.wet:offset ${offset}`, reasons: [{ check: 'input_empty', message: `${file}: record at byte ${offset}: text is empty` }] },
    ]);
    const warc = write('y.warc', warcRecord({ 'WARC-Type': 'response', 'WARC-Record-ID': '<urn:uuid:3>' }, '<html></html>'));
    await expect(all(readDocuments(warc, OPTS))).rejects.toThrow('no WARC conversion records (1 response)');
  });

  it('a JSON array: element numbers; a cut-short array keeps what was read and names the file', async () => {
    const root = path('arr');
    write('arr/a.json', '[{"id":"x","text":"Open the app."}, {"id":"y"}, 7, {"id":"z","text":"Sign in."}]');
    write('arr/b.json', '[{"id":"w","text":"Tap Save."}, {"id":"v","te');
    const items = await all(readDocuments(root, OPTS));
    expect(docs(items).map((d) => [d.id, d.origin?.row])).toEqual([
      ['x', 1],
      ['z', 4],
      ['w', 1],
    ]);
    expect(rejections(items).map((r) => [r.id, r.reasons[0]?.check])).toEqual([
      ['y@a.json:row 2', 'input_text_missing'],
      ['a.json:row 3', 'input_shape'],
      ['b.json@1', 'input_unreadable'],
    ]);
    expect(rejections(items)[2]?.reasons[0]?.message).toBe(
      `${join(root, 'b.json')}: the array is not closed ("]" missing) after element 1: the file is cut short (after 1 record(s); the rest of the file is not read)`,
    );
  });

  it('an empty JSON array is no document and no error', async () => {
    expect(await all(readDocuments(write('e.json', ' [ ] '), OPTS))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('a folder mixing every format', () => {
  it('reads every file it can and names each one it cannot, with the reason', async () => {
    const root = path('mixed');
    write('mixed/a.jsonl', `${JSON.stringify(FORMAT_CORPUS[0])}\n`);
    write('mixed/b.jsonl.gz', gzipSync(`${JSON.stringify(FORMAT_CORPUS[1])}\n`));
    write('mixed/c.csv', `id,text\n${FORMAT_CORPUS[2]?.id},${csvField(FORMAT_CORPUS[2]?.text ?? '', ',')}\n`);
    writeTextParquet('mixed/d.parquet');
    write('mixed/e.warc.wet', warcRecord({ 'WARC-Type': 'conversion', 'WARC-Record-ID': '<wet-1>', 'WARC-Target-URI': 'https://w.example/' }, 'Hold the button, then release.'));
    write('mixed/f.md', '# Title\n\nClick Save.');
    const corruptGz = write('mixed/g.jsonl.gz', Buffer.concat([gzipSync(corpusJsonl()).subarray(0, 40)]));
    const badZst = write('mixed/h.jsonl.zst', Buffer.from('not zstd at all'));
    const pdf = write('mixed/i.pdf', '%PDF-1.4');
    const items = await all(readDocuments(root, OPTS));
    const ids = docs(items).map((d) => d.id);
    expect(ids.slice(0, 3)).toEqual(['guide-001', 'guide-002', 'note-003']);
    // d.parquet repeats every id of the corpus: the first three are duplicates, named by row.
    expect(ids).toContain('wet-1');
    expect(ids).toContain('f.md');
    const rejected = rejections(items);
    expect(rejected.filter((r) => r.reasons[0]?.check === 'duplicate_id').map((r) => r.id)).toEqual([
      `guide-001@${join(root, 'd.parquet')}: row 1`,
      `guide-002@${join(root, 'd.parquet')}: row 2`,
      `note-003@${join(root, 'd.parquet')}: row 3`,
    ]);
    const unreadable = rejected.filter((r) => r.reasons[0]?.check !== 'duplicate_id');
    expect(unreadable.map((r) => [r.id, r.reasons[0]?.check])).toEqual([
      ['g.jsonl.gz', 'input_unreadable'],
      ['h.jsonl.zst', 'input_unreadable'],
      ['i.pdf', 'input_unsupported'],
    ]);
    expect(unreadable[0]?.reasons[0]?.message).toMatch(new RegExp(`^${corruptGz.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    expect(unreadable[1]?.reasons[0]?.message).toContain(badZst);
    expect(unreadable[2]?.reasons[0]?.message).toContain(`${pdf}: not a file type gemtraj reads`);
  });
});

// ---------------------------------------------------------------------------------------------
describe('streaming parsers', () => {
  async function* chunked(text: string, size: number): AsyncGenerator<Buffer> {
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }

  it('CSV records are the same whatever the chunk boundaries (quotes, CRLF and multi-byte characters split)', async () => {
    const text = csv(',', true);
    const whole = await all(readCsv(chunked(text, 1 << 20), ','));
    for (const size of [1, 2, 3, 7, 64]) expect(await all(readCsv(chunked(text, size), ','))).toEqual(whole);
    expect(whole).toHaveLength(FORMAT_CORPUS.length + 1);
    expect(whole[3]?.fields[2]).toBe(FORMAT_CORPUS[2]?.text);
  });

  it('JSON array elements are the same whatever the chunk boundaries', async () => {
    const text = JSON.stringify([...FORMAT_CORPUS, { nested: { a: [1, { b: '] } , [' }] } }], null, 1);
    const whole = await all(readJsonArray(chunked(text, 1 << 20)));
    for (const size of [1, 3, 17]) expect(await all(readJsonArray(chunked(text, size)))).toEqual(whole);
    expect(whole.map((e) => e.value)).toEqual(JSON.parse(text) as unknown[]);
  });

  it('a CSV ending inside a quoted field is an error naming the record', async () => {
    await expect(all(readCsv(chunked('id,text\n1,"open', 4), ','))).rejects.toThrow('the file ends inside a quoted field (record starting on line 2)');
  });
});

// ---------------------------------------------------------------------------------------------
describe('the CLI: stdin, pipes, --shard, --max-docs and resume on any format', () => {
  beforeAll(() => {
    if (!existsSync(builtCli())) throw new Error('run `npm run build` first: this test spawns dist/cli/main.js');
  });

  function run(args: string[], options: { input?: Buffer | string; shell?: string } = {}): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      const [file, argv] = options.shell !== undefined ? ['bash', ['-c', options.shell]] : [process.execPath, [builtCli(), ...args]];
      const child = execFile(file, argv as string[], { maxBuffer: 16 << 20 }, (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr });
      });
      child.stdin?.end(options.input ?? '');
    });
  }
  const segmentsFile = (out: string): string => readFileSync(join(out, 'segments.jsonl'), 'utf8');

  it('JSONL on stdin (`-`), gzip on /dev/stdin and zstd through <(zstdcat …) give the segments of the JSONL file', async () => {
    const jsonl = write('c.jsonl', corpusJsonl());
    const outFile = path('out-file');
    expect((await run(['filter', jsonl, '--out', outFile, '--filter', 'local', '--quiet'])).code).toBe(0);
    const expected = segmentsFile(outFile);
    expect(expected.split('\n').filter(Boolean).length).toBeGreaterThan(FORMAT_CORPUS.length);

    const outStdin = path('out-stdin');
    const r1 = await run(['filter', '-', '--out', outStdin, '--filter', 'local', '--quiet'], { input: corpusJsonl() });
    expect(r1).toEqual({ code: 0, stderr: '' });
    expect(segmentsFile(outStdin)).toBe(expected);

    const outDev = path('out-dev');
    const r2 = await run(['filter', '/dev/stdin', '--out', outDev, '--filter', 'local', '--quiet'], { input: gzipSync(corpusJsonl()) });
    expect(r2.code).toBe(0);
    expect(segmentsFile(outDev)).toBe(expected);

    // A FIFO from process substitution; the zstd fixture is decoded by gemtraj (cat keeps it compressed).
    const outFifo = path('out-fifo');
    const cli = `"${process.execPath}" "${builtCli()}"`;
    const r3 = await run([], { shell: `${cli} filter <(cat "${ZST_FIXTURE}") --out "${outFifo}" --filter local --quiet` });
    expect(r3.code).toBe(0);
    expect(segmentsFile(outFifo)).toBe(expected);
  });

  it('Parquet piped on stdin is refused with the reason (it needs random access)', async () => {
    const file = writeTextParquet('p.parquet');
    const r = await run(['filter', '-', '--out', path('o'), '--filter', 'local', '--quiet'], { input: readFileSync(file) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Parquet needs random access');
  });

  it('--shard i/n over Parquet covers every document once; --max-docs stops early; a rerun resumes', async () => {
    const file = writeTextParquet('shards.parquet', 2);
    const docIds = (out: string): string[] => [...new Set(segmentsFile(out).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { doc_id: string }).doc_id))];
    const shardIds: string[] = [];
    for (const shard of ['0/2', '1/2']) {
      const out = path(`shard-${shard.replace('/', '-')}`);
      const r = await runMain(['filter', file, '--out', out, '--filter', 'local', '--shard', shard, '--quiet']);
      expect(r.code).toBe(0);
      shardIds.push(...docIds(out));
    }
    expect(shardIds.sort()).toEqual([...EXPECTED_IDS].sort());

    const out = path('max');
    expect((await runMain(['filter', file, '--out', out, '--filter', 'local', '--max-docs', '2', '--quiet'])).code).toBe(0);
    expect(docIds(out)).toEqual(EXPECTED_IDS.slice(0, 2));
    // The rerun without the cap skips the two finished documents and does the rest.
    expect((await runMain(['filter', file, '--out', out, '--filter', 'local', '--quiet'])).code).toBe(0);
    expect(docIds(out)).toEqual(EXPECTED_IDS);
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { sessions: Array<{ documents_skipped: number }> };
    expect(runJson.sessions.at(-1)?.documents_skipped).toBe(2);
  });

  it('a glob the shell expanded (several inputs) is refused with the hint to quote it', async () => {
    const a = write('data/train-0.jsonl', corpusJsonl());
    const b = write('data/train-1.jsonl', corpusJsonl());
    const r = await runMain(['filter', a, b, '--out', path('o'), '--filter', 'local', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`filter reads one input but got 2 (${a} ${b}). If the shell expanded a glob, quote it`);
  });

  it('countInputRecords does not read a pipe (stdin is read once)', async () => {
    expect(await countInputRecords('-')).toBeUndefined();
    expect(await countInputRecords(ZST_FIXTURE)).toBeUndefined();
    expect(await countInputRecords(writeTextParquet('n.parquet', 2))).toBe(FORMAT_CORPUS.length);
    expect(await countInputRecords(write('n.csv', csv(',')))).toBe(FORMAT_CORPUS.length);
  });
});

describe('a .json file holding one pretty-printed object', () => {
  it('is one record (row 1), not a rejection per line', async () => {
    const file = write('one.json', JSON.stringify({ id: 'solo', text: 'Open the app.\nThen sign in.' }, null, 2));
    expect(await all(readDocuments(file, OPTS))).toEqual([{ kind: 'document', document: { id: 'solo', text: 'Open the app.\nThen sign in.', origin: { file, row: 1 } } }]);
    const wrapped = write('wrapped.json', JSON.stringify({ data: [{ text: 'x' }] }, null, 2));
    const [rej] = rejections(await all(readDocuments(wrapped, OPTS)));
    expect(rej?.reasons[0]?.message).toBe(`${wrapped}: row 1: no string field "text" (fields: data); choose one with --text-field`);
  });
});

describe('a file that cannot be opened', () => {
  it('a file of a folder gone when its turn comes is named with the reason (the open error is not lost in the gunzip)', async () => {
    const root = path('links');
    write('links/a.jsonl', `${JSON.stringify(FORMAT_CORPUS[0])}\n`);
    const b = write('links/b.jsonl.gz', gzipSync('{}\n'));
    const c = write('links/c.jsonl.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const reader = readDocuments(root, OPTS);
    const items = [(await reader.next()).value as InputItem]; // the folder is listed: a.jsonl, b, c
    rmSync(b);
    rmSync(c);
    items.push(...(await all(reader)));
    expect(docs(items).map((d) => d.id)).toEqual(['guide-001']);
    expect(rejections(items).map((r) => [r.id, r.reasons[0]?.check, r.reasons[0]?.message.includes('ENOENT')])).toEqual([
      ['b.jsonl.gz', 'input_unreadable', true],
      ['c.jsonl.zst', 'input_unreadable', true],
    ]);
  }, 10_000);
});

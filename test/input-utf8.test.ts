/**
 * Invalid UTF-8 in an input is reported (file, record, byte position), not silently read as
 * U+FFFD; the record is still read. Valid multi-byte characters split between chunks are not
 * errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { readDocuments, type InputItem, type InputWarning } from '../src/io/documents.js';
import { firstInvalidUtf8, watchUtf8, type InvalidAt } from '../src/io/utf8.js';
import { runMain } from '../src/testing/cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'gemtraj-utf8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// "café" in Latin-1: the é is the single byte 0xE9, not UTF-8.
const LATIN1 = Buffer.from('Order a caf\xe9 au lait, then pay at the counter.', 'latin1');
const PROSE = 'Open the app, sign in with your member number, then choose Claims and upload the receipt.';

function write(name: string, content: Buffer | string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

async function read(file: string): Promise<{ items: InputItem[]; warnings: InputWarning[] }> {
  const warnings: InputWarning[] = [];
  const items: InputItem[] = [];
  for await (const item of readDocuments(file, { textField: 'text', idField: 'id', onWarning: (w) => warnings.push(w) })) items.push(item);
  return { items, warnings };
}

const texts = (items: InputItem[]): string[] => items.flatMap((i) => (i.kind === 'document' ? [i.document.text] : []));

describe('invalid UTF-8 in input files', () => {
  it('JSON Lines: the file, the line and the byte offset; the record is still read', async () => {
    const good = Buffer.from(`${JSON.stringify({ id: 'a', text: PROSE })}\n`);
    const bad = Buffer.concat([Buffer.from('{"id": "b", "text": "'), LATIN1, Buffer.from('"}\n')]);
    const file = write('mixed.jsonl', Buffer.concat([good, bad]));
    const { items, warnings } = await read(file);
    expect(texts(items)).toEqual([PROSE, 'Order a caf\ufffd au lait, then pay at the counter.']);
    const column = '{"id": "b", "text": "Order a caf'.length + 1;
    expect(warnings).toEqual([{ check: 'input_utf8', message: expect.stringContaining(`${file}:2: invalid UTF-8 at byte ${good.length + column - 1} (column ${column}) (bytes e9 20 61 75)`) as string }]);
  });

  it('a text file: the byte, line and column', async () => {
    const file = write('notes.txt', Buffer.concat([Buffer.from('First line.\nSecond: '), LATIN1]));
    const { items, warnings } = await read(file);
    expect(texts(items)).toHaveLength(1);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining(`${file}: invalid UTF-8 at byte ${12 + 8 + 11} (line 2, column ${8 + 12})`)]);
  });

  it('a text file: each place is a warning, one per broken sequence', async () => {
    // Line 1: a lone 0xFF; line 2: Latin-1 é; line 3: two truncated two-byte sequences (0xC3).
    const bytes = Buffer.concat([Buffer.from('Sign in \xff first.\nOrder a caf\xe9.\nThen \xc3 and \xc3 done.\n', 'latin1')]);
    const file = write('several.txt', bytes);
    const { items, warnings } = await read(file);
    expect(items).toHaveLength(1);
    expect(warnings.map((w) => /line (\d+)/.exec(w.message)?.[1])).toEqual(['1', '2', '3', '3']);
  });

  it('CSV and JSON arrays (streamed): the line and byte', async () => {
    const csv = write('rows.csv', Buffer.concat([Buffer.from(`id,text\na,"${PROSE}"\nb,"`), LATIN1, Buffer.from('"\n')]));
    const fromCsv = await read(csv);
    expect(texts(fromCsv.items)).toHaveLength(2);
    expect(fromCsv.warnings.map((w) => w.message)).toEqual([expect.stringMatching(new RegExp(`^${csv}:3: invalid UTF-8 at byte \\d+ \\(column 15\\)`))]);
    const array = write('rows.json', Buffer.concat([Buffer.from(`[{"id": "a", "text": "${PROSE}"},\n{"id": "b", "text": "`), LATIN1, Buffer.from('"}]')]));
    const fromArray = await read(array);
    expect(texts(fromArray.items)).toHaveLength(2);
    expect(fromArray.warnings.map((w) => w.message)).toEqual([expect.stringContaining(`${array}:2: invalid UTF-8 at byte`)]);
  });

  it('WET: the record and the byte in its text', async () => {
    const head = (n: number) => `WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:uuid:1>\r\nContent-Length: ${n}\r\n\r\n`;
    const file = write('x.warc.wet', Buffer.concat([Buffer.from(head(LATIN1.length)), LATIN1, Buffer.from('\r\n\r\n')]));
    const { items, warnings } = await read(file);
    expect(texts(items)).toHaveLength(1);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining(`${file}: record at byte 0: invalid UTF-8 at byte 11 of its text (line 1, column 12)`)]);
  });

  it('Parquet: the row and the byte in its text', async () => {
    const file = join(dir, 'rows.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'text', data: [new TextEncoder().encode(PROSE), new Uint8Array(LATIN1)], type: 'BYTE_ARRAY' },
        { name: 'id', data: ['a', 'b'], type: 'STRING' },
      ],
    });
    const { items, warnings } = await read(file);
    expect(texts(items)).toHaveLength(2);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining(`${file}: row 2: invalid UTF-8 at byte 11 of its text`)]);
  });

  it('valid files give no warning, whatever the characters', async () => {
    const file = write('ok.jsonl', `${JSON.stringify({ id: 'a', text: 'Ünïcödé ✓ 😀 ok' })}\n`);
    expect((await read(file)).warnings).toEqual([]);
  });
});

describe('the UTF-8 check', () => {
  it('finds the first bad byte under the strict grammar', () => {
    expect(firstInvalidUtf8(Buffer.from('plain ✓ 😀'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1); // overlong
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xed, 0xa0, 0x80]))).toBe(2); // a surrogate
    expect(firstInvalidUtf8(Buffer.from([0xe2, 0x9c]))).toBe(0); // cut short
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x80]))).toBe(1); // a lone continuation byte
  });

  it('a character split between two chunks is not an error; a bad byte is placed by line and column', async () => {
    const text = Buffer.from('line one ✓\nline two 😀 end\n');
    const split = text.indexOf(Buffer.from('😀')) + 2;
    const found: InvalidAt[] = [];
    const chunks = async function* (parts: Buffer[]) {
      yield* parts;
    };
    const passed: Buffer[] = [];
    for await (const c of watchUtf8(chunks([text.subarray(0, split), text.subarray(split)]), (at) => found.push(at))) passed.push(c);
    expect(Buffer.concat(passed).equals(text)).toBe(true);
    expect(found).toEqual([]);
    const bad = Buffer.concat([text, Buffer.from('x\xe9y', 'latin1')]);
    for await (const _ of watchUtf8(chunks([bad.subarray(0, 5), bad.subarray(5)]), (at) => found.push(at))) void _;
    expect(found.map(({ byte, line, column }) => ({ byte, line, column }))).toEqual([{ byte: text.length + 1, line: 3, column: 2 }]);
    // A character the stream never finishes.
    found.length = 0;
    for await (const _ of watchUtf8(chunks([text.subarray(0, split)]), (at) => found.push(at))) void _;
    expect(found.map((f) => f.byte)).toEqual([split - 2]);
  });
});

describe('a run reports invalid UTF-8 as a warning', () => {
  it('on stderr and in run.json, naming the file, the line and the byte; the document is processed', async () => {
    const corpus = write(
      'corpus.jsonl',
      Buffer.concat([Buffer.from('{"id": "b", "text": "'), Buffer.from('Before you travel, check the visa rules. Order a caf\xe9 at the gate and keep the receipt for the refund form.', 'latin1'), Buffer.from('"}\n')]),
    );
    const out = join(dir, 'run');
    const result = await runMain(['filter', corpus, '--out', out, '--filter', 'local']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`warning: ${corpus}:1: invalid UTF-8 at byte`);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { sessions: Array<{ input_warnings?: { count: number; first: string[] } }>; counts: { balanced: boolean } };
    expect(run.sessions[0]?.input_warnings).toEqual({ count: 1, first: [expect.stringContaining(`${corpus}:1: invalid UTF-8 at byte`)] });
    expect(run.counts.balanced).toBe(true);
  });
});

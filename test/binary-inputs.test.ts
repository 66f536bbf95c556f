/**
 * A Parquet, gzip, zstd or other binary file given where a JSONL of records is expected
 * (`export`, `validate`, `stats`, `split`, the stage commands): the formats gemtraj reads are
 * read (the same records as the JSONL); anything else stops with exit 2 and one message naming
 * the file, what it is and what to do — not one "invalid JSON" per line and exit 0.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_BAD_INPUT } from '../src/errors.js';
import { readDocuments, type InputItem } from '../src/io/documents.js';
import { InputError } from '../src/io/input-files.js';
import { binaryKind, readRecordFile } from '../src/io/record-file.js';
import { runMain } from '../src/testing/cli-harness.js';
import { SHARED_DATA } from './helpers/shared-data.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';

const work = mkdtempSync(join(tmpdir(), 'gemtraj-binary-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const at = (name: string): string => join(work, name);
const ZSTD = ((): boolean => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A minimal zip archive holding one stored file (local header, central directory, end record). */
function zipOf(name: string, data: Buffer): Buffer {
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(n.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12);
  end.writeUInt32LE(30 + n.length + data.length, 16);
  return Buffer.concat([local, n, data, central, n, end]);
}

let openaiJsonl: string;
let lines: number;
beforeAll(async () => {
  openaiJsonl = at('o.jsonl');
  const made = await runMain(['export', join(SHARED_DATA, 'tool-use', 'glaive-toolcall-en-demo.sharegpt.json'), '--format', 'openai', '--out', openaiJsonl]);
  expect(made.code).toBe(0);
  lines = readFileSync(openaiJsonl, 'utf8').trim().split('\n').length;
  const parquet = await runMain(['export', openaiJsonl, '--format', 'openai', '--parquet', '--out', at('o.parquet')]);
  expect(parquet.code).toBe(0);
  writeFileSync(at('o.jsonl.gz'), gzipSync(readFileSync(openaiJsonl)));
  writeFileSync(at('gz-named-plain.jsonl'), gzipSync(readFileSync(openaiJsonl)));
  if (ZSTD) execFileSync('zstd', ['-q', '-f', openaiJsonl, '-o', at('o.jsonl.zst')]);
  writeFileSync(at('o.zip'), zipOf('o.jsonl', readFileSync(openaiJsonl)));
  writeFileSync(at('zip.gz'), gzipSync(readFileSync(at('o.zip'))));
  writeFileSync(at('cache.sqlite'), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(200)]));
  writeFileSync(at('nul.jsonl'), Buffer.from('{"a":1}\n\0\0\0\x01\x02binary'));
}, 60_000);

describe('formats gemtraj reads, given as the trajectories file', () => {
  it('export reads a Parquet export, a .gz, a .zst and gzip bytes behind a .jsonl name: the same records as the JSONL', async () => {
    const expected = readFileSync(openaiJsonl, 'utf8');
    const inputs = ['o.parquet', 'o.jsonl.gz', 'gz-named-plain.jsonl', ...(ZSTD ? ['o.jsonl.zst'] : [])];
    for (const name of inputs) {
      const out = at(`from-${name}.jsonl`);
      const result = await runMain(['export', at(name), '--format', 'openai', '--out', out]);
      expect(result.code, name).toBe(0);
      expect(result.stderr, name).not.toContain('invalid JSON');
      expect(result.stdout, name).toContain(`read ${lines}, imported ${lines}, exported ${lines}`);
      expect(readFileSync(out, 'utf8'), name).toBe(expected);
    }
  }, 60_000);

  it('validate and stats read the Parquet and gzip files as the JSONL', async () => {
    const summary = async (input: string): Promise<unknown> => {
      const result = await runMain(['validate', input, '--out', at(`v-${input.split('/').pop()}`), '--no-judge', '--json']);
      expect(result.code).toBe(0);
      const s = JSON.parse(result.stdout) as Record<string, unknown>;
      return [s.read, s.passed, s.rejected, s.by_check];
    };
    const base = await summary(openaiJsonl);
    expect(await summary(at('o.parquet'))).toEqual(base);
    expect(await summary(at('o.jsonl.gz'))).toEqual(base);
    // stats reads gemtraj records: the ones validate just wrote, compressed.
    const passed = at('v-o.jsonl/trajectories.jsonl');
    writeFileSync(at('passed.jsonl.gz'), gzipSync(readFileSync(passed)));
    const plain = await runMain(['stats', passed, '--json']);
    const gz = await runMain(['stats', at('passed.jsonl.gz'), '--json']);
    expect(gz.code).toBe(0);
    expect((JSON.parse(gz.stdout) as { stats: unknown }).stats).toEqual((JSON.parse(plain.stdout) as { stats: unknown }).stats);
  }, 60_000);

  it('readRecordFile numbers records by line, array element and Parquet row', async () => {
    const array = at('arr.json');
    writeFileSync(array, '[{"a":1},\n{"a":2}, {"a":');
    const got: unknown[] = [];
    for await (const e of readRecordFile(array)) got.push(e.error === undefined ? [e.line, e.value] : [e.line, e.error]);
    expect(got).toEqual([[1, { a: 1 }], [2, { a: 2 }], [3, expect.stringContaining('cut short')]]);
    let rows = 0;
    for await (const e of readRecordFile(at('o.parquet'))) {
      rows++;
      expect(e.line).toBe(rows);
      expect(Array.isArray((e.value as { messages?: unknown }).messages)).toBe(true);
    }
    expect(rows).toBe(lines);
  });
});

describe('binary files that are not records', () => {
  const cases: Array<[string, RegExp]> = [
    ['o.zip', /o\.zip: a zip archive, not JSON Lines: unzip it/],
    ['zip.gz', /zip\.gz: a zip archive \(gzip-compressed\), not JSON Lines/],
    ['cache.sqlite', /cache\.sqlite: a SQLite database .*, not JSON Lines: give the trajectories\.jsonl/],
    ['nul.jsonl', /nul\.jsonl: binary data \(NUL bytes near the start\), not JSON Lines/],
  ];
  it.each(cases)('export %s: exit 2, one message naming the file and what it is, no output', async (name, message) => {
    const out = at(`never-${name}.jsonl`);
    const result = await runMain(['export', at(name), '--format', 'openai', '--out', out]);
    expect(result.code).toBe(EXIT_BAD_INPUT);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('invalid JSON');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it('validate, stats, split and a stage command stop the same way, before writing anything', async () => {
    const zip = at('o.zip');
    const runs: string[][] = [
      ['validate', zip, '--out', at('v-zip'), '--no-judge'],
      ['stats', zip],
      ['split', zip, '--test', '0.1', '--out', at('s-zip')],
      ['extract', zip, '--out', at('e-zip'), '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm'],
    ];
    for (const args of runs) {
      const result = await runMain(args);
      expect(result.code, args[0]).toBe(EXIT_BAD_INPUT);
      expect(result.stderr, args[0]).toMatch(/o\.zip: a zip archive, not JSON Lines/);
    }
    for (const dir of ['v-zip', 's-zip', 'e-zip']) expect(existsSync(at(dir)), dir).toBe(false);
  });

  it('view and report, which read a run directory, name a file given instead and the way to get one', async () => {
    for (const command of ['view', 'report']) {
      const result = await runMain([command, at('o.parquet')]);
      expect(result.code, command).toBe(EXIT_BAD_INPUT);
      expect(result.stderr, command).toContain(`${at('o.parquet')}: a file, not a run directory; this command reads the folder of a run or of gemtraj validate (for a file of trajectories: gemtraj validate ${at('o.parquet')} --no-judge --out DIR`);
    }
  });

  it('binaryKind names the common formats and leaves text alone', () => {
    expect(binaryKind(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))?.what).toBe('xz-compressed data');
    expect(binaryKind(Buffer.from('BZh91AY'))?.what).toBe('bzip2-compressed data');
    expect(binaryKind(Buffer.from('ARROW1\0\0'))?.what).toContain('Arrow');
    expect(binaryKind(Buffer.from('{"a": "ünïcode"}\n'))).toBeUndefined();
    expect(binaryKind(Buffer.from('[1, 2]'))).toBeUndefined();
    const tar = Buffer.alloc(512);
    tar.write('ustar', 257);
    expect(binaryKind(tar)?.what).toBe('a tar archive');
    // JSON text whose bytes 257-261 spell "ustar" by chance is text.
    const line = `{"text": "${'x'.repeat(247)}ustar and more"}\n`;
    expect(line.indexOf('ustar')).toBe(257);
    expect(binaryKind(Buffer.from(line))).toBeUndefined();
    // UTF-16 (PowerShell's `>`) is named as such, with the way to convert it.
    expect(binaryKind(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a": 1}\n', 'utf16le')]))?.what).toBe('UTF-16 text');
  });

  it('the reader throws the InputError too (library use)', async () => {
    const read = async (): Promise<void> => {
      for await (const _ of readRecordFile(at('o.zip'))) void _;
    };
    await expect(read()).rejects.toBeInstanceOf(InputError);
  });
});

describe('corpus input (run, synthesize, filter)', () => {
  const docs = [
    { id: 'a', text: 'Open the settings page and press Save to keep the changes you made to the profile.' },
    { id: 'b', text: 'Tap Share, then Copy link, and paste the link into the message to send the page.' },
  ];
  const filterRun = (input: string, out: string): Promise<{ code: number; stderr: string }> => runMain(['filter', input, '--out', out, '--filter', 'local']);
  const count = (file: string): number => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;

  it('a JSON array is read whether the file is named .json or .jsonl, pretty-printed or on one line', async () => {
    const inputs = {
      'pretty.json': JSON.stringify(docs, null, 2),
      'pretty.jsonl': JSON.stringify(docs, null, 2),
      'one-line.jsonl': JSON.stringify(docs),
    };
    for (const [name, text] of Object.entries(inputs)) {
      writeFileSync(at(name), text);
      const out = at(`f-${name}`);
      const result = await filterRun(at(name), out);
      expect(result.code, name).toBe(0);
      expect(count(join(out, 'rejected.jsonl')), name).toBe(0);
      expect(new Set(readFileSync(join(out, 'segments.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { doc_id: string }).doc_id)), name).toEqual(new Set(['a', 'b']));
    }
  }, 60_000);

  it('a zip named .jsonl stops before --out is created; in a folder it is one rejection naming it, and a Parquet file named .jsonl is read', async () => {
    writeFileSync(at('corpus-zip.jsonl'), zipOf('c.jsonl', Buffer.from(docs.map((d) => JSON.stringify(d)).join('\n'))));
    const out = at('f-zip');
    const result = await filterRun(at('corpus-zip.jsonl'), out);
    expect(result.code).toBe(EXIT_BAD_INPUT);
    expect(result.stderr).toMatch(/corpus-zip\.jsonl: a zip archive, not a corpus file/);
    expect(existsSync(out)).toBe(false);

    const folder = at('mixed');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.jsonl'), readFileSync(at('corpus-zip.jsonl')));
    parquetWriteFile({ filename: join(folder, 'b.jsonl'), columnData: [{ name: 'id', data: ['p'] }, { name: 'text', data: ['Press Save to keep the file.'] }] });
    const items: InputItem[] = [];
    for await (const item of readDocuments(folder, { textField: 'text', idField: 'id' })) items.push(item);
    expect(items.map((i) => (i.kind === 'document' ? i.document.id : [i.id, i.reasons[0]?.check]))).toEqual([['a.jsonl', 'input_unreadable'], 'p']);
    expect(items[0]?.kind === 'rejection' ? items[0].reasons[0]?.message : undefined).toBe(`${join(folder, 'a.jsonl')}: a zip archive, not JSON Lines: unzip it and give the .jsonl (or .json, .parquet) file inside`);
  }, 60_000);
});

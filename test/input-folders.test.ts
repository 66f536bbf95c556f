/**
 * Every entry of an input folder is read or reported by name with the reason, on a real
 * filesystem: symbolic links to files and folders (inside and outside the input) are
 * followed, a file or folder reached twice is read once, loops and dangling links are named,
 * hidden entries are reported (not read), and a pipe inside a folder does not hang the read.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countInputRecords, InputError, listInputFiles, readDocuments, type InputItem, type ReadOptions } from '../src/io/documents.js';
import { runMain } from '../src/testing/cli-harness.js';

const OPTS: ReadOptions = { textField: 'text', idField: 'id' };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-folders-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function all(gen: AsyncIterable<InputItem>): Promise<InputItem[]> {
  const out: InputItem[] = [];
  for await (const x of gen) out.push(x);
  return out;
}
const docIds = (items: InputItem[]): string[] => items.flatMap((i) => (i.kind === 'document' ? [i.document.id] : []));
const reported = (items: InputItem[]): Array<[string, string]> =>
  items.flatMap((i) => (i.kind === 'rejection' ? [[i.id, i.reasons[0]?.check ?? '']] : [])) as Array<[string, string]>;
const messageOf = (items: InputItem[], id: string): string =>
  items.flatMap((i) => (i.kind === 'rejection' && i.id === id ? [i.reasons[0]?.message ?? ''] : []))[0] ?? '';

function write(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
  return p;
}
const line = (id: string): string => `${JSON.stringify({ id, text: `Open the settings page and press ${id}.` })}\n`;

describe('symbolic links in an input folder', () => {
  it('a folder of symlinked .jsonl (and .parquet, .gz) files is read like the files themselves', async () => {
    const store = join(dir, 'store');
    write('store/a.jsonl', line('a'));
    write('store/b.jsonl.gz', gzipSync(line('b')));
    parquetWriteFile({ filename: write('store/c.parquet', ''), columnData: [{ name: 'id', data: ['c'] }, { name: 'text', data: ['Press Save to keep the file.'] }] });
    const links = join(dir, 'links');
    mkdirSync(links);
    for (const name of ['a.jsonl', 'b.jsonl.gz', 'c.parquet']) symlinkSync(join(store, name), join(links, name));
    const items = await all(readDocuments(links, OPTS));
    expect(reported(items)).toEqual([]);
    expect(docIds(items)).toEqual(['a', 'b', 'c']);
    // Links to regular files are files: the Parquet reader may seek, and the total is known.
    expect(await countInputRecords(join(links, 'a.jsonl'))).toBe(1);
    expect(await countInputRecords(links)).toBeUndefined(); // the .gz has no total without decoding it
    rmSync(join(links, 'b.jsonl.gz'));
    expect(await countInputRecords(links)).toBe(2);
  });

  it('a link to a folder outside the input is followed; ids use the path through the link', async () => {
    write('outside/deep/x.jsonl', line('x'));
    write('corpus/a.md', 'Click Save.');
    symlinkSync(join(dir, 'outside'), join(dir, 'corpus', 'more'));
    const items = await all(readDocuments(join(dir, 'corpus'), OPTS));
    expect(reported(items)).toEqual([]);
    expect(docIds(items)).toEqual(['a.md', 'x']);
    expect(listInputFiles(join(dir, 'corpus'))).toEqual([join(dir, 'corpus', 'a.md'), join(dir, 'corpus', 'more', 'deep', 'x.jsonl')]);
  });

  it('a loop (a link to a folder that contains it, a link to itself) is named, not followed', async () => {
    const root = join(dir, 'loop');
    write('loop/a.jsonl', line('a'));
    write('loop/sub/b.jsonl', line('b'));
    symlinkSync('..', join(root, 'sub', 'up'));
    symlinkSync(root, join(root, 'sub', 'root'));
    symlinkSync('self.jsonl', join(root, 'self.jsonl'));
    const items = await all(readDocuments(root, OPTS));
    expect(docIds(items)).toEqual(['a', 'b']);
    expect(reported(items)).toEqual([
      ['self.jsonl', 'input_link_loop'],
      ['sub/root/', 'input_link_loop'],
      ['sub/up/', 'input_link_loop'],
    ]);
    expect(messageOf(items, 'sub/up/')).toBe(`${join(root, 'sub', 'up')}: symbolic link to ${root}, a folder that contains it (a loop): not followed`);
    expect(messageOf(items, 'self.jsonl')).toContain(`${join(root, 'self.jsonl')}: symbolic link loop`);
  });

  it('a file reached twice (two links, a hard link) or a folder reached twice is read once; the others are named', async () => {
    const root = join(dir, 'twice');
    const a = write('twice/a.jsonl', line('a'));
    symlinkSync(a, join(root, 'b-link.jsonl'));
    symlinkSync('a.jsonl', join(root, 'c-link.jsonl'));
    linkSync(a, join(root, 'd-hard.jsonl'));
    write('twice/sub/e.jsonl', line('e'));
    symlinkSync(join(root, 'sub'), join(root, 'z-sub'));
    const items = await all(readDocuments(root, OPTS));
    // No duplicate_id rejections: the same records are not read a second time.
    expect(docIds(items)).toEqual(['a', 'e']);
    expect(reported(items)).toEqual([
      ['b-link.jsonl', 'input_same_file'],
      ['c-link.jsonl', 'input_same_file'],
      ['d-hard.jsonl', 'input_same_file'],
      ['z-sub/', 'input_same_folder'],
    ]);
    expect(messageOf(items, 'b-link.jsonl')).toBe(`${join(root, 'b-link.jsonl')}: the same file as ${a} (a link to it), read there once`);
  });

  it('a dangling link is named with its target', async () => {
    const root = join(dir, 'dangling');
    write('dangling/a.jsonl', line('a'));
    symlinkSync(join(dir, 'gone.jsonl'), join(root, 'b.jsonl'));
    symlinkSync(join(dir, 'gone-folder'), join(root, 'c'));
    const items = await all(readDocuments(root, OPTS));
    expect(docIds(items)).toEqual(['a']);
    expect(reported(items)).toEqual([
      ['b.jsonl', 'input_dangling_link'],
      ['c', 'input_dangling_link'],
    ]);
    expect(messageOf(items, 'b.jsonl')).toBe(`${join(root, 'b.jsonl')}: dangling symbolic link: its target ${join(dir, 'gone.jsonl')} does not exist (ENOENT)`);
  });
});

describe('every other entry of a folder', () => {
  it('hidden files and folders are reported, not read (a hidden folder is one entry); other types are read or named', async () => {
    const root = join(dir, 'corpus');
    write('corpus/a.json', JSON.stringify([{ id: 'arr', text: 'Tap Share, then Copy link.' }]));
    write('corpus/b.jsonl.gz', gzipSync(line('gz')));
    write('corpus/c.xyz', 'what is this');
    write('corpus/.DS_Store', 'binary junk');
    write('corpus/.env.jsonl', line('secret'));
    write('corpus/.git/HEAD', 'ref: refs/heads/main');
    write('corpus/.git/objects/aa/bb', 'x');
    write('corpus/sub/.hidden.md', 'Hidden notes.');
    const items = await all(readDocuments(root, OPTS));
    expect(docIds(items)).toEqual(['arr', 'gz']);
    expect(reported(items)).toEqual([
      ['.DS_Store', 'input_hidden'],
      ['.env.jsonl', 'input_hidden'],
      ['.git/', 'input_hidden'],
      ['c.xyz', 'input_unsupported'],
      ['sub/.hidden.md', 'input_hidden'],
    ]);
    expect(messageOf(items, '.git/')).toBe(`${join(root, '.git')}: hidden folder (its name starts with "."): not read; give its path as the input to read it`);
    // Named on its own, a hidden file is read.
    expect(docIds(await all(readDocuments(join(root, '.env.jsonl'), OPTS)))).toEqual(['secret']);
  });

  it.skipIf(process.platform === 'win32')('a named pipe inside a folder is named, not read (it would wait forever)', async () => {
    const root = join(dir, 'fifo');
    write('fifo/a.jsonl', line('a'));
    execFileSync('mkfifo', [join(root, 'p.jsonl')]);
    const items = await all(readDocuments(root, OPTS));
    expect(docIds(items)).toEqual(['a']);
    expect(reported(items)).toEqual([['p.jsonl', 'input_not_regular']]);
    expect(messageOf(items, 'p.jsonl')).toContain('a named pipe (FIFO), not read inside a folder');
  }, 10_000);

  it('a folder with nothing gemtraj reads is an InputError that lists what it holds', () => {
    const root = join(dir, 'useless');
    write('useless/.b.md', 'hidden');
    write('useless/notes.pdf', '%PDF');
    symlinkSync(join(dir, 'gone.jsonl'), join(root, 'x.jsonl'));
    let error: unknown;
    try {
      listInputFiles(root);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `${root}: the folder holds no file gemtraj reads; it holds .b.md: hidden, notes.pdf: unsupported, x.jsonl: dangling link (gemtraj reads ${'.jsonl, .ndjson, .json (lines or an array), .csv, .tsv, .parquet, .warc.wet, .txt, .md, .html (any of them .gz or .zst)'})`,
    );
  });

  it('a quoted glob skips dotfiles like the shell and reports only entries that match', async () => {
    write('g/a.jsonl', line('a'));
    write('g/.h.jsonl', line('h'));
    symlinkSync(join(dir, 'g', 'a.jsonl'), join(dir, 'g', 'b.jsonl'));
    symlinkSync(join(dir, 'gone'), join(dir, 'g', 'c.txt'));
    const items = await all(readDocuments(join(dir, 'g', '*.jsonl'), OPTS));
    expect(docIds(items)).toEqual(['a']);
    expect(reported(items)).toEqual([['b.jsonl', 'input_same_file']]);
  });
});

describe('the CLI', () => {
  it('gemtraj dedup over a folder with links writes each reported entry to rejected.jsonl by name', async () => {
    const root = join(dir, 'corpus');
    write('corpus/a.jsonl', line('a'));
    symlinkSync(join(root, 'a.jsonl'), join(root, 'b.jsonl'));
    symlinkSync(join(dir, 'nowhere.jsonl'), join(root, 'c.jsonl'));
    symlinkSync(root, join(root, 'd'));
    write('corpus/.DS_Store', 'x');
    const out = join(dir, 'out');
    const result = await runMain(['dedup', root, '--out', out]);
    expect(result.code).toBe(0);
    const rejected = readFileSync(join(out, 'rejected.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; reasons: Array<{ check: string }> });
    expect(rejected.map((r) => [r.id, r.reasons[0]?.check])).toEqual([
      ['.DS_Store', 'input_hidden'],
      ['b.jsonl', 'input_same_file'],
      ['c.jsonl', 'input_dangling_link'],
      ['d/', 'input_link_loop'],
    ]);
    expect(readFileSync(join(out, 'documents.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });
});

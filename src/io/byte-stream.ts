/**
 * Bytes of an input: a file, a pipe (`-`, `/dev/stdin`, `<(zcat …)`) or a character device,
 * read as a stream of chunks, decompressed when gzip or zstd. Nothing is read twice and
 * nothing is held whole: pipes cannot be rewound, and corpora are larger than memory.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { pipeline, Readable } from 'node:stream';
import { zstdDecompress } from './zstd-stream.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** The path that stands for standard input. */
export const STDIN = '-';

// Names of this process's standard input. Opened by name they fail when stdin is a socket
// (ENXIO: how Node and some job runners connect a child), so they are read as `-` is.
const STDIN_NAMES = new Set([STDIN, '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** Raw bytes of a path (`-` is standard input). */
export function rawBytes(path: string): AsyncIterable<Buffer> {
  if (STDIN_NAMES.has(path)) return process.stdin as AsyncIterable<Buffer>;
  return createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
}

/** Compression told by the first bytes (gzip 1f 8b, zstd 28 b5 2f fd). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Decompressed bytes. gzip: Node's zlib, which also reads multi-member files (Common Crawl's .warc.wet.gz). */
export function decompress(chunks: AsyncIterable<Buffer>, compression: Compression): AsyncIterable<Buffer> {
  if (compression === 'gzip') {
    // pipeline, not pipe: an error of the source (a file that cannot be opened) must reach the
    // reader instead of leaving it waiting for bytes that never come.
    const gunzip = createGunzip();
    pipeline(Readable.from(chunks), gunzip, () => undefined);
    return gunzip as AsyncIterable<Buffer>;
  }
  if (compression === 'zstd') return zstdDecompress(chunks);
  return chunks;
}

/** A stream whose first bytes were looked at: `head` and every byte after it, `head` included. */
export interface Peeked {
  head: Buffer;
  chunks: AsyncIterable<Buffer>;
}

/** Reads at least `n` bytes (fewer at the end) without losing them for the reader that follows. */
export async function peek(source: AsyncIterable<Buffer>, n: number): Promise<Peeked> {
  const iterator = source[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    taken.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(taken);
  async function* chunks(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { head, chunks: chunks() };
}

/**
 * Decompressed bytes of a path. The compression comes from the name when it says
 * (`.gz`, `.zst`), else from the first bytes, so pipes of compressed data are read too.
 */
export async function openBytes(path: string, compression: Compression | 'sniff'): Promise<Peeked & { compression: Compression }> {
  let raw: AsyncIterable<Buffer> = rawBytes(path);
  let kind = compression;
  if (kind === 'sniff') {
    const p = await peek(raw, 4);
    kind = sniffCompression(p.head);
    raw = p.chunks;
  }
  return { ...(await peek(decompress(raw, kind), 4096)), compression: kind };
}

/**
 * UTF-8 checking for the input readers. Undecodable bytes still become U+FFFD (the text is
 * read), but never silently: the readers report where the first bad byte is. Valid input, the
 * usual case, costs one native scan (`buffer.isUtf8`); the position is searched only when that
 * fails.
 */
import { isUtf8 } from 'node:buffer';

/** Byte offset of the first invalid UTF-8 sequence in `bytes[start, end)`, relative to `start`, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const view = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  if (isUtf8(view)) return -1;
  return scanInvalid(view);
}

/** The strict UTF-8 grammar (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
function scanInvalid(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** 1-based line and column (in bytes) of `offset` in `bytes`. */
export function lineAndColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The message of an invalid UTF-8 warning: `where` names the file and record, `byte` the
 * position ("byte 812 (column 40)"), `bad` the bytes from the first bad one.
 */
export function invalidUtf8Message(where: string, byte: string, bad: Uint8Array): string {
  const shown = Array.from(bad.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `${where}: invalid UTF-8 at ${byte} (bytes ${shown}), read as U+FFFD; is the file in another encoding (Latin-1, Windows-1252)? Convert it to UTF-8`;
}

/** Where a stream holds bytes that are not UTF-8. */
export interface InvalidAt {
  /** Offset of the first bad byte in the stream. */
  byte: number;
  /** 1-based line and column (in bytes) of it. */
  line: number;
  column: number;
  /** The bytes from the bad one on (a few), for the message. */
  bytes: Uint8Array;
}

/**
 * Passes `chunks` through, telling `onInvalid` about the first invalid UTF-8 sequence of each
 * chunk (a character split between two chunks is not one).
 */
export async function* watchUtf8(chunks: AsyncIterable<Buffer>, onInvalid: (at: InvalidAt) => void): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  let base = 0; // stream offset of data[0]
  let line = 1; // line of data[0]
  let lineStart = 0; // stream offset where that line starts
  for await (const chunk of chunks) {
    const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    const end = data.length - incompleteTail(data);
    const bad = firstInvalidUtf8(data, 0, end);
    let nl = data.indexOf(0x0a);
    if (bad !== -1) {
      let badLine = line;
      let badLineStart = lineStart;
      for (let i = nl; i !== -1 && i < bad; i = data.indexOf(0x0a, i + 1)) {
        badLine++;
        badLineStart = base + i + 1;
      }
      onInvalid({ byte: base + bad, line: badLine, column: base + bad - badLineStart + 1, bytes: data.subarray(bad, bad + 4) });
    }
    for (; nl !== -1 && nl < end; nl = data.indexOf(0x0a, nl + 1)) {
      line++;
      lineStart = base + nl + 1;
    }
    carry = end < data.length ? Buffer.from(data.subarray(end)) : undefined;
    base += end;
    yield chunk;
  }
  if (carry !== undefined) onInvalid({ byte: base, line, column: base - lineStart + 1, bytes: carry });
}

/** Bytes at the end of `data` that start a character the chunk does not finish. */
function incompleteTail(data: Uint8Array): number {
  const n = data.length;
  for (let k = 1; k <= Math.min(3, n); k++) {
    const b = data[n - k] as number;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0xc0) return 0;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return need > k ? k : 0;
  }
  return 0;
}

/**
 * Lines of a byte stream, numbered from 1, without their `\n` or `\r\n`. Splitting on the
 * byte 0x0A is safe in UTF-8 (no multi-byte character contains it), so each line is decoded
 * whole; only the unfinished last line of a chunk is carried over.
 */
import { firstInvalidUtf8, type InvalidAt } from './utf8.js';

export interface NumberedLine {
  line: number;
  text: string;
  /** Byte offset of the line's first byte in the stream. */
  offset: number;
  /** Byte length of the line without its `\n` (a `\r` before it and a byte order mark included). */
  length: number;
}

/** With `onInvalid`, each line is checked for invalid UTF-8 (one native scan per line). */
export async function* splitLines(chunks: AsyncIterable<Buffer>, onInvalid?: (where: InvalidAt) => void): AsyncGenerator<NumberedLine> {
  /** The pieces of an unfinished line, from earlier chunks. */
  let carry: Buffer[] = [];
  let n = 0;
  // Stream offset of the next line's first byte.
  let offset = 0;
  const decode = (bytes: Buffer): NumberedLine => {
    n += 1;
    const at = offset;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    if (onInvalid !== undefined) {
      const bad = firstInvalidUtf8(bytes, 0, end);
      if (bad !== -1) onInvalid({ line: n, byte: at + bad, column: bad + 1, bytes: bytes.subarray(bad, Math.min(end, bad + 4)) });
    }
    offset += bytes.length + 1;
    const text = bytes.toString('utf8', 0, end);
    return { line: n, text: n === 1 ? text.replace(/^\uFEFF/, '') : text, offset: at, length: bytes.length };
  };
  for await (const chunk of chunks) {
    let start = 0;
    let nl = chunk.indexOf(0x0a, start);
    while (nl !== -1) {
      const piece = chunk.subarray(start, nl);
      // A line longer than a chunk is joined once, at its end: joining at every chunk made
      // reading a 300 MB line copy it ~300 times over.
      const bytes = carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
      carry = [];
      yield decode(bytes);
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    // Copy: the stream may reuse its chunk's memory.
    if (start < chunk.length) carry.push(Buffer.from(chunk.subarray(start)));
  }
  if (carry.length > 0) yield decode(Buffer.concat(carry));
}

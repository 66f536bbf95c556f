/**
 * Lines of a byte stream, numbered from 1, without their `\n` or `\r\n`. Splitting on the
 * byte 0x0A is safe in UTF-8 (no multi-byte character contains it), so each line is decoded
 * whole; only the unfinished last line of a chunk is carried over.
 */
import { firstInvalidUtf8, type InvalidAt } from './utf8.js';

export interface NumberedLine {
  line: number;
  text: string;
}

/** With `onInvalid`, each line is checked for invalid UTF-8 (one native scan per line). */
export async function* splitLines(chunks: AsyncIterable<Buffer>, onInvalid?: (where: InvalidAt) => void): AsyncGenerator<NumberedLine> {
  let carry: Buffer | undefined;
  let n = 0;
  // Stream offset of the next line's first byte.
  let offset = 0;
  const decode = (bytes: Buffer): string => {
    n += 1;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    if (onInvalid !== undefined) {
      const bad = firstInvalidUtf8(bytes, 0, end);
      if (bad !== -1) onInvalid({ line: n, byte: offset + bad, column: bad + 1, bytes: bytes.subarray(bad, Math.min(end, bad + 4)) });
    }
    offset += bytes.length + 1;
    const text = bytes.toString('utf8', 0, end);
    return n === 1 ? text.replace(/^\uFEFF/, '') : text;
  };
  for await (const chunk of chunks) {
    let start = 0;
    let nl = chunk.indexOf(0x0a, start);
    while (nl !== -1) {
      const piece = chunk.subarray(start, nl);
      const bytes = carry === undefined ? piece : Buffer.concat([carry, piece]);
      carry = undefined;
      const text = decode(bytes);
      yield { line: n, text };
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      // Copy: the stream may reuse its chunk's memory.
      carry = carry === undefined ? Buffer.from(rest) : Buffer.concat([carry, rest]);
    }
  }
  if (carry !== undefined && carry.length > 0) {
    const text = decode(carry);
    yield { line: n, text };
  }
}

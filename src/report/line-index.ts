/**
 * Byte-offset access to JSONL files: one streaming pass records where each line starts and
 * how long it is, and a record is later read back with a single positioned read. This lets
 * the viewer serve any of 100k trajectories while holding only two numbers per line.
 */
import { createReadStream, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Where a line is: byte offset and byte length (without the newline). */
export type LineLoc = readonly [offset: number, length: number];

/**
 * Streams `file` and calls `onLine` with each parseable JSON line and its location. Lines that
 * are not JSON (a torn tail, corruption) are skipped: the run directory drops them too.
 */
export async function scanJsonl(file: string, onLine: (value: unknown, loc: LineLoc) => void): Promise<void> {
  if (!existsSync(file)) return;
  const stream = createReadStream(file);
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let lineStart = 0;
  let pos = 0; // bytes consumed before the current chunk
  const emit = (buf: Buffer, start: number): void => {
    let text = buf.toString('utf8');
    if (start === 0) text = text.replace(/^\uFEFF/, '');
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    onLine(value, [start, buf.length]);
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      const piece = chunk.subarray(from, nl);
      const line = pendingLen === 0 ? piece : Buffer.concat([...pending, piece], pendingLen + piece.length);
      // A CRLF file: the \r is not part of the JSON, but the byte length must stay exact.
      emit(line.at(-1) === 0x0d ? line.subarray(0, line.length - 1) : line, lineStart);
      pending = [];
      pendingLen = 0;
      from = nl + 1;
      lineStart = pos + from;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      pending.push(rest);
      pendingLen += rest.length;
    }
    pos += chunk.length;
  }
  if (pendingLen > 0) emit(Buffer.concat(pending, pendingLen), lineStart);
}

/** Reads and parses the line at `loc` of `file`; undefined when it is gone or not JSON. */
export async function readLine(file: string, loc: LineLoc): Promise<unknown> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(loc[1]);
    const { bytesRead } = await handle.read(buf, 0, loc[1], loc[0]);
    try {
      return JSON.parse(buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, ''));
    } catch {
      return undefined;
    }
  } finally {
    await handle.close();
  }
}

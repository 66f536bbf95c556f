/**
 * JSON Lines reading and writing with line numbers, built for crash safety and for files
 * larger than memory: readers stream, writers append one whole line per record with a
 * synchronous write, so a SIGKILL loses at most the line being written, and that torn tail
 * is detected and dropped on resume.
 */
import { closeSync, createReadStream, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** One line of a JSONL file: its parsed value, or why it could not be parsed. */
export type JsonlLine =
  | { line: number; value: unknown; error?: undefined; text?: undefined }
  | { line: number; value?: undefined; error: string; /** The raw line (truncated to 2000 chars). */ text: string };

/**
 * Streams a JSONL file line by line. Blank lines are skipped (their numbers still count).
 * A line that is not JSON is yielded with `error` rather than thrown, so callers decide
 * whether bad input is a rejection (validate) or a stop (run input).
 */
export async function* readJsonl(file: string): AsyncGenerator<JsonlLine> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const raw of lines) {
      n += 1;
      const text = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() === '') continue;
      try {
        yield { line: n, value: JSON.parse(text) as unknown };
      } catch (error) {
        yield { line: n, error: `invalid JSON: ${(error as Error).message}`, text: text.slice(0, 2000) };
      }
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** Reads every parsable record of a JSONL file that may not exist yet (resume helper). */
export async function readJsonlValues(file: string): Promise<unknown[]> {
  const out: unknown[] = [];
  if (!existsSync(file)) return out;
  for await (const entry of readJsonl(file)) if (entry.error === undefined) out.push(entry.value);
  return out;
}

/**
 * Drops a torn last line (one without its newline, left by a crash mid-write).
 * Returns the number of bytes removed (0 when the file was whole or absent).
 */
export function dropTornTail(file: string): number {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return 0;
    // Scan back in chunks for the previous newline.
    const chunk = Buffer.alloc(64 * 1024);
    let pos = size;
    while (pos > 0) {
      const start = Math.max(0, pos - chunk.length);
      const len = pos - start;
      readSync(fd, chunk, 0, len, start);
      const idx = chunk.subarray(0, len).lastIndexOf(0x0a);
      if (idx >= 0) {
        const keep = start + idx + 1;
        ftruncateSync(fd, keep);
        return size - keep;
      }
      pos = start;
    }
    ftruncateSync(fd, 0);
    return size;
  } finally {
    closeSync(fd);
  }
}

/** Append-only JSONL writer: one synchronous write per record, so each line is whole or absent. */
export class JsonlWriter {
  private fd: number | undefined;
  /** Records written by this writer (not counting lines already in the file). */
  written = 0;

  constructor(readonly file: string) {
    dropTornTail(file);
    this.fd = openSync(file, 'a');
  }

  write(record: unknown): void {
    if (this.fd === undefined) throw new Error(`${this.file}: writer is closed`);
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    this.written += 1;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

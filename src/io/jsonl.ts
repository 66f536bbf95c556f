/**
 * JSON Lines reading and writing with line numbers, built for crash safety and for files
 * larger than memory: readers stream, writers append one whole line per record with a
 * synchronous write, so a SIGKILL loses at most the line being written, and that torn tail
 * is detected and dropped on resume.
 */
import { closeSync, createReadStream, existsSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { syncFd, syncFdAsync, truncateTo, writeAll, writeFailure } from './durable.js';
import { splitLines } from './lines.js';

/** One line of a JSONL file: its parsed value, or why it could not be parsed. */
export type JsonlLine =
  | { line: number; value: unknown; error?: undefined; text?: undefined }
  | { line: number; value?: undefined; error: string; /** The raw line (truncated to 2000 chars). */ text: string };

/**
 * Bytes read at a time. The files read here are gemtraj's own (run directories, eval sessions)
 * and reach tens of MB: 1 MiB reads and splitting on the newline byte take a quarter less CPU
 * than 64 kB reads through readline (the end-of-run funnel reads every output file back).
 */
const READ_BYTES = 1024 * 1024;

/**
 * Streams a JSONL file line by line. Blank lines are skipped (their numbers still count).
 * A line that is not JSON is yielded with `error` rather than thrown, so callers decide
 * whether bad input is a rejection (validate) or a stop (run input). Lines end at `\n` (a
 * `\r` before it is dropped); a lone `\r` is not a line break, and JSON never holds one
 * unescaped, so a file gemtraj wrote never has it.
 */
export async function* readJsonl(file: string): AsyncGenerator<JsonlLine> {
  for await (const located of readJsonlLocated(file)) {
    const { offset: _offset, length: _length, ...entry } = located;
    yield entry as JsonlLine;
  }
}

/** A line of a JSONL file with its byte position, for reading the record back later. */
export type LocatedLine = JsonlLine & {
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte length of the line, without its newline. */
  length: number;
};

/**
 * Like {@link readJsonl}, with each line's byte offset and length: an index of positions
 * lets a resumed run read a finished record back instead of keeping it in memory.
 */
export async function* readJsonlLocated(file: string): AsyncGenerator<LocatedLine> {
  const stream = createReadStream(file, { highWaterMark: READ_BYTES });
  try {
    for await (const { line, text, offset, length } of splitLines(stream as AsyncIterable<Buffer>)) {
      if (text.trim() === '') continue;
      try {
        yield { line, offset, length, value: JSON.parse(text) as unknown };
      } catch (error) {
        yield { line, offset, length, error: `invalid JSON: ${(error as Error).message}`, text: text.slice(0, 2000) };
      }
    }
  } finally {
    stream.destroy();
  }
}

/** Reads and parses the record at a byte position found by {@link readJsonlLocated}. */
export function readRecordAt(file: string, offset: number, length: number): unknown {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, offset);
    return JSON.parse(buffer.toString('utf8').replace(/^\uFEFF/, '')) as unknown;
  } finally {
    closeSync(fd);
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

/**
 * Append-only JSONL writer: each line is written whole (short writes are continued) or not
 * at all — a failed write is cut off again and the writer refuses further lines, so the file
 * always ends in whole lines. {@link sync} makes the lines written so far durable.
 */
export class JsonlWriter {
  private fd: number | undefined;
  /** Byte size of the file: where the next line starts. */
  private position: number;
  /** Records of {@link written} known to be on the device (a sync finished after they were written). */
  private synced = 0;
  /** {@link syncAsync} calls not finished: the file must not be closed under them. */
  private syncing = 0;
  /** The write error that broke this writer; every later write rethrows it. */
  private failed: Error | undefined;
  /** Records written by this writer (not counting lines already in the file). */
  written = 0;

  constructor(readonly file: string) {
    dropTornTail(file);
    try {
      this.fd = openSync(file, 'a');
    } catch (error) {
      throw writeFailure(file, error);
    }
    this.position = fstatSync(this.fd).size;
  }

  /** Appends one line; returns where it landed (offset and byte length without the newline). */
  write(record: unknown): { offset: number; length: number } {
    if (this.failed !== undefined) throw this.failed;
    if (this.fd === undefined) throw new Error(`${this.file}: writer is closed`);
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    try {
      writeAll(this.fd, line, this.file);
    } catch (error) {
      truncateTo(this.fd, this.position);
      this.failed = error as Error;
      throw error;
    }
    const at = { offset: this.position, length: line.length - 1 };
    this.position += line.length;
    this.written += 1;
    return at;
  }

  /** Flushes the lines written so far to the device (fsync); a no-op when nothing is new. */
  sync(): void {
    if (this.failed !== undefined) throw this.failed;
    if (this.fd === undefined || this.synced === this.written) return;
    const upTo = this.written;
    try {
      syncFd(this.fd, this.file);
    } catch (error) {
      this.failed = error as Error;
      throw error;
    }
    this.synced = Math.max(this.synced, upTo);
  }

  /**
   * {@link sync} off the event loop: resolves once the lines written before the call are on the
   * device (lines written meanwhile may or may not be). A failure breaks the writer as a failed
   * write does. The writer must not be closed before it settles.
   */
  async syncAsync(): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    if (this.fd === undefined || this.synced === this.written) return;
    const upTo = this.written;
    this.syncing++;
    try {
      await syncFdAsync(this.fd, this.file);
    } catch (error) {
      this.failed ??= error as Error;
      throw error;
    } finally {
      this.syncing--;
    }
    this.synced = Math.max(this.synced, upTo);
  }

  close(): void {
    // The pool's fsync holds the descriptor's number: closed under it, the number could be
    // reused by another file, and the sync would flush that one instead.
    if (this.syncing > 0) throw new Error(`${this.file}: closed while a sync was in flight`);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

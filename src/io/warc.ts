/**
 * WARC records (Common Crawl's WET files are WARC with `conversion` records holding the
 * plain text of each page): a header block, then exactly `Content-Length` bytes of body.
 * Streamed record by record, with each record's byte offset in the (decompressed) file so
 * that a bad record can be found again.
 */
export interface WarcRecord {
  /** Byte offset of the record's `WARC/` line in the decompressed stream. */
  offset: number;
  /** Header fields, names in lower case. */
  headers: Map<string, string>;
  body: Buffer;
}

/** Thrown when the stream is not WARC where a record should start, or is cut short. */
export class WarcError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const MAX_HEADER = 1 << 20;
const HEADER_END = Buffer.from('\r\n\r\n');

export async function* readWarc(chunks: AsyncIterable<Buffer>): AsyncGenerator<WarcRecord> {
  let buf: Buffer = Buffer.alloc(0);
  let base = 0; // absolute offset of buf[0]
  const iterator = chunks[Symbol.asyncIterator]();
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await iterator.next();
    if (next.done === true) {
      ended = true;
      return false;
    }
    buf = buf.length === 0 ? next.value : Buffer.concat([buf, next.value]);
    return true;
  };
  const drop = (n: number): void => {
    buf = buf.subarray(n);
    base += n;
  };
  for (;;) {
    // Blank lines between records.
    for (;;) {
      let skip = 0;
      while (skip < buf.length && (buf[skip] === 0x0d || buf[skip] === 0x0a)) skip++;
      drop(skip);
      if (buf.length > 0 || !(await more())) break;
    }
    if (buf.length === 0) return;
    let headerEnd = buf.indexOf(HEADER_END);
    while (headerEnd === -1) {
      if (buf.length > MAX_HEADER) throw new WarcError('no end of the WARC header within 1 MiB', base);
      if (!(await more())) throw new WarcError('the file ends inside a WARC header (cut short?)', base);
      headerEnd = buf.indexOf(HEADER_END);
    }
    const offset = base;
    const lines = buf.toString('utf8', 0, headerEnd).split(/\r\n/);
    if (!/^WARC\/\d/.test(lines[0] ?? '')) throw new WarcError(`expected a WARC record ("WARC/1.0"), found "${(lines[0] ?? '').slice(0, 40)}"`, offset);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = Number(headers.get('content-length'));
    if (!Number.isSafeInteger(length) || length < 0) throw new WarcError('WARC record without a valid Content-Length', offset);
    const bodyStart = headerEnd + HEADER_END.length;
    while (buf.length < bodyStart + length) {
      if (!(await more())) throw new WarcError(`the file ends inside a WARC record (Content-Length ${length}; cut short?)`, offset);
    }
    const body = Buffer.from(buf.subarray(bodyStart, bodyStart + length));
    drop(bodyStart + length);
    yield { offset, headers, body };
  }
}

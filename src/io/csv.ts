/**
 * CSV and TSV records, streamed (RFC 4180): a field may be quoted, a quoted field may hold
 * the delimiter, newlines and doubled quotes (`""`). A quote elsewhere in a field is kept as
 * text, as spreadsheet tools write it. Memory holds one record, not the file.
 */
import { StringDecoder } from 'node:string_decoder';

export interface CsvRecord {
  /** 1-based record number; the header is record 1. */
  record: number;
  /** 1-based line where the record starts (a quoted field may span lines). */
  line: number;
  fields: string[];
}

/** Thrown when the file ends inside a quoted field. */
export class CsvError extends Error {}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

export async function* readCsv(chunks: AsyncIterable<Buffer>, delimiter: ',' | '\t'): AsyncGenerator<CsvRecord> {
  const decoder = new StringDecoder('utf8');
  const delim = delimiter.charCodeAt(0);
  let fields: string[] = [];
  let field: string[] = [];
  let state = 'start' as 'start' | 'plain' | 'quoted' | 'quote';
  let line = 1;
  let recordLine = 1;
  let record = 0;
  let sawCr = false;
  let first = true;
  const endField = (): void => {
    fields.push(field.join(''));
    field = [];
  };
  const endRecord = (): CsvRecord | undefined => {
    endField();
    const out = fields;
    fields = [];
    // A blank line is no record.
    if (out.length === 1 && out[0] === '') return undefined;
    record += 1;
    return { record, line: recordLine, fields: out };
  };
  for await (const chunk of chunks) {
    let s = decoder.write(chunk);
    if (first && s.length > 0) {
      s = s.replace(/^\uFEFF/, '');
      first = false;
    }
    let from = state === 'plain' || state === 'quoted' ? 0 : -1;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (state === 'quoted') {
        // Jump to the closing quote, counting the newlines on the way.
        let q = s.indexOf('"', i);
        if (q === -1) q = s.length;
        for (let nl = s.indexOf('\n', i); nl !== -1 && nl < q; nl = s.indexOf('\n', nl + 1)) line++;
        i = q;
        if (q < s.length) {
          field.push(s.slice(from, i));
          state = 'quote';
        }
        continue;
      }
      if (state === 'quote') {
        if (c === QUOTE) {
          field.push('"'); // a doubled quote is one quote character
          state = 'quoted';
          from = i + 1;
          continue;
        }
        // After the closing quote: the delimiter, the end of the line, or more plain text.
        state = 'plain';
        from = i;
      }
      if (c === LF && sawCr) {
        // second half of a CRLF
        sawCr = false;
        line++;
        recordLine = line;
        continue;
      }
      sawCr = false;
      if (state === 'start') {
        if (c === QUOTE) {
          state = 'quoted';
          from = i + 1;
          continue;
        }
        state = 'plain';
        from = i;
      }
      if (c === delim) {
        field.push(s.slice(from, i));
        endField();
        state = 'start';
      } else if (c === LF || c === CR) {
        field.push(s.slice(from, i));
        const r = endRecord();
        state = 'start';
        if (c === CR) sawCr = true;
        else {
          line++;
          recordLine = line;
        }
        if (r !== undefined) yield r;
      }
    }
    if (state === 'plain' || state === 'quoted') field.push(s.slice(from));
  }
  if (state === 'quoted') throw new CsvError(`the file ends inside a quoted field (record starting on line ${recordLine}): a closing quote is missing`);
  if (state !== 'start' || fields.length > 0) {
    const r = endRecord();
    if (r !== undefined) yield r;
  }
}

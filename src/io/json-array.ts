/**
 * Elements of a top-level JSON array (`[{...}, {...}]`, as WikiHow and many dataset dumps
 * come), one at a time: a scanner finds where each element ends (tracking nesting and
 * strings), then the element alone is parsed. Memory holds one element, not the file.
 */
import { StringDecoder } from 'node:string_decoder';

export type ArrayElement =
  | { index: number; value: unknown; error?: undefined }
  | { index: number; value?: undefined; error: string };

/** Thrown when the text is not a JSON array at all, or is cut short. */
export class JsonArrayError extends Error {}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

const STRING_STOP = /["\\]/g;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

/** Streams the elements of the JSON array in `chunks`; each is parsed on its own (index from 1). */
export async function* readJsonArray(chunks: AsyncIterable<Buffer>): AsyncGenerator<ArrayElement> {
  const decoder = new StringDecoder('utf8');
  let state = 'start' as 'start' | 'before' | 'element' | 'end';
  let depth = 0; // nesting inside the current element
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let index = 0;
  const finish = (): ArrayElement => {
    index += 1;
    const text = parts.join('');
    parts = [];
    try {
      return { index, value: JSON.parse(text) as unknown };
    } catch (error) {
      return { index, error: `invalid JSON: ${(error as Error).message}` };
    }
  };
  for await (const chunk of chunks) {
    const s = decoder.write(chunk);
    let from = state === 'element' ? 0 : -1; // start of the current element's text in this chunk
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (state === 'element') {
        if (inString) {
          if (escaped) {
            escaped = false;
            continue;
          }
          // Jump to the next quote or backslash: most of an element is string content.
          STRING_STOP.lastIndex = i;
          const stop = STRING_STOP.exec(s);
          if (stop === null) {
            i = s.length;
            continue;
          }
          i = stop.index;
          if (s.charCodeAt(i) === BACKSLASH) escaped = true;
          else inString = false;
          continue;
        }
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (depth === 0) {
            // `]` closing the array itself
            parts.push(s.slice(from, i));
            from = -1;
            yield finish();
            state = 'end';
          } else depth--;
        } else if (c === COMMA && depth === 0) {
          parts.push(s.slice(from, i));
          from = -1;
          yield finish();
          state = 'before';
        }
        continue;
      }
      if (isSpace(c)) continue;
      if (state === 'start') {
        if (c !== OPEN_BRACKET) throw new JsonArrayError(`expected a JSON array ("[") but the text starts with "${s.slice(i, i + 20)}"`);
        state = 'before';
      } else if (state === 'before') {
        if (c === CLOSE_BRACKET && index === 0 && parts.length === 0) {
          state = 'end';
          continue;
        }
        state = 'element';
        from = i;
        i--; // scan this character as part of the element
      } else if (state === 'end') {
        throw new JsonArrayError(`unexpected text after the closing "]": "${s.slice(i, i + 20)}"`);
      }
    }
    if (state === 'element' && from !== -1) parts.push(s.slice(from));
  }
  if (state === 'start') throw new JsonArrayError('empty file: expected a JSON array');
  if (state !== 'end') throw new JsonArrayError(`the array is not closed ("]" missing) after element ${index}: the file is cut short`);
}

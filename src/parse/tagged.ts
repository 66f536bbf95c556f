/**
 * Tagged blocks in model text (`<tool_call>…</tool_call>`, `<tools>…</tools>`), as Hermes-style
 * chat formats and the Trajectory Synthesizer write them.
 */
import { argumentsString, isObject, parseJsonLoose } from './json.js';

/**
 * Blocks `<tag>…</tag>` in text; a block left open at the very end is taken to the end
 * (`unclosed` then says so: the text may have been cut or the close tag forgotten).
 */
export function extractBlocks(text: string, tag: string): { blocks: string[]; rest: string; unclosed: boolean } {
  const open = new RegExp(`<\\s*${tag}\\s*>`, 'gi');
  const close = new RegExp(`<\\s*/\\s*${tag}\\s*>`, 'i');
  const blocks: string[] = [];
  let rest = '';
  let pos = 0;
  let unclosed = false;
  for (;;) {
    open.lastIndex = pos;
    const o = open.exec(text);
    if (o === null) break;
    rest += text.slice(pos, o.index);
    const after = text.slice(o.index + o[0].length);
    const c = close.exec(after);
    if (c === null) {
      blocks.push(after);
      pos = text.length;
      unclosed = true;
      break;
    }
    blocks.push(after.slice(0, c.index));
    pos = o.index + o[0].length + c.index + c[0].length;
  }
  rest += text.slice(pos);
  return { blocks, rest, unclosed };
}

/**
 * Parses the JSON of one `<tool_call>` block into a name and wire arguments. `repaired` says
 * the JSON needed fixing (trailing comma, unquoted value, single quotes, a missing bracket…):
 * the values may not be what the model meant, so callers record it.
 */
export function parseToolCallJson(inner: string): { ok: true; name: string; arguments: string; repaired: boolean } | { ok: false; error: string } {
  const parsed = parseJsonLoose(inner.trim());
  if (!parsed.ok) return parsed;
  const v = parsed.value;
  if (!isObject(v)) return { ok: false, error: 'tool call is not a JSON object' };
  const fn = isObject(v.function) ? v.function : v;
  if (typeof fn.name !== 'string') return { ok: false, error: 'tool call has no name' };
  return { ok: true, name: fn.name, arguments: argumentsString(fn.arguments ?? fn.parameters), repaired: parsed.repaired };
}

/**
 * The Trajectory Synthesizer (GEM §"Data & synthesizer"): a fine-tuned model that turns a
 * source segment into tools plus a whole trajectory in ONE generation. What it is asked (the
 * instruction it was trained with, then the segment) and the tagged text it answers in are
 * defined here; `gemtraj export --format sft-pairs` writes training targets in this format
 * and {@link parseSynthesizerOutput} reads the model's answers back.
 *
 * Output format (the tags the paper used):
 * ```
 * <tools>
 * [
 * {"type":"function","function":{"name":"…","description":"…","parameters":{…}}},
 * …
 * ]
 * </tools>
 * <system>domain rules…</system>
 * <user>…</user>
 * <assistant>optional text
 * <tool_call>{"name":"…","arguments":{…}}</tool_call></assistant>
 * <tool>result of the first open call</tool>
 * <assistant>…</assistant>
 * ```
 * - `<tools>` holds a JSON array of OpenAI tools (bare `{name, description, parameters}` also read);
 * - one block per message, in order; `<tool>` blocks answer the open calls of the preceding
 *   assistant block in order (call ids are regenerated as `call_<n>`);
 * - block text is taken trimmed; tags inside message text are not escaped (a close tag is
 *   taken as the end of its block only when another block or the end of the text follows).
 * The parser tolerates prose before/after, code fences, `<think>…</think>` blocks, trailing
 * commas and other JSON slips (jsonrepair), and a missing close tag on the last block.
 */
import { CallIds, type Message, type Tool, type ToolCall } from '../records.js';
import { isObject, parseJsonLoose } from '../parse/json.js';
import { extractBlocks, parseToolCallJson } from '../parse/tagged.js';
import { normalizeTools } from '../parse/tool-schema.js';
import { promptVersion } from './versions.js';

/** Version of this prompt in the default prompt set (versions.ts). */
export const SYNTHESIZE_PROMPT_VERSION = promptVersion('synthesize');

/** The instruction the paper's synthesizer was trained with. */
export const SYNTHESIZER_INSTRUCTION = 'Turn the following text into multi-turn tool-use trajectories';

/** The prompt of one synthesizer call: the instruction, a blank line, the segment text. */
export function buildSynthesizePrompt(segmentText: string, instruction: string = SYNTHESIZER_INSTRUCTION): string {
  return `${instruction}\n\n${segmentText}`;
}

/** What {@link parseSynthesizerOutput} returns on success. */
export interface SynthesizerOutput {
  tools: Tool[];
  messages: Message[];
  /** Slips that were repaired or tolerated (missing close tag, prose, repaired JSON, …). */
  warnings: string[];
}

type Role = 'system' | 'user' | 'assistant' | 'tool';
const OPEN_ANY = /<\s*(system|user|assistant|tool)\s*>/gi;
const OPEN_AT = /^\s*(?:```[\w-]*\s*)?<\s*(?:system|user|assistant|tool|tools)\s*>/i;

/** Finds the end of a block opened at `from`: a close tag followed by another block or the end. */
function findClose(text: string, role: string, from: number): { end: number; next: number } | undefined {
  const close = new RegExp(`<\\s*/\\s*${role}\\s*>`, 'gi');
  close.lastIndex = from;
  let last: { end: number; next: number } | undefined;
  for (let c = close.exec(text); c !== null; c = close.exec(text)) {
    const cand = { end: c.index, next: c.index + c[0].length };
    const after = text.slice(cand.next);
    if (after.trim() === '' || OPEN_AT.test(after) || /^\s*```\s*$/.test(after)) return cand;
    last = cand;
  }
  return last;
}

/**
 * Reads a synthesizer's output back into tools and messages, tolerating formatting slips
 * (see the module comment). Returns `{error}` when no usable conversation is found or a
 * tools list / tool call is not readable JSON.
 */
export function parseSynthesizerOutput(text: string): SynthesizerOutput | { error: string } {
  const warnings: string[] = [];
  let src = text.replace(/<think>[\s\S]*?<\/think>/gi, () => {
    warnings.push('think block removed');
    return '';
  });
  if (/<think>/i.test(src)) {
    warnings.push('unclosed <think> removed');
    src = src.replace(/<think>/gi, '');
  }

  // Tools: the first <tools> block (closed, or up to the first message block).
  let tools: Tool[] = [];
  let bodyFrom = 0;
  const toolsOpen = /<\s*tools\s*>/i.exec(src);
  if (toolsOpen === null) warnings.push('no <tools> block');
  else {
    const start = toolsOpen.index + toolsOpen[0].length;
    const close = /<\s*\/\s*tools\s*>/i.exec(src.slice(start));
    OPEN_ANY.lastIndex = start;
    const firstMsg = OPEN_ANY.exec(src);
    let end: number;
    if (close !== null && (firstMsg === null || start + close.index < firstMsg.index)) {
      end = start + close.index;
      bodyFrom = end + close[0].length;
    } else {
      warnings.push('missing </tools>');
      end = firstMsg === null ? src.length : firstMsg.index;
      bodyFrom = end;
    }
    if (src.slice(0, toolsOpen.index).trim() !== '') warnings.push('text before <tools> ignored');
    const parsed = parseJsonLoose(src.slice(start, end).trim());
    if (!parsed.ok) return { error: `<tools>: ${parsed.error}` };
    if (parsed.repaired) warnings.push('<tools> JSON repaired');
    const list = Array.isArray(parsed.value) ? parsed.value : isObject(parsed.value) ? [parsed.value] : undefined;
    if (list === undefined) return { error: '<tools>: not a JSON list of tools' };
    const norm = normalizeTools(list);
    if ('error' in norm) return { error: `<tools>: ${norm.error}` };
    tools = norm.tools;
  }

  // Message blocks.
  const messages: Message[] = [];
  const ids = new CallIds();
  let pending: ToolCall[] = [];
  let pos = bodyFrom;
  for (;;) {
    OPEN_ANY.lastIndex = pos;
    const open = OPEN_ANY.exec(src);
    if (open === null) break;
    const role = (open[1] as string).toLowerCase() as Role;
    const innerFrom = open.index + open[0].length;
    let close = findClose(src, role, innerFrom);
    if (close === undefined) {
      OPEN_ANY.lastIndex = innerFrom;
      const next = OPEN_ANY.exec(src);
      if (next === null) warnings.push(`missing </${role}> at the end`);
      else warnings.push(`missing </${role}> before the next block`);
      close = next === null ? { end: src.length, next: src.length } : { end: next.index, next: next.index };
    }
    const inner = src.slice(innerFrom, close.end).trim();
    pos = close.next;
    const n = messages.length;
    if (role === 'system' || role === 'user') messages.push({ role, content: inner });
    else if (role === 'assistant') {
      const { blocks, rest } = extractBlocks(inner, 'tool_call');
      if (blocks.length === 0) {
        messages.push({ role: 'assistant', content: inner });
        continue;
      }
      const calls: ToolCall[] = [];
      for (let j = 0; j < blocks.length; j++) {
        const c = parseToolCallJson((blocks[j] as string).replace(/^\s*```[\w-]*\s*|\s*```\s*$/g, ''));
        if (!c.ok) return { error: `message ${n + 1} (<assistant>): <tool_call> ${j + 1}: ${c.error}` };
        calls.push({ id: ids.next(), type: 'function', function: { name: c.name, arguments: c.arguments } });
      }
      const textPart = rest.trim();
      messages.push({ role: 'assistant', content: textPart === '' ? null : textPart, tool_calls: calls });
      pending = [...calls];
    } else {
      const call = pending.shift();
      if (call === undefined) warnings.push(`message ${n + 1}: <tool> without an open call`);
      messages.push({ role: 'tool', tool_call_id: call?.id ?? ids.next(), content: inner });
    }
  }
  if (messages.length === 0) return { error: 'no <system>/<user>/<assistant>/<tool> blocks found' };
  if (src.slice(pos).trim() !== '' && !/^\s*```\s*$/.test(src.slice(pos))) warnings.push('text after the last block ignored');
  return { tools, messages, warnings };
}

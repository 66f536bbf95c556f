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
 *   taken as the end of its block only when another block or the end of the text follows,
 *   and a line that starts with an open tag starts a new block).
 * The parser tolerates prose before/after, code fences, `<think>…</think>` blocks, trailing
 * commas and other JSON slips (jsonrepair), and missing close tags. Every slip it tolerates
 * or repairs comes back as a warning ({@link SYNTHESIZER_CHECKS}) with the path of the message
 * or call, so that a repaired value never enters a dataset unmarked. It cannot tell a cut-off
 * answer from a slip: callers check the finish reason (src/stages/synthesize.ts).
 */
import { CallIds, type Message, type Reason, type Tool, type ToolCall } from '../records.js';
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

/** Check ids of the parser's warnings (kept in `meta.warnings`, counted by `gemtraj stats`). */
export const SYNTHESIZER_CHECKS = {
  /** Text around the answer ignored: prose before, after or between blocks, `<think>` blocks; or no `<tools>` block. */
  format: 'synthesizer_format',
  /** Tag structure repaired: a missing close tag, a `<tool>` result without an open call. */
  tags: 'synthesizer_tags',
  /** The `<tools>` JSON needed repair. */
  toolsRepaired: 'synthesizer_tools_repaired',
  /** A `<tool_call>`'s JSON needed repair: its name or arguments may not be what the model meant. */
  callRepaired: 'synthesizer_call_repaired',
  /** A tool's parameter schema was normalised (the same check imports use). */
  schemaNormalized: 'schema_normalized',
} as const;

/** What {@link parseSynthesizerOutput} returns on success. */
export interface SynthesizerOutput {
  tools: Tool[];
  messages: Message[];
  /**
   * Slips that were repaired or tolerated, each with a check id from {@link SYNTHESIZER_CHECKS}
   * and, where it has one, the path of the part concerned (`messages[3]`,
   * `messages[3].tool_calls[0]`, `tools`), indexes into `messages` as returned.
   */
  warnings: Reason[];
}

/** Longest excerpt of the original text quoted in a repair warning, in characters. */
const EXCERPT_CHARS = 300;

function excerpt(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > EXCERPT_CHARS ? `${t.slice(0, EXCERPT_CHARS)}…` : t);
}

type Role = 'system' | 'user' | 'assistant' | 'tool';
const OPEN_ANY = /<\s*(system|user|assistant|tool)\s*>/gi;
const OPEN_AT = /^\s*(?:```[\w-]*\s*)?<\s*(?:system|user|assistant|tool|tools)\s*>/i;

/** A message open tag at the start of a line: the format writes one block per line. */
const OPEN_LINE = /(?:^|\n)[ \t]*<\s*(?:system|user|assistant|tool)\s*>/gi;

/**
 * Finds the end of a block opened at `from`: a close tag followed by another block or the
 * end. A close tag counts only before the next line that opens a block: otherwise a missing
 * close tag would let the block swallow the messages up to a later close of its role.
 */
function findClose(text: string, role: string, from: number): { end: number; next: number } | undefined {
  OPEN_LINE.lastIndex = from;
  const limit = OPEN_LINE.exec(text)?.index ?? text.length;
  const close = new RegExp(`<\\s*/\\s*${role}\\s*>`, 'gi');
  close.lastIndex = from;
  let last: { end: number; next: number } | undefined;
  for (let c = close.exec(text); c !== null && c.index < limit; c = close.exec(text)) {
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
  const warnings: Reason[] = [];
  const warn = (check: string, message: string, path?: string): void => {
    warnings.push(path === undefined ? { check, message } : { check, path, message });
  };
  let src = text.replace(/<think>[\s\S]*?<\/think>/gi, () => {
    warn(SYNTHESIZER_CHECKS.format, 'think block removed');
    return '';
  });
  if (/<think>/i.test(src)) {
    warn(SYNTHESIZER_CHECKS.format, 'unclosed <think> removed');
    src = src.replace(/<think>/gi, '');
  }

  // Tools: the first <tools> block (closed, or up to the first message block).
  let tools: Tool[] = [];
  let bodyFrom = 0;
  const toolsOpen = /<\s*tools\s*>/i.exec(src);
  if (toolsOpen === null) warn(SYNTHESIZER_CHECKS.format, 'no <tools> block');
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
      warn(SYNTHESIZER_CHECKS.tags, 'missing </tools>', 'tools');
      end = firstMsg === null ? src.length : firstMsg.index;
      bodyFrom = end;
    }
    if (src.slice(0, toolsOpen.index).trim() !== '') warn(SYNTHESIZER_CHECKS.format, 'text before <tools> ignored');
    const parsed = parseJsonLoose(src.slice(start, end).trim());
    if (!parsed.ok) return { error: `<tools>: ${parsed.error}` };
    if (parsed.repaired) warn(SYNTHESIZER_CHECKS.toolsRepaired, '<tools> JSON repaired', 'tools');
    const list = Array.isArray(parsed.value) ? parsed.value : isObject(parsed.value) ? [parsed.value] : undefined;
    if (list === undefined) return { error: '<tools>: not a JSON list of tools' };
    const norm = normalizeTools(list);
    if ('error' in norm) return { error: `<tools>: ${norm.error}` };
    tools = norm.tools;
    for (const note of norm.notes) warn(SYNTHESIZER_CHECKS.schemaNormalized, note.message, note.path);
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
    if (src.slice(pos, open.index).trim() !== '') warn(SYNTHESIZER_CHECKS.format, 'text before this block ignored', `messages[${messages.length}]`);
    const role = (open[1] as string).toLowerCase() as Role;
    const innerFrom = open.index + open[0].length;
    let close = findClose(src, role, innerFrom);
    const n = messages.length;
    if (close === undefined) {
      OPEN_ANY.lastIndex = innerFrom;
      const next = OPEN_ANY.exec(src);
      warn(SYNTHESIZER_CHECKS.tags, `missing </${role}> ${next === null ? 'at the end' : 'before the next block'}`, `messages[${n}]`);
      close = next === null ? { end: src.length, next: src.length } : { end: next.index, next: next.index };
    }
    const inner = src.slice(innerFrom, close.end).trim();
    pos = close.next;
    if (role === 'system' || role === 'user') messages.push({ role, content: inner });
    else if (role === 'assistant') {
      const { blocks, rest, unclosed } = extractBlocks(inner, 'tool_call');
      if (unclosed) warn(SYNTHESIZER_CHECKS.tags, 'missing </tool_call>', `messages[${n}].tool_calls[${blocks.length - 1}]`);
      if (blocks.length === 0) {
        messages.push({ role: 'assistant', content: inner });
        continue;
      }
      const calls: ToolCall[] = [];
      for (let j = 0; j < blocks.length; j++) {
        const block = (blocks[j] as string).replace(/^\s*```[\w-]*\s*|\s*```\s*$/g, '');
        const c = parseToolCallJson(block);
        if (!c.ok) return { error: `message ${n + 1} (<assistant>): <tool_call> ${j + 1}: ${c.error}` };
        if (c.repaired) warn(SYNTHESIZER_CHECKS.callRepaired, `<tool_call> JSON repaired; the model wrote ${excerpt(block)}`, `messages[${n}].tool_calls[${j}]`);
        calls.push({ id: ids.next(), type: 'function', function: { name: c.name, arguments: c.arguments } });
      }
      const textPart = rest.trim();
      messages.push({ role: 'assistant', content: textPart === '' ? null : textPart, tool_calls: calls });
      pending = [...calls];
    } else {
      const call = pending.shift();
      if (call === undefined) warn(SYNTHESIZER_CHECKS.tags, '<tool> without an open call', `messages[${n}]`);
      messages.push({ role: 'tool', tool_call_id: call?.id ?? ids.next(), content: inner });
    }
  }
  if (messages.length === 0) return { error: 'no <system>/<user>/<assistant>/<tool> blocks found' };
  if (src.slice(pos).trim() !== '' && !/^\s*```\s*$/.test(src.slice(pos))) warn(SYNTHESIZER_CHECKS.format, 'text after the last block ignored');
  return { tools, messages, warnings };
}

/**
 * Hermes / Qwen tool-call text format: plain `{role, content}` messages where
 * - the system prompt lists the tools between `<tools></tools>` (one JSON tool per line, the
 *   exact "# Tools" block Qwen's template and LLaMA-Factory's `qwen` tool format write);
 * - an assistant turn's calls are `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`
 *   blocks after its text;
 * - results are `<tool_response>\n…\n</tool_response>` blocks, consecutive results in one
 *   message whose role is `user` (default: the paper's final format) or `tool`.
 * Lossy: call ids (regenerated as `call_<n>` on import), tool-message `name`,
 * `reasoning_content`, and whitespace at the end of a text that precedes tool calls or tools.
 */
import { CallIds, type Message, type Reason, type Tool, type ToolCall, type Trajectory } from '../records.js';
import { finishImport, importMeta, pyJson, stableId } from './common.js';
import { argumentsObject, argumentsString, isObject, parseJsonLoose, type JsonObject } from '../parse/json.js';
import { extractBlocks, parseToolCallJson } from '../parse/tagged.js';
import { normalizeTools } from '../parse/tool-schema.js';
import { ExportError, type ExportOutcome, type ImportOptions, type ImportResult } from './types.js';

export interface HermesMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

export interface HermesRecord {
  messages: HermesMessage[];
}

export interface HermesExportOptions {
  /**
   * Role of the message holding `<tool_response>` blocks: `user` (default: the GEM paper's final
   * format, and what Qwen's templates render unchanged) or `tool` (which Qwen3's template wraps in
   * a second `<tool_response>`).
   */
  toolResultRole?: 'tool' | 'user';
}

/** Start of the tools block (LLaMA-Factory's QWEN_TOOL_PROMPT, the text Qwen's chat template writes). */
export const HERMES_TOOLS_HEADER =
  '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
  'You are provided with function signatures within <tools></tools> XML tags:\n<tools>';
/** End of the tools block, after `</tools>`. */
export const HERMES_TOOLS_FOOTER =
  '\n</tools>\n\nFor each function call, return a json object with function name and arguments within ' +
  '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>';

/** The system-prompt block announcing `tools` (empty string when there are none). */
export function hermesToolsBlock(tools: readonly Tool[]): string {
  if (tools.length === 0) return '';
  return `${HERMES_TOOLS_HEADER}${tools.map((t) => `\n${pyJson(t)}`).join('')}${HERMES_TOOLS_FOOTER}`;
}

/** One `<tool_call>` block, arguments as an object (Python-style JSON, as Qwen renders it). */
export function hermesToolCall(call: ToolCall, path: string): string {
  const args = argumentsObject(call.function.arguments);
  if (!args.ok) throw new ExportError(args.error, path);
  return `<tool_call>\n${pyJson({ name: call.function.name, arguments: args.value })}\n</tool_call>`;
}

/** Exports a trajectory as Hermes text messages, with notes on what was dropped. */
export function toHermesWithNotes(trajectory: Trajectory, options: HermesExportOptions = {}): ExportOutcome<HermesRecord> {
  const resultRole = options.toolResultRole ?? 'user';
  const notes: string[] = [];
  const out: HermesMessage[] = [];
  const toolsBlock = hermesToolsBlock(trajectory.tools);
  const msgs = trajectory.messages;
  let start = 0;
  const first = msgs[0];
  if (first?.role === 'system') {
    out.push({ role: 'system', content: toolsBlock === '' ? first.content : `${first.content}\n\n${toolsBlock}` });
    start = 1;
  } else if (toolsBlock !== '') out.push({ role: 'system', content: toolsBlock });
  for (let i = start; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    if (m.role === 'system' || m.role === 'user') out.push({ role: m.role, content: m.content });
    else if (m.role === 'assistant') {
      if (m.reasoning_content !== undefined && m.reasoning_content !== '') notes.push(`messages[${i}]: reasoning_content dropped`);
      const parts: string[] = [];
      if (m.content !== undefined && m.content !== null && m.content !== '') parts.push(m.content);
      (m.tool_calls ?? []).forEach((c, j) => parts.push(hermesToolCall(c, `messages[${i}].tool_calls[${j}].function.arguments`)));
      out.push({ role: 'assistant', content: parts.join('\n') });
    } else {
      const block = `<tool_response>\n${m.content}\n</tool_response>`;
      const last = out[out.length - 1];
      const prev = msgs[i - 1];
      // Consecutive results share one message, as Qwen's template renders them.
      if (last !== undefined && prev?.role === 'tool') last.content = `${last.content}\n${block}`;
      else out.push({ role: resultRole, content: block });
    }
  }
  return { record: { messages: out }, notes };
}

/** Exports a trajectory as Hermes text messages (see the module comment for losses). */
export function toHermes(trajectory: Trajectory, options: HermesExportOptions = {}): HermesRecord {
  return toHermesWithNotes(trajectory, options).record;
}

/** Splits a system prompt into its own text and the tools listed in `<tools>`. */
function splitSystem(content: string): { text: string; rawTools: unknown[] | undefined; error?: string } {
  // The first non-empty <tools> block: the header itself mentions "<tools></tools> XML tags".
  let start = -1;
  let inner = '';
  const opens = /<\s*tools\s*>/gi;
  for (let o = opens.exec(content); o !== null; o = opens.exec(content)) {
    const block = (extractBlocks(content.slice(o.index), 'tools').blocks[0] ?? '').trim();
    if (block !== '') {
      start = o.index;
      inner = block;
      break;
    }
  }
  if (start < 0) return { text: content, rawTools: undefined };
  let rawTools: unknown[] = [];
  if (inner.startsWith('[')) {
    const parsed = parseJsonLoose(inner);
    if (!parsed.ok || !Array.isArray(parsed.value)) return { text: content, rawTools: undefined, error: `tools: ${parsed.ok ? 'not a list' : parsed.error}` };
    rawTools = parsed.value;
  } else {
    for (const line of inner.split('\n')) {
      if (line.trim() === '') continue;
      const parsed = parseJsonLoose(line.trim());
      if (!parsed.ok) return { text: content, rawTools: undefined, error: `tools: ${parsed.error}` };
      rawTools.push(parsed.value);
    }
  }
  // Cut the whole announcement: from its "# Tools" header (if there) to the end of the footer.
  const header = content.lastIndexOf('# Tools', start);
  const cutFrom = header >= 0 && content.slice(header, start).split('\n').length <= 6 ? header : start;
  const closeMatch = /<\s*\/\s*tools\s*>/i.exec(content.slice(start));
  let cutTo = closeMatch === null ? content.length : start + closeMatch.index + closeMatch[0].length;
  const footerTail = HERMES_TOOLS_FOOTER.slice('\n</tools>'.length);
  if (content.startsWith(footerTail, cutTo)) cutTo += footerTail.length;
  const text = `${content.slice(0, cutFrom).trimEnd()}${content.slice(cutTo)}`.trim() === ''
    ? ''
    : `${content.slice(0, cutFrom)}${content.slice(cutTo)}`.trimEnd();
  return { text, rawTools };
}

/**
 * Imports Hermes text messages: tools from the system prompt's `<tools>`, calls from
 * `<tool_call>` blocks, results from `<tool_response>` blocks in `tool` or `user` messages,
 * linked to the open calls in order. Tolerates spacing inside tags and a missing final close tag.
 */
export function fromHermes(record: unknown, options: ImportOptions = {}): ImportResult {
  if (!isObject(record)) return { ok: false, error: '(root): not an object' };
  const raw = record.messages ?? record.conversations;
  if (!Array.isArray(raw)) return { ok: false, error: 'messages: not a list' };
  const warnings: Reason[] = [];
  const messages: Message[] = [];
  const ids = new CallIds();
  let pending: ToolCall[] = [];
  let rawTools: unknown = record.tools;
  for (let i = 0; i < raw.length; i++) {
    const m: unknown = raw[i];
    const p = `messages[${i}]`;
    if (!isObject(m) || typeof m.role !== 'string') return { ok: false, error: `${p}: not a message` };
    const content = typeof m.content === 'string' ? m.content : m.content === null || m.content === undefined ? '' : JSON.stringify(m.content);
    if (m.role === 'system') {
      const split = splitSystem(content);
      if (split.error !== undefined) return { ok: false, error: `${p}.content: ${split.error}` };
      if (split.rawTools !== undefined) rawTools = split.rawTools;
      if (split.text !== '') messages.push({ role: 'system', content: split.text });
    } else if (m.role === 'assistant') {
      const { blocks, rest } = extractBlocks(content, 'tool_call');
      if (blocks.length === 0) {
        messages.push({ role: 'assistant', content });
        continue;
      }
      const calls: ToolCall[] = [];
      for (let j = 0; j < blocks.length; j++) {
        const c = parseToolCallJson(blocks[j] as string);
        if (!c.ok) return { ok: false, error: `${p}.content: <tool_call> ${j + 1}: ${c.error}` };
        // A call whose JSON had to be repaired is kept, and says so: the data has a slip in it.
        if (c.repaired) {
          warnings.push({ check: 'import_call_repaired', path: `${p}.content`, message: `<tool_call> ${j + 1} was not valid JSON and was repaired: ${(blocks[j] as string).trim().slice(0, 300)}` });
        }
        calls.push({ id: ids.next(), type: 'function', function: { name: c.name, arguments: c.arguments } });
      }
      const text = rest.trimEnd();
      messages.push({ role: 'assistant', content: text.trim() === '' ? null : text, tool_calls: calls });
      pending = [...calls];
    } else if (m.role === 'tool' || m.role === 'user') {
      const { blocks, rest } = extractBlocks(content, 'tool_response');
      if (blocks.length === 0 || (m.role === 'user' && rest.trim() !== '' && !/^\s*<\s*tool_response/i.test(content))) {
        if (m.role === 'tool') warnings.push({ check: 'import_tool_link', path: p, message: 'tool message without <tool_response>' });
        if (m.role === 'user') {
          messages.push({ role: 'user', content });
          continue;
        }
        blocks.splice(0, blocks.length, content);
      }
      for (const block of blocks) {
        const result = block.replace(/^\s*\n/, '').replace(/\n\s*$/, '');
        const call = pending.shift();
        if (call === undefined) warnings.push({ check: 'import_tool_link', path: p, message: 'result without an open call' });
        messages.push({ role: 'tool', tool_call_id: call?.id ?? ids.next(), content: result });
      }
      if (rest.trim() !== '') messages.push({ role: 'user', content: rest.trim() });
    } else return { ok: false, error: `${p}.role: unknown role ${JSON.stringify(m.role)}` };
  }
  const tools = normalizeTools(rawTools);
  if ('error' in tools) return { ok: false, error: tools.error };
  for (const n of tools.notes) warnings.push({ check: 'schema_normalized', path: n.path, message: n.message });
  const id = stableId('hermes', record);
  const draft: JsonObject = {
    id,
    source: { doc_id: options.docId ?? id },
    tools: tools.tools,
    messages,
    meta: importMeta('hermes', warnings),
  };
  return finishImport(draft);
}

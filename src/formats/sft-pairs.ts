/**
 * Training pairs for a Trajectory Synthesizer (GEM §"Data & synthesizer"): the prompt is the
 * instruction plus a source segment, the target is the tools and the whole trajectory in ONE
 * generation, written in the tagged text format below. {@link parseSynthesizerOutput} reads
 * it back and is what `gemtraj synthesize` uses on the fine-tuned model's output.
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
import type { Message, Reason, Tool, ToolCall, Trajectory } from '../records.js';
import { CallIds, argumentsObject, finishImport, importMeta, isObject, parseJsonLoose, stableId, type JsonObject } from './common.js';
import { parseToolCallJson, extractBlocks } from './hermes.js';
import { normalizeTools } from './normalize-schema.js';
import { ExportError, type ImportOptions, type ImportResult } from './types.js';

/** The instruction the paper's synthesizer was trained with. */
export const SYNTHESIZER_INSTRUCTION = 'Turn the following text into multi-turn tool-use trajectories';

export interface SftPairRecord {
  messages: [{ role: 'system' | 'user'; content: string }, { role: 'assistant'; content: string }];
}

export interface SftPairOptions {
  /** Instruction placed before the segment text (default {@link SYNTHESIZER_INSTRUCTION}). */
  instruction?: string;
  /** Role of the prompt message (default `user`). */
  promptRole?: 'system' | 'user';
}

/** Writes tools and conversation in the synthesizer output format (see the module comment). */
export function formatSynthesizerOutput(tools: readonly Tool[], messages: readonly Message[]): string {
  const out: string[] = [`<tools>\n[\n${tools.map((t) => JSON.stringify(t)).join(',\n')}\n]\n</tools>`];
  messages.forEach((m, i) => {
    if (m.role === 'assistant') {
      const parts: string[] = [];
      if (m.content !== undefined && m.content !== null && m.content !== '') parts.push(m.content);
      (m.tool_calls ?? []).forEach((c, j) => {
        const args = argumentsObject(c.function.arguments);
        if (!args.ok) throw new ExportError(args.error, `messages[${i}].tool_calls[${j}].function.arguments`);
        parts.push(`<tool_call>${JSON.stringify({ name: c.function.name, arguments: args.value })}</tool_call>`);
      });
      out.push(`<assistant>${parts.join('\n')}</assistant>`);
    } else out.push(`<${m.role}>${m.content}</${m.role}>`);
  });
  return out.join('\n');
}

/**
 * Exports a trajectory as a synthesizer training pair. Throws {@link ExportError} when the
 * source text is unknown (a pair without its input teaches nothing) or arguments are not JSON.
 * Lossy: call ids, tool-message `name`, `reasoning_content`, outer whitespace of texts.
 */
export function toSftPair(trajectory: Trajectory, sourceText: string | undefined, options: SftPairOptions = {}): SftPairRecord {
  if (sourceText === undefined || sourceText.trim() === '') {
    throw new ExportError(`source text unknown for segment ${trajectory.source.segment_id ?? '(none)'}`, 'source.segment_id');
  }
  const instruction = options.instruction ?? SYNTHESIZER_INSTRUCTION;
  return {
    messages: [
      { role: options.promptRole ?? 'user', content: `${instruction}\n\n${sourceText}` },
      { role: 'assistant', content: formatSynthesizerOutput(trajectory.tools, trajectory.messages) },
    ],
  };
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

/** Imports a synthesizer training pair (its assistant message parsed with {@link parseSynthesizerOutput}). */
export function fromSftPair(record: unknown, options: ImportOptions = {}): ImportResult {
  if (!isObject(record) || !Array.isArray(record.messages)) return { ok: false, error: 'messages: not a list' };
  const target = [...record.messages].reverse().find((m) => isObject(m) && m.role === 'assistant');
  if (!isObject(target) || typeof target.content !== 'string') return { ok: false, error: 'messages: no assistant message' };
  const parsed = parseSynthesizerOutput(target.content);
  if ('error' in parsed) return { ok: false, error: `messages[1].content: ${parsed.error}` };
  const warnings: Reason[] = parsed.warnings.map((message) => ({ check: 'synthesizer_format', message }));
  const id = stableId('sftpair', record);
  const draft: JsonObject = {
    id,
    source: { doc_id: options.docId ?? id },
    tools: parsed.tools,
    messages: parsed.messages,
    meta: importMeta('sft-pairs', warnings),
  };
  return finishImport(draft);
}

/** A trajectory's conversation as the synthesizer would write it (for tests and previews). */
export function trajectoryToSynthesizerText(t: Trajectory): string {
  return formatSynthesizerOutput(t.tools, t.messages);
}

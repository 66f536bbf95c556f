/**
 * LLaMA-Factory ShareGPT format with tool calls:
 * `{conversations: [{from, value}], system, tools}` where `from` is human / gpt /
 * function_call / observation, and `tools` is a JSON string of the tool list.
 *
 * LLaMA-Factory's converter drops a conversation unless human/observation sit at odd
 * positions (1, 3, …) and gpt/function_call at even ones, with an even number of turns. To
 * satisfy that, export:
 * - puts parallel calls in ONE function_call turn whose value is a JSON array of
 *   `{name, arguments}` (LLaMA-Factory's FunctionFormatter accepts a list), and their results
 *   in ONE observation whose value is the JSON array of results (each result parsed when it
 *   is JSON, else the string), ordered like the calls;
 * - LOSSY: drops assistant text that accompanies tool calls and `reasoning_content` (a
 *   function_call turn carries only calls, and a gpt turn before it would break alternation);
 * - LOSSY: merges consecutive user (or consecutive assistant text) turns with a blank line;
 * - LOSSY: drops trailing user/observation turns (the conversation must end on the model);
 * - LOSSY: call ids (ShareGPT has none; import regenerates `call_<n>`);
 * - refuses (ExportError) a conversation that starts with the assistant, has a second system
 *   message, or a tool result without a preceding call.
 */
import { CallIds, type Message, type Reason, type ToolCall, type Trajectory } from '../records.js';
import { finishImport, importMeta, stableId } from './common.js';
import { argumentsObject, argumentsString, isObject, parseJsonLoose, type JsonObject } from '../parse/json.js';
import { normalizeTools } from '../parse/tool-schema.js';
import { ExportError, type ExportOutcome, type ImportOptions, type ImportResult } from './types.js';

export type ShareGPTRole = 'human' | 'gpt' | 'function_call' | 'observation' | 'system';

export interface ShareGPTTurn {
  from: ShareGPTRole;
  value: string;
}

/** One ShareGPT record as LLaMA-Factory reads it. */
export interface ShareGPTRecord {
  conversations: ShareGPTTurn[];
  /** System prompt ("" when the trajectory has none). */
  system: string;
  /** JSON string of the OpenAI tool list. */
  tools: string;
}

/** An entry of LLaMA-Factory's `data/dataset_info.json`. */
export interface DatasetInfoEntry {
  file_name: string;
  formatting: 'sharegpt';
  columns: { messages: string; system: string; tools: string };
  tags: {
    role_tag: string;
    content_tag: string;
    user_tag: string;
    assistant_tag: string;
    observation_tag: string;
    function_tag: string;
    system_tag: string;
  };
}

/** `{[name]: entry}` to merge into LLaMA-Factory's `dataset_info.json` for a file written by {@link toShareGPT}. */
export function datasetInfoEntry(name: string, file: string): Record<string, DatasetInfoEntry> {
  return {
    [name]: {
      file_name: file,
      formatting: 'sharegpt',
      columns: { messages: 'conversations', system: 'system', tools: 'tools' },
      tags: {
        role_tag: 'from',
        content_tag: 'value',
        user_tag: 'human',
        assistant_tag: 'gpt',
        observation_tag: 'observation',
        function_tag: 'function_call',
        system_tag: 'system',
      },
    },
  };
}

/** A tool result as it goes into a multi-result observation: parsed JSON when it is JSON. */
function resultValue(content: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return content;
  }
}

/** Choices LLaMA-Factory versions and templates differ on (defaults: the historical `sharegpt` output). */
export interface ShareGPTExportOptions {
  /**
   * Assistant text beside tool calls: `drop` it (noted), or `inline` it before the calls as
   * `text\n<tool_call>[calls]</tool_call>` — the function_call value LLaMA-Factory ≥ 0.9.4's
   * FunctionFormatter splits on its tool_call_words (older versions raise on it). @default 'drop'
   */
  textBesideCalls?: 'drop' | 'inline';
  /**
   * Results of parallel calls in their one observation turn: a `json-array` of the results, or
   * `blocks` joined by `\n</tool_response>\n<tool_response>\n`, as LLaMA-Factory's own
   * OpenAI converter joins consecutive tool messages (the qwen template then shows one
   * `<tool_response>` per result, like native Qwen3). @default 'json-array'
   */
  parallelResults?: 'json-array' | 'blocks';
  /** `tools` when the trajectory has none: `"[]"` or `""` (what LLaMA-Factory's data uses). @default '[]' */
  emptyTools?: '[]' | '';
}

/** LLaMA-Factory's separator for the results of one parallel call turn (data/converter.py). */
export const LLAMAFACTORY_RESULT_SEPARATOR = '\n</tool_response>\n<tool_response>\n';

/** Exports a trajectory and lists what was lost. Throws {@link ExportError} when impossible. */
export function toShareGPTWithNotes(trajectory: Trajectory, options: ShareGPTExportOptions = {}): ExportOutcome<ShareGPTRecord> {
  const notes: string[] = [];
  const turns: ShareGPTTurn[] = [];
  let system = '';
  const msgs = trajectory.messages;
  const push = (from: ShareGPTRole, value: string, index: number): void => {
    const last = turns[turns.length - 1];
    if (last !== undefined && last.from === from && (from === 'human' || from === 'gpt')) {
      last.value = `${last.value}\n\n${value}`;
      notes.push(`messages[${index}]: consecutive ${from} turns merged`);
    } else turns.push({ from, value });
  };
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    if (m.role === 'system') {
      if (i !== 0) throw new ExportError('a system message after the first turn has no place in ShareGPT', `messages[${i}]`);
      system = m.content;
    } else if (m.role === 'user') {
      push('human', m.content, i);
    } else if (m.role === 'assistant') {
      const calls = m.tool_calls ?? [];
      if (m.reasoning_content !== undefined && m.reasoning_content !== '') notes.push(`messages[${i}]: reasoning_content dropped`);
      if (calls.length === 0) {
        push('gpt', m.content ?? '', i);
        continue;
      }
      const text = m.content !== undefined && m.content !== null && m.content.trim() !== '' ? m.content : undefined;
      if (text !== undefined && options.textBesideCalls !== 'inline') notes.push(`messages[${i}]: assistant text alongside tool calls dropped`);
      const items = calls.map((c, j) => {
        const args = argumentsObject(c.function.arguments);
        if (!args.ok) throw new ExportError(args.error, `messages[${i}].tool_calls[${j}].function.arguments`);
        return { name: c.function.name, arguments: args.value };
      });
      const callJson = JSON.stringify(items.length === 1 ? items[0] : items);
      turns.push({
        from: 'function_call',
        value: text !== undefined && options.textBesideCalls === 'inline' ? `${text.trimEnd()}\n<tool_call>${callJson}</tool_call>` : callJson,
      });
      // The results: the tool messages that follow, put in call order.
      const results = new Map<string, string>();
      let k = i + 1;
      while (k < msgs.length && (msgs[k] as Message).role === 'tool') {
        const t = msgs[k] as Extract<Message, { role: 'tool' }>;
        const id = calls.some((c) => c.id === t.tool_call_id) && !results.has(t.tool_call_id)
          ? t.tool_call_id
          : calls.find((c) => !results.has(c.id))?.id;
        if (id === undefined) throw new ExportError('more tool results than calls', `messages[${k}]`);
        if (id !== t.tool_call_id) notes.push(`messages[${k}]: tool result linked by position`);
        results.set(id, t.content);
        k++;
      }
      if (results.size > 0) {
        if (results.size < calls.length) notes.push(`messages[${i}]: ${calls.length - results.size} call(s) without a result`);
        const ordered = calls.filter((c) => results.has(c.id)).map((c) => results.get(c.id) as string);
        turns.push({
          from: 'observation',
          value:
            calls.length === 1
              ? (ordered[0] as string)
              : options.parallelResults === 'blocks'
                ? ordered.join(LLAMAFACTORY_RESULT_SEPARATOR)
                : JSON.stringify(ordered.map(resultValue)),
        });
      }
      i = k - 1;
    } else {
      throw new ExportError('tool result without a preceding tool call', `messages[${i}]`);
    }
  }
  while (turns.length > 0 && ['human', 'observation'].includes((turns[turns.length - 1] as ShareGPTTurn).from)) {
    notes.push(`trailing ${(turns.pop() as ShareGPTTurn).from} turn dropped (must end on the model)`);
  }
  if (turns.length === 0) throw new ExportError('no model turn to train on');
  for (let p = 0; p < turns.length; p++) {
    const from = (turns[p] as ShareGPTTurn).from;
    const odd = from === 'human' || from === 'observation'; // LLaMA-Factory's 1-based odd positions
    if (odd !== (p % 2 === 0)) {
      throw new ExportError(`turn ${p + 1} is "${from}": LLaMA-Factory needs human/observation and gpt/function_call to alternate`);
    }
  }
  const tools = trajectory.tools.length === 0 && options.emptyTools === '' ? '' : JSON.stringify(trajectory.tools);
  return { record: { conversations: turns, system, tools }, notes };
}

/** Exports a trajectory as a LLaMA-Factory ShareGPT record (see the module comment for losses). */
export function toShareGPT(trajectory: Trajectory): ShareGPTRecord {
  return toShareGPTWithNotes(trajectory).record;
}

const ROLE_ALIASES: Record<string, ShareGPTRole> = {
  human: 'human',
  user: 'human',
  gpt: 'gpt',
  assistant: 'gpt',
  function_call: 'function_call',
  observation: 'observation',
  tool: 'observation',
  system: 'system',
};

/**
 * Imports a ShareGPT record: function_call values (`{name, arguments}` or a list of them,
 * arguments an object or a JSON string) become tool calls with ids `call_<n>` and arguments
 * re-encoded as JSON strings; each observation answers the open calls (a JSON list splits
 * over parallel calls). `tools` may be a JSON string or a list, in OpenAI or bare form.
 */
export function fromShareGPT(record: unknown, options: ImportOptions = {}): ImportResult {
  if (!isObject(record)) return { ok: false, error: '(root): not an object' };
  const rawTurns = record.conversations ?? record.messages;
  if (!Array.isArray(rawTurns)) return { ok: false, error: 'conversations: not a list' };
  const warnings: Reason[] = [];
  const messages: Message[] = [];
  const ids = new CallIds();
  let pending: ToolCall[] = [];
  if (typeof record.system === 'string' && record.system !== '') messages.push({ role: 'system', content: record.system });
  for (let i = 0; i < rawTurns.length; i++) {
    const t: unknown = rawTurns[i];
    const p = `conversations[${i}]`;
    if (!isObject(t)) return { ok: false, error: `${p}: not an object` };
    const rawFrom = t.from ?? t.role;
    const from = typeof rawFrom === 'string' ? ROLE_ALIASES[rawFrom] : undefined;
    const value = t.value ?? t.content;
    if (from === undefined) return { ok: false, error: `${p}.from: unknown role ${JSON.stringify(rawFrom)}` };
    if (typeof value !== 'string') return { ok: false, error: `${p}.value: not a string` };
    if (from === 'system') {
      if (messages.some((m) => m.role === 'system') || i !== 0) return { ok: false, error: `${p}: system turn not first` };
      messages.push({ role: 'system', content: value });
    } else if (from === 'human') {
      messages.push({ role: 'user', content: value });
    } else if (from === 'gpt') {
      messages.push({ role: 'assistant', content: value });
    } else if (from === 'function_call') {
      // LLaMA-Factory ≥ 0.9.4 form: text, then the calls between its tool-call words.
      const tagged = /<tool_call>(.*?)<\/tool_call>/s.exec(value);
      const text = tagged === null ? '' : value.replace(tagged[0], '').trimEnd();
      const parsed = parseJsonLoose(tagged === null ? value : (tagged[1] as string));
      if (!parsed.ok) return { ok: false, error: `${p}.value: ${parsed.error}` };
      const list = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
      const calls: ToolCall[] = [];
      for (let j = 0; j < list.length; j++) {
        const c: unknown = list[j];
        if (!isObject(c) || typeof c.name !== 'string') return { ok: false, error: `${p}.value[${j}]: no function name` };
        calls.push({ id: ids.next(), type: 'function', function: { name: c.name, arguments: argumentsString(c.arguments ?? c.parameters) } });
      }
      messages.push({ role: 'assistant', content: text === '' ? null : text, tool_calls: calls });
      pending = [...calls];
    } else {
      // observation: one result per open call; a JSON list of the right length splits.
      let results: string[] = [value];
      const blocks = value.split(LLAMAFACTORY_RESULT_SEPARATOR);
      if (pending.length > 1 && blocks.length === pending.length) results = blocks;
      else if (pending.length > 1) {
        const parsed = parseJsonLoose(value);
        if (parsed.ok && Array.isArray(parsed.value) && parsed.value.length === pending.length) {
          results = parsed.value.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
        } else warnings.push({ check: 'import_tool_link', path: p, message: `one result for ${pending.length} calls` });
      }
      for (const content of results) {
        const call = pending.shift();
        if (call === undefined) {
          warnings.push({ check: 'import_tool_link', path: p, message: 'observation without an open call' });
          messages.push({ role: 'tool', tool_call_id: ids.next(), content });
        } else messages.push({ role: 'tool', tool_call_id: call.id, content });
      }
    }
  }
  let rawTools: unknown = record.tools;
  if (typeof rawTools === 'string') {
    if (rawTools.trim() === '') rawTools = [];
    else {
      const parsed = parseJsonLoose(rawTools);
      if (!parsed.ok) return { ok: false, error: `tools: ${parsed.error}` };
      rawTools = parsed.value;
    }
  }
  if (isObject(rawTools)) rawTools = [rawTools];
  const tools = normalizeTools(rawTools);
  if ('error' in tools) return { ok: false, error: tools.error };
  for (const n of tools.notes) warnings.push({ check: 'schema_normalized', path: n.path, message: n.message });
  const id = stableId('sharegpt', record);
  const draft: JsonObject = {
    id,
    source: { doc_id: options.docId ?? id },
    tools: tools.tools,
    messages,
    meta: importMeta('sharegpt', warnings),
  };
  return finishImport(draft);
}

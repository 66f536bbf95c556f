/**
 * How LLaMA-Factory and ms-swift turn their own records into the chat messages their model
 * templates render — so `--check-template` can render a ShareGPT or ms-swift file the way those
 * trainers will (and says that it did: this is the trainer's conversion, not a silent fix).
 * - LLaMA-Factory: a `function_call` value is optional thought text followed by the calls
 *   between its tool-call words, or the bare JSON (FunctionFormatter); an observation holding
 *   results joined by `\n</tool_response>\n<tool_response>\n` is one result per part.
 * - ms-swift: consecutive `tool_call` messages are the calls of one assistant turn (joined to
 *   the assistant text right before them), each `tool_response` one result; ≥ 4.5 first turns
 *   OpenAI `assistant.tool_calls` into such `tool_call` messages.
 */
import { isObject, parseJsonLoose, type JsonObject } from '../../parse/json.js';
import { LLAMAFACTORY_RESULT_SEPARATOR } from '../sharegpt.js';

function toolsOf(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? [];
  if (value.trim() === '') return [];
  const parsed = parseJsonLoose(value);
  return parsed.ok ? parsed.value : [];
}

/** A LLaMA-Factory ShareGPT record as chat messages; undefined when it is not one. */
export function readLlamaFactory(record: Record<string, unknown>): Record<string, unknown> | undefined {
  const turns = record.conversations;
  if (!Array.isArray(turns)) return undefined;
  const messages: JsonObject[] = typeof record.system === 'string' && record.system !== '' ? [{ role: 'system', content: record.system }] : [];
  for (const t of turns) {
    if (!isObject(t) || typeof t.value !== 'string') return undefined;
    const value = t.value;
    if (t.from === 'human') messages.push({ role: 'user', content: value });
    else if (t.from === 'gpt') messages.push({ role: 'assistant', content: value });
    else if (t.from === 'system') messages.push({ role: 'system', content: value });
    else if (t.from === 'function_call') {
      const tagged = /<tool_call>(.*?)<\/tool_call>/s.exec(value);
      const parsed = parseJsonLoose(tagged === null ? value : (tagged[1] as string));
      const list = parsed.ok ? (Array.isArray(parsed.value) ? parsed.value : [parsed.value]) : [];
      messages.push({
        role: 'assistant',
        content: tagged === null ? '' : value.replace(tagged[0], '').trimEnd(),
        tool_calls: list.map((c) => ({ type: 'function', function: isObject(c) ? { name: c.name ?? null, arguments: c.arguments ?? {} } : { name: null, arguments: {} } })),
      });
    } else for (const part of value.split(LLAMAFACTORY_RESULT_SEPARATOR)) messages.push({ role: 'tool', content: part });
  }
  return { messages, tools: toolsOf(record.tools) };
}

/**
 * An ms-swift record as chat messages; undefined when it has no messages list or a message
 * ms-swift refuses (content missing or null outside a call turn). Reads the agent roles and,
 * as ms-swift ≥ 4.5 does, OpenAI `assistant.tool_calls` (each call a `tool_call`, string
 * arguments parsed; an assistant turn with no text then contributes only its calls).
 */
export function readMsSwift(record: Record<string, unknown>): Record<string, unknown> | undefined {
  const raw = record.messages;
  if (!Array.isArray(raw)) return undefined;
  const messages: JsonObject[] = [];
  const addCall = (fn: unknown): void => {
    const call = { type: 'function', function: isObject(fn) ? fn : { name: null, arguments: {} } };
    const last = messages[messages.length - 1];
    if (last?.role === 'assistant') last.tool_calls = [...((last.tool_calls as JsonObject[] | undefined) ?? []), call];
    else messages.push({ role: 'assistant', content: '', tool_calls: [call] });
  };
  for (const m of raw) {
    if (!isObject(m)) return undefined;
    const openAiCalls = m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0 ? m.tool_calls : undefined;
    if (openAiCalls !== undefined) {
      if (typeof m.content === 'string' && m.content !== '') messages.push({ role: 'assistant', content: m.content });
      for (const c of openAiCalls) {
        const fn = isObject(c) && isObject(c.function) ? c.function : c;
        if (!isObject(fn)) return undefined;
        const args = typeof fn.arguments === 'string' ? parseJsonLoose(fn.arguments) : { ok: true as const, value: fn.arguments };
        addCall({ name: fn.name ?? null, arguments: args.ok ? args.value : fn.arguments });
      }
      continue;
    }
    if (typeof m.content !== 'string') return undefined;
    if (m.role === 'tool_call') {
      const parsed = parseJsonLoose(m.content);
      addCall(parsed.ok ? parsed.value : undefined);
    } else if (m.role === 'tool_response' || m.role === 'tool') messages.push({ role: 'tool', content: m.content });
    else messages.push({ role: m.role as string, content: m.content });
  }
  return { messages, tools: toolsOf(record.tools) };
}

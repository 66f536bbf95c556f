/**
 * A model's turn as the scorer reads it: the calls it made and its text. Calls come from the
 * native `tool_calls` of the answer or, when the server's tool parser is off, from Hermes
 * `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks in the text, or a reply that is
 * nothing but such a JSON object (Llama 3.1's JSON tool format, `parameters` for `arguments`).
 * Reasoning blocks are dropped. A call whose JSON cannot be read still counts as a call (the model decided to
 * call) but matches nothing.
 */
import { stripThinking } from '../llm/structured.js';
import { argumentsObject, isObject, parseJsonLoose } from '../parse/json.js';
import { extractBlocks, parseToolCallJson } from '../parse/tagged.js';
import type { ToolCall } from '../records.js';
import type { ParsedCall } from './ast-match.js';

export interface ModelTurn {
  calls: ParsedCall[];
  /** Text of the turn without reasoning and call blocks. */
  text: string;
  /** Where the calls were read from. */
  via: 'native' | 'hermes' | 'json' | 'none';
  /** Calls or arguments that could not be read, one message each. */
  problems: string[];
}

/** Wire calls → parsed calls; arguments that are not a JSON object become `undefined`. */
export function parseWireCalls(calls: readonly ToolCall[], problems: string[] = []): ParsedCall[] {
  return calls.map((call) => {
    const args = argumentsObject(call.function.arguments);
    if (!args.ok) problems.push(`${call.function.name}: ${args.error}`);
    return { name: call.function.name, arguments: args.ok ? args.value : undefined };
  });
}

/** Reads the model's answer (text and native tool calls) into a {@link ModelTurn}. */
export function readModelTurn(text: string, toolCalls: readonly ToolCall[] | undefined): ModelTurn {
  const problems: string[] = [];
  const visible = stripThinking(text);
  if (toolCalls !== undefined && toolCalls.length > 0) {
    return { calls: parseWireCalls(toolCalls, problems), text: visible, via: 'native', problems };
  }
  const { blocks, rest } = extractBlocks(visible, 'tool_call');
  if (blocks.length === 0) {
    const bare = bareJsonCall(visible);
    return bare === undefined ? { calls: [], text: visible, via: 'none', problems } : { calls: [bare], text: '', via: 'json', problems };
  }
  const calls = blocks.map((block): ParsedCall => {
    const parsed = parseToolCallJson(block);
    if (!parsed.ok) {
      problems.push(`<tool_call>: ${parsed.error}`);
      return { name: '', arguments: undefined };
    }
    const args = parseJsonLoose(parsed.arguments);
    if (!args.ok || !isObject(args.value)) {
      problems.push(`${parsed.name}: arguments are not a JSON object`);
      return { name: parsed.name, arguments: undefined };
    }
    return { name: parsed.name, arguments: args.value };
  });
  return { calls, text: rest.trim(), via: 'hermes', problems };
}

/** A reply that is only `{"name": …, "arguments"|"parameters": {…}}`, read as one call. */
function bareJsonCall(text: string): ParsedCall | undefined {
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  const parsed = parseJsonLoose(text);
  if (!parsed.ok || !isObject(parsed.value)) return undefined;
  const { name } = parsed.value;
  const args = parsed.value.arguments ?? parsed.value.parameters;
  if (typeof name !== 'string' || !isObject(args)) return undefined;
  return { name, arguments: args };
}

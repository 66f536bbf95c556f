/**
 * Conversations as the teacher writes them, and their assembly into the OpenAI wire format.
 *
 * The model answers in a deliberately simple shape (role, content, calls with a name and a
 * JSON arguments string; src/prompts/conversation.ts). Everything that links turns together is assigned here, in code:
 * call ids, `arguments` re-encoded canonically, `tool_call_id` and `name` on results. A model
 * never gets to invent an id that the validator would then have to trust.
 */
import { jsonrepair } from 'jsonrepair';
import type { Message, ToolCall } from '../records.js';
import type { Turn } from '../prompts/conversation.js';

/** Canonical JSON of an arguments string when it parses (after repair) to an object. */
export function normalizeArguments(raw: string): string {
  const parsed = parseObject(raw);
  return parsed === undefined ? raw : JSON.stringify(parsed);
}

function parseObject(raw: string): Record<string, unknown> | undefined {
  for (const attempt of [() => JSON.parse(raw) as unknown, () => JSON.parse(jsonrepair(raw)) as unknown]) {
    try {
      let value = attempt();
      // Doubly encoded arguments ("\"{...}\"") are a common slip.
      if (typeof value === 'string') value = JSON.parse(value) as unknown;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // try the next way
    }
  }
  return undefined;
}

/** Tool results are kept as compact JSON when they are JSON; as given otherwise. */
function normalizeResult(raw: string): string {
  const trimmed = raw.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return raw;
  try {
    return JSON.stringify(JSON.parse(trimmed));
  } catch {
    return raw;
  }
}

/**
 * Builds wire messages: a system message, then the turns with ids and links assigned.
 * Results are matched to the pending calls of the latest assistant turn, in order; a result
 * with no pending call keeps an `unlinked_N` id so that validation reports it as an orphan.
 */
export function assembleMessages(systemPrompt: string, turns: Turn[]): Message[] {
  const messages: Message[] = [];
  if (systemPrompt.trim() !== '') messages.push({ role: 'system', content: systemPrompt.trim() });
  let callCounter = 0;
  let orphanCounter = 0;
  let pending: ToolCall[] = [];
  for (const turn of turns) {
    if (turn.role === 'user') {
      messages.push({ role: 'user', content: turn.content });
      pending = [];
    } else if (turn.role === 'assistant') {
      const calls: ToolCall[] = turn.tool_calls.map((call) => ({
        id: `call_${++callCounter}`,
        type: 'function',
        function: { name: call.name.trim(), arguments: normalizeArguments(call.arguments) },
      }));
      const content = turn.content.trim() === '' && calls.length > 0 ? null : turn.content;
      messages.push(calls.length > 0 ? { role: 'assistant', content, tool_calls: calls } : { role: 'assistant', content });
      pending = [...calls]; // a copy: results consume it, the message keeps its calls
    } else {
      const call = pending.shift();
      messages.push({
        role: 'tool',
        tool_call_id: call?.id ?? `unlinked_${++orphanCounter}`,
        ...(call !== undefined ? { name: call.function.name } : {}),
        content: normalizeResult(turn.content),
      });
    }
  }
  return messages;
}

/** Turns wire messages back into the simple shape, for prompts that show a trajectory. */
export function messagesToTurns(messages: Message[]): { systemPrompt: string; turns: Turn[] } {
  let systemPrompt = '';
  const turns: Turn[] = [];
  for (const m of messages) {
    if (m.role === 'system') systemPrompt = systemPrompt === '' ? m.content : `${systemPrompt}\n\n${m.content}`;
    else if (m.role === 'user') turns.push({ role: 'user', content: m.content, tool_calls: [] });
    else if (m.role === 'assistant') {
      turns.push({
        role: 'assistant',
        content: m.content ?? '',
        tool_calls: (m.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments })),
      });
    } else turns.push({ role: 'tool', content: m.content, tool_calls: [] });
  }
  return { systemPrompt, turns };
}

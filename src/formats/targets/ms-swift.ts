/**
 * ms-swift's agent dataset format (docs: Instruction/Agent-support): `tools` is a JSON string
 * of OpenAI tools; each call is its own `tool_call` message whose content is
 * `{"name": …, "arguments": {…}}`; each result its own `tool_response` message, in call order;
 * assistant text beside calls is an `assistant` message just before them. ms-swift's
 * `--agent_template` then renders calls and results for the model being trained (hermes,
 * qwen3, glm4, llama3, …), so one file serves every model. Lossy: call ids (results are
 * matched by order) and `reasoning_content` when not written as `<think>` text (kept by
 * prefixing `<think>\n…\n</think>\n\n` to the assistant text, the form ms-swift's own examples use).
 */
import type { Message, Trajectory } from '../../records.js';
import { argumentsObject, type JsonObject } from '../../parse/json.js';
import { ExportError, type ExportOutcome } from '../types.js';

export interface MsSwiftRecord {
  tools: string;
  messages: Array<{ role: 'system' | 'user' | 'assistant' | 'tool_call' | 'tool_response'; content: string }>;
}

/** Exports one trajectory in ms-swift's agent format. */
export function toMsSwift(trajectory: Trajectory): ExportOutcome<MsSwiftRecord> {
  const notes: string[] = [];
  const out: MsSwiftRecord['messages'] = [];
  const msgs = trajectory.messages;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    if (m.role === 'system' || m.role === 'user') out.push({ role: m.role, content: m.content });
    else if (m.role === 'tool') out.push({ role: 'tool_response', content: m.content });
    else {
      const think = m.reasoning_content !== undefined && m.reasoning_content !== '' ? `<think>\n${m.reasoning_content}\n</think>\n\n` : '';
      const text = `${think}${m.content ?? ''}`;
      const calls = m.tool_calls ?? [];
      if (calls.length === 0 || text.trim() !== '') out.push({ role: 'assistant', content: text });
      calls.forEach((c, j) => {
        const args = argumentsObject(c.function.arguments);
        if (!args.ok) throw new ExportError(args.error, `messages[${i}].tool_calls[${j}].function.arguments`);
        const call: JsonObject = { name: c.function.name, arguments: args.value };
        out.push({ role: 'tool_call', content: JSON.stringify(call) });
      });
      if (calls.length > 1) {
        // Results must follow in call order (ms-swift pairs them by position).
        const results: Array<Extract<Message, { role: 'tool' }>> = [];
        let k = i + 1;
        while (k < msgs.length && (msgs[k] as Message).role === 'tool') results.push(msgs[k++] as Extract<Message, { role: 'tool' }>);
        const ordered = calls.flatMap((c) => results.filter((r) => r.tool_call_id === c.id));
        const rest = results.filter((r) => !ordered.includes(r));
        if (rest.length > 0) notes.push(`messages[${i + 1}]: ${rest.length} result(s) not linked to a call kept in place`);
        for (const r of [...ordered, ...rest]) out.push({ role: 'tool_response', content: r.content });
        i = k - 1;
      }
    }
  }
  return { record: { tools: JSON.stringify(trajectory.tools), messages: out }, notes };
}

/**
 * ms-swift's two dataset formats.
 *
 * Agent format (every version; docs: Instruction/Agent-support): `tools` is a JSON string of
 * OpenAI tools; each call is its own `tool_call` message whose content is
 * `{"name": …, "arguments": {…}}`; each result its own `tool_response` message, in call order;
 * assistant text beside calls is an `assistant` message just before them. ms-swift's
 * `--agent_template` then renders calls and results for the model being trained (hermes,
 * qwen3, glm4, llama3, …), so one file serves every model. Lossy: call ids (results are
 * matched by order).
 *
 * OpenAI format (ms-swift ≥ 4.5): modelscope/ms-swift PR #9809 ("Support OpenAI and Anthropic
 * message processors") makes `MessagesPreprocessor` detect `assistant.tool_calls` and turn each
 * call into the agent format's `tool_call` message, parsing string arguments
 * (tests/general/test_data_preprocess.py, TestProviderMessagesPreprocess: parallel calls →
 * `['tool_call', 'tool_call', 'tool']`, `arguments '{"city": "Beijing"}'` → `{'city': 'Beijing'}`).
 * Before it, `_check_messages` kept only `role`/`content`/`loss` (swift/dataset/preprocessor/core.py)
 * and dropped every `tool_calls` silently, hence a separate target. Results stay positional
 * there too (the `tool` message's `tool_call_id` is not used), so they are written in call order.
 * Arguments are JSON text and `tools` a JSON string: ms-swift loads JSONL with `datasets`, whose
 * Arrow schema would unify free-form argument objects across rows (missing keys → null).
 *
 * Both: `reasoning_content` is not a field ms-swift keeps (`_check_messages` drops it), so it is
 * written as `<think>\n…\n</think>\n\n` before the assistant text, the form ms-swift's own
 * examples use.
 */
import type { Message, ToolCall, Trajectory } from '../../records.js';
import { argumentsObject, type JsonObject } from '../../parse/json.js';
import { ExportError, type ExportOutcome } from '../types.js';

export interface MsSwiftRecord {
  tools: string;
  messages: Array<{ role: 'system' | 'user' | 'assistant' | 'tool_call' | 'tool_response'; content: string }>;
}

export interface MsSwiftOpenAIRecord {
  tools: string;
  messages: JsonObject[];
}

type ToolMessage = Extract<Message, { role: 'tool' }>;
type AssistantMessage = Extract<Message, { role: 'assistant' }>;

/** Assistant text with reasoning as a leading `<think>` block. */
function assistantText(m: AssistantMessage): string {
  const think = m.reasoning_content !== undefined && m.reasoning_content !== '' ? `<think>\n${m.reasoning_content}\n</think>\n\n` : '';
  return `${think}${m.content ?? ''}`;
}

function callArguments(c: ToolCall, path: string): JsonObject {
  const args = argumentsObject(c.function.arguments);
  if (!args.ok) throw new ExportError(args.error, path);
  return args.value;
}

/**
 * The tool messages after the assistant turn at `i`, in the order of its calls (ms-swift pairs
 * calls and results by position); `next` is the index after them.
 */
function resultsInCallOrder(msgs: readonly Message[], i: number, calls: readonly ToolCall[], notes: string[]): { results: ToolMessage[]; next: number } {
  const results: ToolMessage[] = [];
  let k = i + 1;
  while (k < msgs.length && (msgs[k] as Message).role === 'tool') results.push(msgs[k++] as ToolMessage);
  const ordered = calls.flatMap((c) => results.filter((r) => r.tool_call_id === c.id));
  const rest = results.filter((r) => !ordered.includes(r));
  if (rest.length > 0) notes.push(`messages[${i + 1}]: ${rest.length} result(s) not linked to a call kept in place`);
  return { results: [...ordered, ...rest], next: k };
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
      const text = assistantText(m);
      const calls = m.tool_calls ?? [];
      if (calls.length === 0 || text.trim() !== '') out.push({ role: 'assistant', content: text });
      calls.forEach((c, j) => {
        const call: JsonObject = { name: c.function.name, arguments: callArguments(c, `messages[${i}].tool_calls[${j}].function.arguments`) };
        out.push({ role: 'tool_call', content: JSON.stringify(call) });
      });
      if (calls.length > 1) {
        const { results, next } = resultsInCallOrder(msgs, i, calls, notes);
        for (const r of results) out.push({ role: 'tool_response', content: r.content });
        i = next - 1;
      }
    }
  }
  return { record: { tools: JSON.stringify(trajectory.tools), messages: out }, notes };
}

/** Exports one trajectory in the OpenAI format ms-swift ≥ 4.5 reads. */
export function toMsSwiftOpenAI(trajectory: Trajectory): ExportOutcome<MsSwiftOpenAIRecord> {
  const notes: string[] = [];
  const out: JsonObject[] = [];
  const msgs = trajectory.messages;
  const tool = (r: ToolMessage): JsonObject => ({ role: 'tool', tool_call_id: r.tool_call_id, content: r.content });
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    if (m.role === 'system' || m.role === 'user') out.push({ role: m.role, content: m.content });
    else if (m.role === 'tool') out.push(tool(m));
    else {
      const calls = m.tool_calls ?? [];
      // `content` is never null: ms-swift asserts it on every message it keeps.
      const o: JsonObject = { role: 'assistant', content: assistantText(m) };
      if (calls.length > 0) {
        o.tool_calls = calls.map((c, j) => ({
          id: c.id,
          type: 'function',
          function: { name: c.function.name, arguments: JSON.stringify(callArguments(c, `messages[${i}].tool_calls[${j}].function.arguments`)) },
        }));
      }
      out.push(o);
      if (calls.length > 1) {
        const { results, next } = resultsInCallOrder(msgs, i, calls, notes);
        out.push(...results.map(tool));
        i = next - 1;
      }
    }
  }
  return { record: { tools: JSON.stringify(trajectory.tools), messages: out }, notes };
}

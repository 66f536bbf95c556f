/**
 * OpenAI-style `{messages, tools}` records shaped for one consumer: each chat template (and
 * each trainer) reads tool calls in its own shape, and no single shape renders right through
 * all of them. A {@link MessageShape} fixes every choice a template makes visible:
 * argument encoding, content of an assistant turn that only calls, parallel calls, the tool
 * message's `name`, reasoning, and how tools are given. The targets in `registry.ts` pick one
 * per template, citing the template line that decides it.
 */
import type { Message, ToolCall, Trajectory } from '../../records.js';
import { argumentsObject, type JsonObject } from '../../parse/json.js';
import { callNames } from '../common.js';
import { ExportError, type ExportOutcome } from '../types.js';

export interface MessageShape {
  /** `object`: arguments as a JSON object (templates that `tojson` or iterate them); `string`: the JSON text (templates that concatenate it). */
  args: 'object' | 'string';
  /** Content of an assistant turn that calls tools without text: `null`, `''`, or no `content` key. */
  emptyCallContent: 'null' | 'empty' | 'omit';
  /** `keep` parallel calls in one turn, or `split` them into consecutive one-call turns each followed by its result. */
  parallel: 'keep' | 'split';
  /** Put the called function's `name` on tool messages. */
  toolName: boolean;
  /** Keep `reasoning_content`, move it to `thinking` (gpt-oss), or drop it. */
  reasoning: 'keep' | 'thinking' | 'drop';
  /** Tools as a list of objects or as one JSON string. */
  tools: 'list' | 'json-string';
  /** Keep call ids (`tool_calls[].id`, `tool_call_id`). */
  ids: boolean;
  /** Give a tool without `parameters` an empty object schema (templates that read `tool.parameters.properties`). */
  fillParameters?: boolean;
  /** When reasoning and text beside calls meet in one turn and the template refuses both (gpt-oss), which to keep. */
  callTextOrThinking?: 'both' | 'text';
}

export interface ShapedRecord {
  messages: JsonObject[];
  tools: JsonObject[] | string;
}

function shapedCall(c: ToolCall, shape: MessageShape, path: string): JsonObject {
  const parsed = argumentsObject(c.function.arguments);
  if (!parsed.ok) throw new ExportError(parsed.error, path);
  const fn: JsonObject = { name: c.function.name, arguments: shape.args === 'object' ? parsed.value : c.function.arguments.trim() === '' ? '{}' : c.function.arguments };
  const out: JsonObject = { type: 'function', function: fn };
  return shape.ids ? { id: c.id, ...out } : out;
}

/** Shapes one trajectory's messages and tools; throws {@link ExportError} for arguments that are not a JSON object. */
export function shapeMessages(trajectory: Trajectory, shape: MessageShape): ExportOutcome<ShapedRecord> {
  const notes: string[] = [];
  const names = callNames(trajectory.messages);
  const msgs = trajectory.messages;
  const out: JsonObject[] = [];

  const toolMessage = (m: Extract<Message, { role: 'tool' }>): JsonObject => {
    const o: JsonObject = { role: 'tool' };
    if (shape.ids) o.tool_call_id = m.tool_call_id;
    const name = m.name ?? names.get(m.tool_call_id);
    if (shape.toolName && name !== undefined) o.name = name;
    o.content = m.content;
    return o;
  };

  const assistant = (m: Extract<Message, { role: 'assistant' }>, i: number, calls: JsonObject[], first: boolean): JsonObject => {
    const o: JsonObject = { role: 'assistant' };
    const text = first ? (m.content ?? '') : '';
    let reasoning = first ? m.reasoning_content : undefined;
    if (calls.length > 0 && text.trim() !== '' && reasoning !== undefined && reasoning !== '' && shape.callTextOrThinking === 'text') {
      notes.push(`messages[${i}]: reasoning_content dropped (the template refuses text and thinking beside a call)`);
      reasoning = undefined;
    }
    if (calls.length === 0) o.content = text;
    else if (text !== '') o.content = text;
    else if (shape.emptyCallContent === 'null') o.content = null;
    else if (shape.emptyCallContent === 'empty') o.content = '';
    if (reasoning !== undefined && reasoning !== '') {
      if (shape.reasoning === 'keep') o.reasoning_content = reasoning;
      else if (shape.reasoning === 'thinking') o.thinking = reasoning;
      else notes.push(`messages[${i}]: reasoning_content dropped`);
    }
    // Templates test `'tool_calls' in message` / `is defined`: a text turn carries no key at all.
    if (calls.length > 0) o.tool_calls = calls;
    return o;
  };

  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    if (m.role === 'system' || m.role === 'user') {
      out.push({ role: m.role, content: m.content });
      continue;
    }
    if (m.role === 'tool') {
      out.push(toolMessage(m));
      continue;
    }
    const calls = (m.tool_calls ?? []).map((c, j) => shapedCall(c, shape, `messages[${i}].tool_calls[${j}].function.arguments`));
    if (shape.parallel === 'keep' || calls.length <= 1) {
      out.push(assistant(m, i, calls, true));
      continue;
    }
    // One call per turn: call k, then its result; results are the tool messages that follow.
    const results: Array<Extract<Message, { role: 'tool' }>> = [];
    let k = i + 1;
    while (k < msgs.length && (msgs[k] as Message).role === 'tool') results.push(msgs[k++] as Extract<Message, { role: 'tool' }>);
    (m.tool_calls ?? []).forEach((c, j) => {
      out.push(assistant(m, i, [calls[j] as JsonObject], j === 0));
      const r = results.findIndex((x) => x.tool_call_id === c.id);
      if (r >= 0) out.push(toolMessage((results.splice(r, 1)[0]) as Extract<Message, { role: 'tool' }>));
    });
    for (const r of results) out.push(toolMessage(r));
    notes.push(`messages[${i}]: ${calls.length} parallel calls split into consecutive turns`);
    i = k - 1;
  }
  const tools = trajectory.tools.map((t): JsonObject => {
    if (shape.fillParameters !== true || t.function.parameters !== undefined) return { ...t } as JsonObject;
    return { ...t, function: { ...t.function, parameters: { type: 'object', properties: {} } } } as JsonObject;
  });
  return { record: { messages: out, tools: shape.tools === 'list' ? tools : JSON.stringify(tools) }, notes };
}

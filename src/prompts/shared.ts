/**
 * Prompt pieces used by more than one stage, and compact renderings of tools and
 * conversations for prompts. One wording, so that extraction and refinement ask for tools
 * by the same rules.
 */
import type { Message, Tool } from '../records.js';
import type { PromptSet } from './versions.js';

/** The paper's tool-design rules, in our words. */
export const TOOL_SPEC_GUIDE = `Tool design rules:
- One coherent capability per tool (get_order_details, cancel_order), never a whole workflow in one tool.
- Short, general, reusable snake_case names in verb_object form; no names tied to one example.
- Pair reads with writes as a real backend would: a lookup for every record type the workflow changes (get_reservation next to update_reservation).
- Most tools read or change the state of the environment (accounts, orders, devices, files); the assistant needs them to act, not to think.
- Parameters: self-explanatory snake_case names (order_id, not id), an explicit type, a description that says the unit or format and where the caller gets the value. Use enum when the text lists the allowed options. Use format date / date-time / email / uri where it applies, none otherwise.
- required mirrors real logic: identifiers and authentication the operation cannot run without are required; genuine options are not.
- Descriptions say what the tool returns and when it fails (not found, not allowed, limit reached).`;

/**
 * Prompt set v2: the tool design rules plus nested parameters (object fields declared) and
 * documented defaults, which the validator's provenance check credits.
 */
export const TOOL_SPEC_GUIDE_V2 = `${TOOL_SPEC_GUIDE}
- Structured values: a parameter that takes an object (type object) or a list of objects (type object_array) declares the fields of that object in properties, each with its own type, description and required flag (a line item: sku required, quantity required, gift_note optional). Every other parameter has properties [].
- An optional parameter with a default says it in its description ("Page size; default 20"), so a caller may leave it at that value.`;

/** The tool design rules of a prompt set. */
export function toolSpecGuide(set: PromptSet | undefined): string {
  return set === 'v1' ? TOOL_SPEC_GUIDE : TOOL_SPEC_GUIDE_V2;
}

/** Whether an assistant turn may call several tools at once (config `parallel_calls`). */
export type ParallelCalls = 'allow' | 'forbid';

/** The one wording of the parallel-call rule, for every prompt that writes conversations (v2). */
export function parallelCallsRule(mode: ParallelCalls): string {
  return mode === 'forbid'
    ? '- One tool call per assistant turn: when several calls are needed, make them one after another, each in its own assistant turn followed by its tool turn.'
    : '- An assistant turn may call several tools at once when the calls do not depend on each other; each call then gets its own tool turn, in the same order. A call that needs another call’s result waits for it.';
}

/** Tools as compact JSON lines: name, description, parameters schema. */
export function renderTools(tools: Tool[]): string {
  return tools
    .map((t) => JSON.stringify({ name: t.function.name, description: t.function.description ?? '', parameters: t.function.parameters ?? {} }))
    .join('\n');
}

/** A conversation as numbered lines, with calls and results in full. */
export function renderConversation(messages: Message[]): string {
  const lines: string[] = [];
  messages.forEach((m, i) => {
    if (m.role === 'assistant') {
      const calls = (m.tool_calls ?? []).map((c) => `  -> call ${c.function.name}(${c.function.arguments}) [${c.id}]`);
      lines.push(`[${i}] assistant: ${m.content ?? ''}`.trimEnd(), ...calls);
    } else if (m.role === 'tool') {
      lines.push(`[${i}] tool result for ${m.tool_call_id}${m.name !== undefined ? ` (${m.name})` : ''}: ${m.content}`);
    } else {
      lines.push(`[${i}] ${m.role}: ${m.content}`);
    }
  });
  return lines.join('\n');
}

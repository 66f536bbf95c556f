/**
 * Chat-template check: renders a trajectory through a real chat template (with
 * @huggingface/jinja, the JS port of the Jinja used by HF transformers' apply_chat_template)
 * and verifies that every tool call (name + arguments) and every tool result appears in the
 * rendered text, in conversation order — i.e. that a trainer fed this export would show the
 * model what we think it shows.
 *
 * What is fed to the template (the same adjustments an exporter to that model must make):
 * - tool-call `arguments` as objects (templates apply `| tojson` to them);
 * - `name` on tool messages, filled from the linked call when absent (the Hermes template
 *   raises without it);
 * - for single-call templates (Llama 3.1 JSON raises on `tool_calls|length > 1`) parallel calls
 *   are, by default, split into consecutive assistant turns each followed by its own result
 *   (`parallelCalls: 'split'`); `'report'` renders them unsplit so the template's error is reported.
 *   Splitting is what one-call-at-a-time models are trained on, and it keeps every call and result.
 *
 * Outcome per conversation:
 * - `ok`: rendered, and every call and result found in order;
 * - `missing`: rendered, but a call or result is absent or out of order;
 * - `render_error`: the template failed in a way HF's Jinja2 would also fail (the template's
 *   own raise_exception, `None + str`, iterating None, …) — a real defect of the conversation;
 * - `engine_difference`: the JS engine threw where Python Jinja2 renders an undefined value as
 *   empty (`undefined | trim` on a parameter without `description`) or answers an undefined
 *   subscript key with Undefined (`basic_type_map[json_spec.type]` on an `items` schema in the
 *   Hermes template). Not the data's fault: we re-render with the engine patched to behave
 *   like Jinja2 there and check calls and results on that text (`emulatedOk`).
 *   The opposite gap (JS lenient where Jinja2 raises, e.g. an attribute of an undefined value)
 *   is not detected.
 * Text the template silently drops (assistant text beside tool calls, reasoning) is listed in
 * `unrendered`, not counted as a failure.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import type { Message, Trajectory } from '../records.js';
import { callNames, pyJson } from './common.js';
import { isObject, type JsonObject } from '../parse/json.js';

export interface ChatTemplate {
  name: string;
  source: string;
  /** True when the template refuses more than one call per assistant turn. */
  singleCall: boolean;
  template: Template;
}

export interface TemplateCheckOptions {
  /** Parallel calls on a single-call template: split into consecutive turns (default) or render as is and report. */
  parallelCalls?: 'split' | 'report';
  /** Keep the rendered text in the result (default false). */
  keepRendered?: boolean;
}

export type TemplateCheckStatus = 'ok' | 'missing' | 'render_error' | 'engine_difference';

export interface TemplateCheckResult {
  id: string;
  status: TemplateCheckStatus;
  /** Render error, or what was missing/out of order. Empty when `ok`. */
  problems: string[];
  /** Changes made to feed the template (filled names, split calls). */
  adjustments: string[];
  /** Conversation text the template does not render (informational). */
  unrendered: string[];
  /** For `engine_difference`: whether calls and results were all found on the Jinja2-like re-render. */
  emulatedOk?: boolean;
  rendered?: string;
}

/** Compiles a chat template from its source. */
export function compileChatTemplate(source: string, name = 'template'): ChatTemplate {
  const singleCall = /tool_calls\s*\|\s*length\s*>\s*1[\s\S]{0,200}raise_exception/.test(source);
  return { name, source, singleCall, template: new Template(source) };
}

/** Reads and compiles a `.jinja` chat template file. */
export function loadChatTemplate(file: string): ChatTemplate {
  return compileChatTemplate(readFileSync(file, 'utf8'), basename(file));
}

function parseArgs(args: string): unknown {
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return args;
  }
}

/** The messages and tools handed to the template, with what had to be adjusted. */
export function prepareForTemplate(
  trajectory: Trajectory,
  chat: Pick<ChatTemplate, 'singleCall'>,
  options: TemplateCheckOptions = {},
): { messages: JsonObject[]; tools: JsonObject[] | undefined; adjustments: string[] } {
  const adjustments: string[] = [];
  const names = callNames(trajectory.messages);
  const split = chat.singleCall && (options.parallelCalls ?? 'split') === 'split';
  const toolMsg = (m: Extract<Message, { role: 'tool' }>, i: number): JsonObject => {
    const name = m.name ?? names.get(m.tool_call_id);
    if (m.name === undefined && name !== undefined) adjustments.push(`messages[${i}].name filled from its call`);
    const out: JsonObject = { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
    if (name !== undefined) out.name = name;
    return out;
  };
  const messages: JsonObject[] = [];
  const msgs = trajectory.messages;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    if (m.role !== 'assistant') {
      messages.push(m.role === 'tool' ? toolMsg(m, i) : { role: m.role, content: m.content });
      continue;
    }
    const calls = (m.tool_calls ?? []).map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.function.name, arguments: parseArgs(c.function.arguments) },
    }));
    const base: JsonObject = { role: 'assistant', content: m.content ?? null };
    if (m.tool_calls === undefined) {
      messages.push(base);
      continue;
    }
    if (!split || calls.length <= 1) {
      messages.push({ ...base, tool_calls: calls });
      continue;
    }
    // Split: assistant(call k) → its result, for each call; results are the tool messages that follow.
    let k = i + 1;
    const results: Array<{ m: Extract<Message, { role: 'tool' }>; i: number }> = [];
    while (k < msgs.length && (msgs[k] as Message).role === 'tool') {
      results.push({ m: msgs[k] as Extract<Message, { role: 'tool' }>, i: k });
      k++;
    }
    calls.forEach((c, j) => {
      messages.push({ ...base, content: j === 0 ? base.content : null, tool_calls: [c] });
      const r = results.findIndex((x) => x.m.tool_call_id === c.id);
      const hit = r >= 0 ? results.splice(r, 1)[0] : undefined;
      if (hit !== undefined) messages.push(toolMsg(hit.m, hit.i));
    });
    for (const r of results) messages.push(toolMsg(r.m, r.i));
    adjustments.push(`messages[${i}]: ${calls.length} parallel calls split into consecutive turns`);
    i = k - 1;
  }
  const tools = trajectory.tools.length > 0 ? trajectory.tools.map((t) => ({ ...t }) as JsonObject) : undefined;
  return { messages, tools, adjustments };
}

/** Filters whose Jinja2 result on an undefined value is empty text / zero / an empty list. */
const EMPTY_ON_UNDEFINED: Record<string, unknown> = {
  trim: '',
  string: '',
  lower: '',
  upper: '',
  capitalize: '',
  title: '',
  join: '',
  length: 0,
  count: 0,
  items: [],
  list: [],
};

/**
 * The JS engine errors that Python Jinja2 would not raise: a filter applied to an undefined
 * value (Jinja2 treats Undefined as empty) and an undefined subscript key
 * (`map[undefined_var]`, which Jinja2 answers with Undefined).
 */
function jinja2Substitute(message: string, nodeType: string): { value: unknown } | undefined {
  if (nodeType === 'MemberExpression' && /Cannot access property with non-string(\/non-number)?: got UndefinedValue/.test(message)) {
    return { value: undefined };
  }
  const filter = /Cannot apply filter "(\w+)" to type: UndefinedValue/.exec(message)?.[1];
  if (filter !== undefined && filter in EMPTY_ON_UNDEFINED && (nodeType === 'FilterExpression' || nodeType === 'CallExpression')) {
    return { value: EMPTY_ON_UNDEFINED[filter] };
  }
  return undefined;
}

function isEngineDifference(message: string): boolean {
  return jinja2Substitute(message, 'MemberExpression') !== undefined || jinja2Substitute(message, 'FilterExpression') !== undefined;
}

type Evaluate = (this: unknown, node: { type: string } | undefined, env: Environment) => unknown;

/**
 * Renders with the engine patched to answer those cases as Jinja2 does. The patch wraps
 * Interpreter.prototype.evaluate for the duration of this synchronous call only.
 */
function renderJinja2Like(chat: ChatTemplate, context: JsonObject): string {
  const proto = Interpreter.prototype as unknown as { evaluate: Evaluate };
  const original = proto.evaluate;
  proto.evaluate = function patched(node, env) {
    try {
      return original.call(this, node, env);
    } catch (error) {
      const sub = jinja2Substitute((error as Error).message, node?.type ?? '');
      if (sub === undefined) throw error;
      return new Environment().set('_', sub.value); // converts a JS value to the engine's runtime value
    }
  };
  try {
    return chat.template.render(context);
  } finally {
    proto.evaluate = original;
  }
}

function renderContext(messages: JsonObject[], tools: JsonObject[] | undefined): JsonObject {
  const context: JsonObject = { messages, add_generation_prompt: false, bos_token: '', eos_token: '' };
  if (tools !== undefined) context.tools = tools;
  return context;
}

/** A call or a result the rendered text must show, in the order the template was fed. */
type Expected = { kind: 'call'; name: string; args: unknown } | { kind: 'result'; id: string; content: string };

function expectedEvents(messages: readonly JsonObject[]): Expected[] {
  const out: Expected[] = [];
  for (const m of messages) {
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      for (const c of m.tool_calls as Array<{ function: { name: string; arguments: unknown } }>) {
        out.push({ kind: 'call', name: c.function.name, args: c.function.arguments });
      }
    } else if (m.role === 'tool') out.push({ kind: 'result', id: String(m.tool_call_id), content: String(m.content) });
  }
  return out;
}

/**
 * Finds every call (name with its arguments next to it) and result of the fed messages in
 * `text`, in order; returns what is missing. Arguments are looked for as `tojson` writes them
 * (Python separators) or compact; results raw or JSON-escaped (as inside `tojson` output).
 */
export function findInOrder(messages: readonly JsonObject[], text: string): string[] {
  const problems: string[] = [];
  let cursor = 0;
  let callNo = 0;
  let resultNo = 0;
  for (const e of expectedEvents(messages)) {
    if (e.kind === 'call') {
      callNo += 1;
      const args = e.args;
      const argTexts = typeof args === 'string' ? [JSON.stringify(args), args] : [pyJson(args), JSON.stringify(args)];
      // The name also appears in the tools list: take the first occurrence with the arguments
      // next to it (before it in the Hermes template, after it in Llama's).
      let found: { end: number } | undefined;
      let nameSeen = false;
      for (const cand of [`"${e.name}"`, e.name]) {
        for (let at = text.indexOf(cand, cursor); at >= 0 && found === undefined; at = text.indexOf(cand, at + 1)) {
          nameSeen = true;
          const end = at + cand.length;
          for (const a of argTexts) {
            const from = Math.max(cursor, at - a.length - 64);
            const argAt = text.indexOf(a, from);
            if (argAt >= 0 && argAt <= end + 64) {
              found = { end: Math.max(end, argAt + a.length) };
              break;
            }
          }
        }
        if (found !== undefined) break;
      }
      if (found === undefined) {
        problems.push(`call ${callNo} (${e.name}) ${nameSeen ? 'with its arguments' : 'name'} not found after offset ${cursor}`);
      } else cursor = found.end;
    } else {
      resultNo += 1;
      const cands = [JSON.stringify(e.content).slice(1, -1), e.content];
      let at = -1;
      let len = 0;
      for (const cand of cands) {
        at = text.indexOf(cand, cursor);
        if (at >= 0) {
          len = cand.length;
          break;
        }
      }
      if (at < 0) problems.push(`result ${resultNo} (${e.id}) not found after offset ${cursor}`);
      else cursor = at + len;
    }
  }
  return problems;
}

function unrenderedParts(trajectory: Trajectory, text: string): string[] {
  const out: string[] = [];
  trajectory.messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const content = m.content?.trim() ?? '';
    if (m.tool_calls !== undefined && m.tool_calls.length > 0 && content !== '' && !text.includes(content)) {
      out.push(`messages[${i}]: assistant text beside tool calls not rendered`);
    }
    if (m.reasoning_content !== undefined && m.reasoning_content !== '' && !text.includes(m.reasoning_content)) {
      out.push(`messages[${i}]: reasoning_content not rendered`);
    }
  });
  return out;
}

/** Renders one trajectory through a chat template and checks its calls and results. */
export function checkTemplate(trajectory: Trajectory, chat: ChatTemplate, options: TemplateCheckOptions = {}): TemplateCheckResult {
  const { messages, tools, adjustments } = prepareForTemplate(trajectory, chat, options);
  const base = { id: trajectory.id, adjustments };
  let text: string;
  try {
    text = chat.template.render(renderContext(messages, tools));
  } catch (error) {
    const message = (error as Error).message;
    if (!isEngineDifference(message)) return { ...base, status: 'render_error', problems: [message], unrendered: [] };
    try {
      text = renderJinja2Like(chat, renderContext(messages, tools));
    } catch (again) {
      const second = (again as Error).message;
      // Past the JS-only strictness, a failure Jinja2 shares: the conversation's own defect.
      if (!isEngineDifference(second)) return { ...base, status: 'render_error', problems: [second, `(after a JS-engine difference: ${message})`], unrendered: [] };
      return { ...base, status: 'engine_difference', problems: [message, `re-render failed: ${second}`], unrendered: [], emulatedOk: false };
    }
    const missing = findInOrder(messages, text);
    const result: TemplateCheckResult = {
      ...base,
      status: 'engine_difference',
      problems: [message, ...missing],
      unrendered: unrenderedParts(trajectory, text),
      emulatedOk: missing.length === 0,
    };
    if (options.keepRendered === true) result.rendered = text;
    return result;
  }
  const missing = findInOrder(messages, text);
  const result: TemplateCheckResult = {
    ...base,
    status: missing.length === 0 ? 'ok' : 'missing',
    problems: missing,
    unrendered: unrenderedParts(trajectory, text),
  };
  if (options.keepRendered === true) result.rendered = text;
  return result;
}

/** Counts of results by status. */
export function summarizeTemplateChecks(results: readonly TemplateCheckResult[]): Record<TemplateCheckStatus, number> {
  const counts: Record<TemplateCheckStatus, number> = { ok: 0, missing: 0, render_error: 0, engine_difference: 0 };
  for (const r of results) counts[r.status] += 1;
  return counts;
}

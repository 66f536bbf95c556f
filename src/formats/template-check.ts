/**
 * Chat-template check of an export: renders the records AS WRITTEN (the bytes in the output
 * file, parsed, with no conversion whatsoever) through a real chat template, the way a
 * trainer's `apply_chat_template` would, and reports per conversation what a model trained on
 * it would not see right:
 * - a render error (the template raises on this data);
 * - a call missing, out of order, or with its arguments double-encoded (a JSON string inside
 *   the JSON, what `tojson` makes of string arguments) — calls are read from the record
 *   (`tool_calls`, or `<tool_call>` blocks in Hermes text);
 * - a result missing or out of order, or wrapped twice in `<tool_response>`;
 * - a null content printed as `None`;
 * - assistant text written beside calls that the rendering drops (a failure unless the caller
 *   says the template is known to drop it: then it is listed in `unrendered`).
 *
 * The reference renderer is Python Jinja2 as transformers sets it up ({@link renderWithJinja2});
 * without python3/jinja2 the check falls back to @huggingface/jinja, whose JS-only strictness
 * (`undefined | trim`, `map[undefined]`) is classified apart as `engine_difference` and
 * re-rendered the Jinja2 way.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { pyJson } from './common.js';
import { jinja2Available, renderWithJinja2, type RenderOutcome } from './jinja2-render.js';
import { isObject, parseJsonLoose, type JsonObject } from '../parse/json.js';
import { extractBlocks, parseToolCallJson } from '../parse/tagged.js';

export interface ChatTemplate {
  name: string;
  source: string;
  /** True when the template refuses more than one call per assistant turn. */
  singleCall: boolean;
  template: Template;
}

export interface TemplateCheckOptions {
  /** `jinja2` (Python, as transformers), `js` (@huggingface/jinja), or `auto`: jinja2 when available. @default 'auto' */
  engine?: 'auto' | 'jinja2' | 'js';
  /** Whether dropped assistant text beside calls is a failure (`required`) or a known loss of the template (`optional`). @default 'required' */
  textBesideCalls?: 'required' | 'optional';
  /** Keep the rendered text in the result (default false). */
  keepRendered?: boolean;
}

export type TemplateCheckStatus = 'ok' | 'failed' | 'render_error' | 'engine_difference' | 'not_checkable';

export interface TemplateCheckResult {
  id: string;
  status: TemplateCheckStatus;
  /** Which renderer produced the verdict. */
  engine: 'jinja2' | 'js';
  /** Render error, or what is missing / wrong. Empty when `ok`. */
  problems: string[];
  /** Known losses of the template (text beside calls when optional, reasoning): informational. */
  unrendered: string[];
  /** For `engine_difference`: whether everything was found on the Jinja2-like re-render. */
  emulatedOk?: boolean;
  rendered?: string;
}

/** One record as written: an id (for the report) and the parsed line. */
export interface WrittenRecord {
  id: string;
  record: Record<string, unknown>;
}

/** Compiles a chat template from its source. */
export function compileChatTemplate(source: string, name = 'template'): ChatTemplate {
  const singleCall = /tool_calls\s*\|\s*length\s*(?:>\s*1|==\s*1)[\s\S]{0,200}raise_exception/.test(source);
  return { name, source, singleCall, template: new Template(source) };
}

/** Reads and compiles a `.jinja` chat template file. */
export function loadChatTemplate(file: string): ChatTemplate {
  return compileChatTemplate(readFileSync(file, 'utf8'), basename(file));
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

function renderJs(chat: ChatTemplate, context: JsonObject): string {
  return chat.template.render(context);
}

function renderContext(item: { messages: unknown; tools?: unknown }): JsonObject {
  const context: JsonObject = { messages: item.messages as JsonObject[], add_generation_prompt: false, bos_token: '', eos_token: '' };
  if (item.tools !== undefined && item.tools !== null) context.tools = item.tools as JsonObject[];
  return context;
}

/** A call the rendered text must show: its name, arguments as an object, and the raw string when the record stores one. */
interface ExpectedCall {
  kind: 'call';
  name: string;
  args: JsonObject;
  raw?: string;
}
interface ExpectedResult {
  kind: 'result';
  content: string;
}
interface Expectations {
  events: Array<ExpectedCall | ExpectedResult>;
  /** Assistant text written beside calls, with its message index. */
  besideCalls: Array<{ index: number; text: string }>;
  /** Problems visible in the record itself (e.g. arguments that are not an object). */
  problems: string[];
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
  return '';
}

/** What the written record says the model should see, read from the record itself. */
export function expectationsOf(record: Record<string, unknown>): Expectations | undefined {
  const messages = record.messages;
  if (!Array.isArray(messages)) return undefined;
  const out: Expectations = { events: [], besideCalls: [], problems: [] };
  messages.forEach((m: unknown, i) => {
    if (!isObject(m)) return;
    const content = textOf(m.content);
    if (m.role === 'assistant') {
      const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
      let text = content;
      calls.forEach((c: unknown, j) => {
        const fn = isObject(c) && isObject(c.function) ? c.function : c;
        if (!isObject(fn) || typeof fn.name !== 'string') {
          out.problems.push(`messages[${i}].tool_calls[${j}]: no function name`);
          return;
        }
        const a = fn.arguments;
        if (isObject(a)) out.events.push({ kind: 'call', name: fn.name, args: a });
        else if (typeof a === 'string') {
          const parsed = parseJsonLoose(a.trim() === '' ? '{}' : a);
          if (parsed.ok && isObject(parsed.value)) out.events.push({ kind: 'call', name: fn.name, args: parsed.value, raw: a });
          else out.problems.push(`messages[${i}].tool_calls[${j}] (${fn.name}): arguments ${parsed.ok ? 'encode a JSON string, not an object (double-encoded in the file)' : 'are not JSON'}`);
        } else out.events.push({ kind: 'call', name: fn.name, args: {} });
      });
      if (calls.length === 0 && /<\s*tool_call\s*>/i.test(content)) {
        // Hermes text: the calls are written in the content.
        const { blocks, rest } = extractBlocks(content, 'tool_call');
        blocks.forEach((b, j) => {
          const c = parseToolCallJson(b);
          if (!c.ok) out.problems.push(`messages[${i}] <tool_call> ${j + 1}: ${c.error}`);
          else {
            const parsed = parseJsonLoose(c.arguments);
            out.events.push({ kind: 'call', name: c.name, args: parsed.ok && isObject(parsed.value) ? parsed.value : {} });
          }
        });
        text = rest;
        if (text.trim() !== '') out.besideCalls.push({ index: i, text: text.trim() });
      } else if (calls.length > 0 && text.trim() !== '') out.besideCalls.push({ index: i, text: text.trim() });
    } else if (m.role === 'tool' || m.role === 'user' || m.role === 'ipython') {
      const { blocks } = extractBlocks(content, 'tool_response');
      if (blocks.length > 0) for (const b of blocks) out.events.push({ kind: 'result', content: b.replace(/^\s*\n/, '').replace(/\n\s*$/, '') });
      else if (m.role !== 'user') out.events.push({ kind: 'result', content });
    }
  });
  return out;
}

/** Where a call shows in `text` at or after `cursor`: its name with its arguments as an object next to it (JSON or the XML forms of GLM and Qwen3.5+). */
function findCall(text: string, cursor: number, call: ExpectedCall): number | undefined {
  const keys = Object.keys(call.args);
  const forms = [pyJson(call.args), JSON.stringify(call.args), ...(call.raw === undefined ? [] : [call.raw])];
  for (let at = text.indexOf(call.name, cursor); at >= 0; at = text.indexOf(call.name, at + 1)) {
    const end = at + call.name.length;
    for (const a of forms) {
      const argAt = text.indexOf(a, Math.max(cursor, at - a.length - 64));
      if (argAt >= 0 && argAt <= end + 64) return Math.max(end, argAt + a.length);
    }
    // XML argument forms: <arg_key>k</arg_key> (GLM-4.5) or <parameter=k> (Qwen3.5+), in order after the name.
    let p = end;
    let all = true;
    for (const k of keys) {
      const hits = [`<arg_key>${k}</arg_key>`, `<parameter=${k}>`].map((tag) => ({ q: text.indexOf(tag, p), len: tag.length })).filter((h) => h.q >= 0 && h.q - p < 4000);
      const hit = hits.sort((x, y) => x.q - y.q)[0];
      if (hit === undefined) {
        all = false;
        break;
      }
      p = hit.q + hit.len;
    }
    if (keys.length > 0 && all) return p;
    // A call without arguments shows as its name only in XML forms.
    if (keys.length === 0 && /^>?\s*<\/(?:function|tool_call)>/.test(text.slice(end, end + 40))) return end;
  }
  return undefined;
}

/** Checks the rendered text against what the record says; returns the problems. */
export function verifyRendered(exp: Expectations, text: string, record: Record<string, unknown>, textBesideCalls: 'required' | 'optional'): { problems: string[]; unrendered: string[] } {
  const problems = [...exp.problems];
  const unrendered: string[] = [];
  let cursor = 0;
  let callNo = 0;
  let resultNo = 0;
  for (const e of exp.events) {
    if (e.kind === 'call') {
      callNo += 1;
      if (e.raw !== undefined && text.includes(JSON.stringify(e.raw))) {
        problems.push(`call ${callNo} (${e.name}): arguments rendered double-encoded (a JSON string inside the JSON): give this template objects`);
      }
      const found = findCall(text, cursor, e);
      if (found === undefined) problems.push(`call ${callNo} (${e.name}): not rendered with its arguments as an object after offset ${cursor}`);
      else cursor = found;
    } else {
      resultNo += 1;
      const cands = [e.content, JSON.stringify(e.content).slice(1, -1)];
      const hit = cands.map((c) => ({ at: text.indexOf(c, cursor), len: c.length })).find((h) => h.at >= 0);
      if (hit === undefined) problems.push(`result ${resultNo}: not rendered after offset ${cursor}`);
      else cursor = hit.at + hit.len;
    }
  }
  if (/<tool_response>\s*<tool_response>/.test(text)) problems.push('a result is wrapped twice in <tool_response> (tool messages that already hold <tool_response> blocks)');
  const contents = JSON.stringify(record);
  if (/(^|\n|>)None(\n|<|$)/.test(text) && !contents.includes('None')) problems.push('a null content is printed as "None"');
  for (const b of exp.besideCalls) {
    if (text.includes(b.text) || text.includes(JSON.stringify(b.text).slice(1, -1))) continue;
    const note = `messages[${b.index}]: assistant text beside tool calls not rendered`;
    if (textBesideCalls === 'required') problems.push(note);
    else unrendered.push(note);
  }
  return { problems, unrendered };
}

/**
 * Renders every written record through the template and checks it. Records without
 * `messages` (ShareGPT, ms-swift, sft-pairs) are `not_checkable`: their trainer converts them first.
 */
export async function checkRecords(records: readonly WrittenRecord[], chat: ChatTemplate, options: TemplateCheckOptions = {}): Promise<TemplateCheckResult[]> {
  const want = options.engine ?? 'auto';
  const py = want === 'js' ? { ok: false as const, reason: 'js engine asked for' } : jinja2Available();
  if (want === 'jinja2' && !py.ok) throw new Error(`--check-template needs python3 with jinja2: ${py.reason}`);
  const engine: 'jinja2' | 'js' = py.ok ? 'jinja2' : 'js';
  const textMode = options.textBesideCalls ?? 'required';
  const items = records.map((r) => ({ r, exp: expectationsOf(r.record) }));
  const checkable = items.filter((x) => x.exp !== undefined);
  const rendered = new Map<WrittenRecord, RenderOutcome>();
  if (engine === 'jinja2') {
    const outs = await renderWithJinja2(chat.source, checkable.map((x) => ({ messages: x.r.record.messages, tools: x.r.record.tools })));
    checkable.forEach((x, i) => rendered.set(x.r, outs[i] ?? { ok: false, error: 'no answer from the renderer' }));
  }
  return items.map(({ r, exp }): TemplateCheckResult => {
    if (exp === undefined) return { id: r.id, status: 'not_checkable', engine, problems: ['no `messages` list: this format is converted by its trainer before any chat template'], unrendered: [] };
    const base = { id: r.id, engine };
    const finish = (text: string, status: 'ok' | 'engine_difference', firstProblem?: string): TemplateCheckResult => {
      const v = verifyRendered(exp, text, r.record, textMode);
      const result: TemplateCheckResult = status === 'engine_difference'
        ? { ...base, status, problems: [firstProblem ?? '', ...v.problems], unrendered: v.unrendered, emulatedOk: v.problems.length === 0 }
        : { ...base, status: v.problems.length === 0 ? 'ok' : 'failed', problems: v.problems, unrendered: v.unrendered };
      if (options.keepRendered === true) result.rendered = text;
      return result;
    };
    if (engine === 'jinja2') {
      const out = rendered.get(r) as RenderOutcome;
      return out.ok ? finish(out.text, 'ok') : { ...base, status: 'render_error', problems: [out.error], unrendered: [] };
    }
    const context = renderContext({ messages: r.record.messages, tools: r.record.tools });
    try {
      return finish(renderJs(chat, context), 'ok');
    } catch (error) {
      const message = (error as Error).message;
      if (!isEngineDifference(message)) return { ...base, status: 'render_error', problems: [message], unrendered: [] };
      try {
        return finish(renderJinja2Like(chat, context), 'engine_difference', message);
      } catch (again) {
        const second = (again as Error).message;
        if (!isEngineDifference(second)) return { ...base, status: 'render_error', problems: [second, `(after a JS-engine difference: ${message})`], unrendered: [] };
        return { ...base, status: 'engine_difference', problems: [message, `re-render failed: ${second}`], unrendered: [], emulatedOk: false };
      }
    }
  });
}

/** Counts of results by status. */
export function summarizeTemplateChecks(results: readonly TemplateCheckResult[]): Record<TemplateCheckStatus, number> {
  const counts: Record<TemplateCheckStatus, number> = { ok: 0, failed: 0, render_error: 0, engine_difference: 0, not_checkable: 0 };
  for (const r of results) counts[r.status] += 1;
  return counts;
}

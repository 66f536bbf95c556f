/**
 * OpenAI chat fine-tuning format (also what TRL's SFTTrainer reads): one `{messages, tools}`
 * object per line. gemtraj trajectories are already in this shape, so export only drops the
 * provenance; import accepts plain OpenAI lines (with the usual variations: content parts,
 * arguments as objects, missing call ids, legacy `function_call`/`functions`) and also a
 * gemtraj trajectory line, which is taken as is.
 */
import { CallIds, TrajectorySchema, type Message, type Reason, type Tool, type ToolCall, type Trajectory } from '../records.js';
import { contentText, finishImport, importMeta, stableId } from './common.js';
import { argumentsString, isObject, type JsonObject } from '../parse/json.js';
import { normalizeTools } from '../parse/tool-schema.js';
import type { ImportOptions, ImportResult } from './types.js';

/** One line of an OpenAI fine-tuning file. */
export interface OpenAIRecord {
  messages: Message[];
  tools: Tool[];
}

/** Exports a trajectory as `{messages, tools}` (messages and tools unchanged). */
export function toOpenAI(trajectory: Trajectory): OpenAIRecord {
  return { messages: trajectory.messages.map((m) => ({ ...m })), tools: trajectory.tools.map((t) => ({ ...t })) };
}

/**
 * Normalises a list of OpenAI-style messages into gemtraj {@link Message}s. Keeps exactly the
 * keys present (so an export → import round trip is exact); fills what is missing (call ids,
 * `type`, tool_call_id by order) and notes it in `warnings`.
 */
export function normalizeOpenAIMessages(
  raw: unknown,
  warnings: Reason[],
  path = 'messages',
  /**
   * A call id used earlier in the conversation: `keep` it (validation rejects it, as trainers
   * do: OpenAI answers 400 "Duplicate value for 'tool_call_id'"), or `renumber` it (agent logs
   * such as tau-bench reuse ids across turns; results are linked by position). @default 'keep'
   */
  reusedIds: 'keep' | 'renumber' = 'keep',
): { ok: true; messages: Message[] } | { ok: false; error: string } {
  if (!Array.isArray(raw)) return { ok: false, error: `${path}: not a list` };
  const ids = new CallIds();
  const used = new Set<string>();
  // Open calls with the id the source gave them (logs sometimes reuse an id; we renumber those).
  const pending: Array<{ orig: string; call: ToolCall }> = [];
  const messages: Message[] = [];
  for (let i = 0; i < raw.length; i++) {
    const m: unknown = raw[i];
    const p = `${path}[${i}]`;
    if (!isObject(m)) return { ok: false, error: `${p}: not an object` };
    const role = m.role === 'developer' ? 'system' : m.role === 'function' ? 'tool' : m.role;
    const content = contentText(m.content);
    if (role === 'system' || role === 'user') {
      messages.push({ role, content: content ?? '' });
      if (content === null || content === undefined) warnings.push({ check: 'import_content', path: p, message: 'empty content' });
    } else if (role === 'assistant') {
      const out: Extract<Message, { role: 'assistant' }> = { role: 'assistant' };
      if ('content' in m) out.content = content ?? null;
      const rawCalls: unknown[] = Array.isArray(m.tool_calls)
        ? m.tool_calls
        : isObject(m.function_call)
          ? [{ type: 'function', function: m.function_call }]
          : [];
      // `tool_calls: []` is normalised away: some trainers refuse an empty list.
      if (rawCalls.length > 0) {
        const calls: ToolCall[] = [];
        const origs: string[] = [];
        for (let j = 0; j < rawCalls.length; j++) {
          const c = rawCalls[j];
          const fn = isObject(c) && isObject(c.function) ? c.function : c;
          if (!isObject(c) || !isObject(fn) || typeof fn.name !== 'string') {
            return { ok: false, error: `${p}.tool_calls[${j}]: no function name` };
          }
          let id = typeof c.id === 'string' && c.id !== '' ? c.id : '';
          origs.push(id);
          const reused = id !== '' && used.has(id);
          if (id === '' || (reused && reusedIds === 'renumber')) {
            const was = id;
            id = ids.next();
            while (used.has(id)) id = ids.next();
            const message = reused ? `call id ${JSON.stringify(was)} reused from an earlier call: renumbered to ${id} (trainers refuse reused ids)` : `no call id: generated ${id}`;
            warnings.push({ check: 'import_call_id', path: `${p}.tool_calls[${j}]`, message });
          }
          used.add(id);
          calls.push({ id, type: 'function', function: { name: fn.name, arguments: argumentsString(fn.arguments) } });
        }
        out.tool_calls = calls;
        calls.forEach((call, j) => pending.push({ orig: origs[j] ?? '', call }));
      }
      if (typeof m.reasoning_content === 'string') out.reasoning_content = m.reasoning_content;
      if ('weight' in m) {
        if (m.weight !== 0 && m.weight !== 1) return { ok: false, error: `${p}.weight: must be 0 or 1, got ${JSON.stringify(m.weight)}` };
        out.weight = m.weight;
      }
      messages.push(out);
    } else if (role === 'tool') {
      let id = typeof m.tool_call_id === 'string' ? m.tool_call_id : '';
      let idx = pending.findIndex((o) => o.call.id === id);
      if (idx < 0 && id !== '') idx = pending.findIndex((o) => o.orig === id);
      if (idx >= 0) id = (pending.splice(idx, 1)[0] as { call: ToolCall }).call.id;
      else if (id === '' && pending.length > 0) {
        // Legacy `function` results carry no id: they answer the oldest open call.
        id = (pending.shift() as { call: ToolCall }).call.id;
        warnings.push({ check: 'import_tool_link', path: p, message: `linked by order to ${id}` });
      }
      const out: Extract<Message, { role: 'tool' }> = { role: 'tool', tool_call_id: id, content: content ?? '' };
      if (typeof m.name === 'string') out.name = m.name;
      messages.push(out);
    } else {
      return { ok: false, error: `${p}.role: unknown role ${JSON.stringify(m.role)}` };
    }
  }
  return { ok: true, messages };
}

/**
 * Imports one OpenAI fine-tuning line (`{messages, tools?}`; legacy `functions` accepted) or a
 * gemtraj trajectory line (has `id` and `source`), which is validated and returned unchanged.
 */
export function fromOpenAI(record: unknown, options: ImportOptions = {}): ImportResult {
  if (!isObject(record)) return { ok: false, error: '(root): not an object' };
  if (typeof record.id === 'string' && isObject(record.source)) return finishImport(record);
  const warnings: Reason[] = [];
  const msgs = normalizeOpenAIMessages(record.messages, warnings);
  if (!msgs.ok) return { ok: false, error: msgs.error };
  const rawTools = record.tools ?? (Array.isArray(record.functions) ? record.functions : undefined);
  const tools = normalizeTools(rawTools);
  if ('error' in tools) return { ok: false, error: tools.error };
  for (const n of tools.notes) warnings.push({ check: 'schema_normalized', path: n.path, message: n.message });
  const id = stableId('openai', record);
  const draft: JsonObject = {
    id,
    source: { doc_id: options.docId ?? id },
    tools: tools.tools,
    messages: msgs.messages,
    meta: importMeta('openai', warnings),
  };
  return finishImport(draft);
}

/** True when a value is a gemtraj trajectory line (validated). */
export function isGemtrajTrajectory(value: unknown): boolean {
  return TrajectorySchema.safeParse(value).success;
}

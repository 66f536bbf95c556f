/**
 * Helpers shared by the format converters: ids, Python-style JSON (what `tojson` renders in
 * chat templates), OpenAI content values, and the final zod check of an import.
 */
import { createHash } from 'node:crypto';
import { TrajectorySchema, formatPath, type Message, type Reason, type Trajectory } from '../records.js';
import type { ImportResult } from './types.js';
import { isObject, type JsonObject } from '../parse/json.js';

/** Stable id `<prefix>_<16 hex>` from the JSON of a value (same record → same id). */
export function stableId(prefix: string, value: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(value) ?? 'undefined').digest('hex');
  return `${prefix}_${hash.slice(0, 16)}`;
}

/**
 * JSON the way Python's `json.dumps(x, ensure_ascii=False)` writes it (`", "` and `": "`
 * separators) — the text `tojson` produces in HF chat templates and Qwen's `<tool_call>`.
 */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  if (isObject(value)) {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** Text of an OpenAI content value (string, null, or a list of `{type:'text', text}` parts). */
export function contentText(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    return value
      .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : typeof part === 'string' ? part : ''))
      .join('');
  }
  return JSON.stringify(value);
}

/** Checks a draft with the Trajectory schema and turns it into an {@link ImportResult}. */
export function finishImport(draft: unknown): ImportResult {
  const parsed = TrajectorySchema.safeParse(draft);
  if (parsed.success) return { ok: true, trajectory: withoutEmptyCalls(parsed.data) };
  const issue = parsed.error.issues[0];
  return { ok: false, error: issue === undefined ? 'invalid trajectory' : `${formatPath(issue.path)}: ${issue.message}` };
}

/**
 * `tool_calls: []` normalised away (in every format, gemtraj's own included): OpenAI's API
 * and some trainers refuse an empty list, and it means the same as no calls.
 */
function withoutEmptyCalls(t: Trajectory): Trajectory {
  const empty = (m: Message): boolean => m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls.length === 0;
  if (!t.messages.some(empty)) return t;
  const messages = t.messages.map((m): Message => {
    if (m.role !== 'assistant' || !empty(m)) return m;
    const { tool_calls: _empty, ...rest } = m;
    return rest;
  });
  return { ...t, messages };
}

/** Map from call id to tool name over a conversation. */
export function callNames(messages: readonly Message[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) if (m.role === 'assistant') for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
  return names;
}

/**
 * Renumbers tool-call ids to `call_1…n` in order of appearance (and the tool messages that
 * answer them). Formats without ids (Hermes, ShareGPT, sft-pairs) regenerate ids this way,
 * so their round trip equals the canonical form of the input.
 */
export function canonicalCallIds(t: Trajectory): Trajectory {
  const ids = new Map<string, string>();
  let n = 0;
  const messages = t.messages.map((m): Message => {
    if (m.role === 'assistant' && m.tool_calls !== undefined) {
      return {
        ...m,
        tool_calls: m.tool_calls.map((c) => {
          n += 1;
          const id = `call_${n}`;
          if (!ids.has(c.id)) ids.set(c.id, id);
          return { ...c, id };
        }),
      };
    }
    if (m.role === 'tool') return { ...m, tool_call_id: ids.get(m.tool_call_id) ?? m.tool_call_id };
    return m;
  });
  return { ...t, messages };
}

/** Import metadata: stage `imported`, the format, and any non-fatal notes as warnings. */
export function importMeta(format: string, warnings: Reason[], extra: JsonObject = {}): JsonObject {
  const meta: JsonObject = { stage: 'imported', format, ...extra };
  if (warnings.length > 0) meta.warnings = warnings;
  return meta;
}

/**
 * Helpers shared by the format converters: ids, tolerant JSON, argument encoding, Python-style
 * JSON (what `tojson` renders in chat templates), and the final zod check of an import.
 */
import { createHash } from 'node:crypto';
import { jsonrepair } from 'jsonrepair';
import { TrajectorySchema, formatPath, type Message, type Reason, type Trajectory } from '../records.js';
import type { ImportResult } from './types.js';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Stable id `<prefix>_<16 hex>` from the JSON of a value (same record → same id). */
export function stableId(prefix: string, value: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(value) ?? 'undefined').digest('hex');
  return `${prefix}_${hash.slice(0, 16)}`;
}

/** Sequential call ids `call_1`, `call_2`, … for formats that carry none. */
export class CallIds {
  private n = 0;
  next(): string {
    this.n += 1;
    return `call_${this.n}`;
  }
}

/** Removes commas before `}` or `]` outside strings (a common model slip). */
export function stripTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += text[i + 1] ?? '';
        i += 1;
      } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    if (ch === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j] as string)) j++;
      if (text[j] === '}' || text[j] === ']') continue;
    }
    out += ch;
  }
  return out;
}

/**
 * Parses JSON that a model or a careless writer produced: plain JSON first, then without
 * code fences and trailing commas, then through jsonrepair. Never throws.
 */
export function parseJsonLoose(text: string): { ok: true; value: unknown; repaired: boolean } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown, repaired: false };
  } catch (error) {
    const first = (error as Error).message;
    const cleaned = stripTrailingCommas(text.replace(/^\s*```[\w-]*\s*\n?/, '').replace(/\n?\s*```\s*$/, '').trim());
    try {
      return { ok: true, value: JSON.parse(cleaned) as unknown, repaired: true };
    } catch {
      try {
        return { ok: true, value: JSON.parse(jsonrepair(cleaned)) as unknown, repaired: true };
      } catch {
        return { ok: false, error: `invalid JSON: ${first}` };
      }
    }
  }
}

/** Wire `arguments` (a JSON string) → object; an error when it is not a JSON object. */
export function argumentsObject(args: string): { ok: true; value: JsonObject } | { ok: false; error: string } {
  if (args.trim() === '') return { ok: true, value: {} };
  try {
    const value = JSON.parse(args) as unknown;
    if (isObject(value)) return { ok: true, value };
    return { ok: false, error: 'arguments is not a JSON object' };
  } catch (error) {
    return { ok: false, error: `arguments is not JSON: ${(error as Error).message}` };
  }
}

/**
 * Foreign arguments (an object, or a string holding JSON) → the wire string. Objects are
 * encoded compactly (JSON.stringify), which is how gemtraj writes arguments itself.
 */
export function argumentsString(value: unknown): string {
  if (typeof value === 'string') {
    // Some datasets double-encode: keep a JSON string as is, wrap anything else as JSON text.
    try {
      JSON.parse(value);
      return value;
    } catch {
      return JSON.stringify(value);
    }
  }
  if (value === undefined || value === null) return '{}';
  return JSON.stringify(value);
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
  if (parsed.success) return { ok: true, trajectory: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, error: issue === undefined ? 'invalid trajectory' : `${formatPath(issue.path)}: ${issue.message}` };
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

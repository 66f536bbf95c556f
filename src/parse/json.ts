/**
 * Tolerant JSON, as models and careless dataset writers produce it, and the wire `arguments`
 * string (a JSON-encoded object) in both directions. Shared by the prompt answer parsers and
 * the format converters.
 */
import { jsonrepair } from 'jsonrepair';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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


/**
 * One input record (a JSON object, a CSV row, a Parquet row) → a document or the reason it
 * is not one. Shared by every record format so that the fields, ids and checks are the same
 * whatever the file type.
 */
import { createHash } from 'node:crypto';
import type { Document, Reason } from '../records.js';

export interface ReadOptions {
  /** Field (JSON key, CSV header, Parquet column) holding the text. @default 'text' */
  textField: string;
  /** Field holding the id; absent → `doc_` + a hash of the text. @default 'id' */
  idField: string;
  /**
   * Told about input problems that do not stop a record from being read (invalid UTF-8, read
   * as U+FFFD): the record still becomes a document. @default ignored
   */
  onWarning?: ((warning: InputWarning) => void) | undefined;
}

/** A problem in an input that does not reject the record. */
export interface InputWarning {
  /** `input_utf8`: bytes that are not UTF-8 (read as U+FFFD). */
  check: 'input_utf8';
  /** Names the file, the record (line, row, record offset) and the byte position. */
  message: string;
}

export type InputItem =
  | { kind: 'document'; document: Document }
  | { kind: 'rejection'; id: string; reasons: Reason[] };

/** Where a record sits, for its rejection id and messages. */
export interface RecordPlace {
  /** Stable id of the record when it has no usable id of its own (`file:line`, `file:row 3`). */
  key: string;
  /** Prefix of messages: `path:line` or `path: row 3`. */
  where: string;
  origin: NonNullable<Document['origin']>;
}

/** A stable id for a text without one: `doc_` + 16 hex chars of its SHA-256. */
export function contentId(text: string): string {
  return `doc_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

// Characters that may mean binary data: C0 controls other than tab, LF, CR; U+FFFD (undecodable bytes).
const SUSPECT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffd]/;

/** Why a text is not usable, or undefined when it is. */
export function textProblem(text: string): Reason | undefined {
  if (!/\S/.test(text)) return { check: 'input_empty', message: 'text is empty' };
  // NUL bytes or a high share of control characters mean binary data, not prose.
  const sample = text.length > 20_000 ? text.slice(0, 20_000) : text;
  // Most texts have none: one native regex scan instead of a character loop (Parquet reading speed).
  if (!SUSPECT.test(sample)) return undefined;
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0) return { check: 'input_not_text', message: 'text contains NUL bytes (binary data?)' };
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) control++;
    else if (c === 0xfffd) control++;
  }
  if (control / sample.length > 0.1) return { check: 'input_not_text', message: 'text is mostly control or undecodable characters (binary data?)' };
  return undefined;
}

/** Extra facts of a document besides its text and id. */
export interface DocumentExtra {
  url?: string | undefined;
  /** The record's text field, named in rejections. */
  field?: string;
  markup?: Document['markup'];
}

/** The text as a document, or its rejection; `id` is the record's own id when it has one. */
export function documentFromText(text: string, id: string | undefined, place: RecordPlace, extra: DocumentExtra = {}): InputItem {
  const problem = textProblem(text);
  if (problem !== undefined) {
    const path = extra.field === undefined ? {} : { path: extra.field };
    return { kind: 'rejection', id: id !== undefined ? `${id}@${place.key}` : place.key, reasons: [{ ...problem, ...path, message: `${place.where}: ${problem.message}` }] };
  }
  return {
    kind: 'document',
    document: {
      id: id ?? contentId(text),
      text,
      ...(extra.url !== undefined ? { url: extra.url } : {}),
      ...(extra.markup !== undefined ? { markup: extra.markup } : {}),
      origin: place.origin,
    },
  };
}

/** A record read as JSON (or a CSV/Parquet row): its text and id fields, checked. */
export function documentFromRecord(value: unknown, place: RecordPlace, options: ReadOptions, unit: string): InputItem {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'rejection', id: place.key, reasons: [{ check: 'input_shape', message: `${place.where}: expected a JSON object per ${unit}` }] };
  }
  const record = value as Record<string, unknown>;
  const text = record[options.textField];
  const rawId = record[options.idField];
  const id = typeof rawId === 'string' && rawId !== '' ? rawId : typeof rawId === 'number' || typeof rawId === 'bigint' ? String(rawId) : undefined;
  if (text !== undefined && typeof text !== 'string') {
    // The field exists but holds something else: say what, so the fix is in the data, not the flag.
    return {
      kind: 'rejection',
      id: id !== undefined ? `${id}@${place.key}` : place.key,
      reasons: [{ check: 'input_text_type', path: options.textField, message: `${place.where}: field "${options.textField}" is ${typeName(text)}, not a string` }],
    };
  }
  if (typeof text !== 'string') {
    const fields = Object.keys(record).slice(0, 8).join(', ');
    return {
      kind: 'rejection',
      id: id !== undefined ? `${id}@${place.key}` : place.key,
      reasons: [
        {
          check: 'input_text_missing',
          path: options.textField,
          message: `${place.where}: no string field "${options.textField}" (fields: ${fields || 'none'}); choose one with --text-field`,
        },
      ],
    };
  }
  const url = typeof record.url === 'string' && record.url !== '' ? record.url : undefined;
  return documentFromText(text, id, place, { url, field: options.textField, markup: declaredMarkup(record) });
}

/** Fields a record may declare its text's markup in (a MIME type or a format name). */
export const MARKUP_FIELDS = ['format', 'mime', 'mime_type', 'mimetype', 'content_type', 'content-type', 'contentType'] as const;

/**
 * The markup a record declares: `text/html`, `application/xhtml+xml` or `html` → HTML;
 * `text/markdown`, `text/plain`, `markdown`, `md`, `text`, `plain` → markdown. Any other value
 * (a `format` field meaning something else) declares nothing.
 */
export function declaredMarkup(record: Record<string, unknown>): Document['markup'] {
  for (const field of MARKUP_FIELDS) {
    const value = record[field];
    if (typeof value !== 'string') continue;
    const v = value.trim().toLowerCase().split(';')[0]?.trim() ?? '';
    if (v === 'html' || v === 'text/html' || v === 'application/xhtml+xml' || v === 'xhtml') return 'html';
    if (['markdown', 'md', 'text', 'plain', 'plaintext', 'text/markdown', 'text/x-markdown', 'text/plain'].includes(v)) return 'markdown';
  }
  return undefined;
}

/** A JSON value's type as a phrase ("a number", "null", "an array"). */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary data';
  const t = typeof value;
  return t === 'object' ? 'an object' : `a ${t}`;
}

/**
 * Error bodies as servers really send them, turned into OpenAI's shape so that one reader
 * (the SDK's `APIError`, then http-errors.ts) sees every server's message, code and parameter.
 * The SDK only reads `{"error": {...}}`: older vLLM and SGLang put `message` at the top level,
 * Ollama's native routes and TGI send `{"error": "text"}`, FastAPI servers `{"detail": ...}`,
 * and proxies HTML pages. Without this their messages read "(no message)".
 */

/** The members of OpenAI's `error` object gemtraj reads; the server's others are kept. */
export interface ErrorObject {
  message: string;
  type?: unknown;
  code?: unknown;
  param?: unknown;
  [member: string]: unknown;
}

/** Longest message kept from a body that is not JSON (an HTML page, a proxy's text). */
const MAX_TEXT_CHARS = 500;

/**
 * The body of a failed request rewritten as `{"error": {message, ...}}`, or `undefined` when it
 * already has that shape (then it is passed on untouched). Pure; never throws.
 */
export function toOpenAiErrorBody(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const plain = plainText(text);
    return plain === '' ? undefined : JSON.stringify({ error: { message: plain } });
  }
  if (isObject(body) && isObject(body.error) && typeof body.error.message === 'string' && body.error.message.trim() !== '') return undefined;
  const error = errorObject(body);
  return error === undefined ? undefined : JSON.stringify({ error });
}

/** The error object of any common error body; `undefined` when nothing in it reads as a message. */
export function errorObject(body: unknown): ErrorObject | undefined {
  if (typeof body === 'string') return body.trim() === '' ? undefined : { message: body.trim() };
  if (!isObject(body)) return undefined;
  // {"error": {...}} without a usable message: look inside it (msg, detail) as below.
  if (isObject(body.error)) {
    const inner = errorObject({ ...body.error, error: undefined });
    if (inner !== undefined) return inner;
  }
  // Ollama native, TGI: {"error": "text", "error_type": "..."}.
  if (typeof body.error === 'string' && body.error.trim() !== '') {
    return withMembers({ message: body.error.trim() }, { type: body.error_type ?? body.type, code: body.code });
  }
  // Older vLLM, SGLang: {"object": "error", "message": "...", "type": "BadRequestError", "param": null, "code": 400}.
  for (const key of ['message', 'msg', 'error_message', 'errorMessage']) {
    const value = body[key];
    if (typeof value === 'string' && value.trim() !== '') {
      const { object: _object, [key]: _message, ...rest } = body;
      return { ...rest, message: value.trim() };
    }
  }
  // FastAPI: {"detail": "text"} or {"detail": [{"loc": ["body", "x"], "msg": "...", "type": "extra_forbidden"}]}.
  if (typeof body.detail === 'string' && body.detail.trim() !== '') return { message: body.detail.trim() };
  const list = Array.isArray(body.detail) ? body.detail : Array.isArray(body.errors) ? body.errors : undefined;
  if (list !== undefined && list.length > 0) return fromList(list);
  if (isObject(body.detail)) return errorObject(body.detail);
  return undefined;
}

/** Validation errors as one message; `param` names the field when there is exactly one. */
function fromList(list: unknown[]): ErrorObject | undefined {
  const parts: string[] = [];
  const params: string[] = [];
  let type: unknown;
  for (const item of list.slice(0, 5)) {
    if (!isObject(item)) {
      if (typeof item === 'string') parts.push(item);
      continue;
    }
    const text = [item.msg, item.message].find((v): v is string => typeof v === 'string') ?? JSON.stringify(item);
    // FastAPI's loc starts with where the field was ("body", "query").
    const loc = Array.isArray(item.loc) ? item.loc.filter((p) => p !== 'body' && p !== 'query').map(String) : [];
    if (loc.length > 0) params.push(loc.join('.'));
    type ??= item.type;
    parts.push(loc.length > 0 ? `${loc.join('.')}: ${text}` : text);
  }
  if (parts.length === 0) return undefined;
  return withMembers({ message: parts.join('; ') }, { type, param: params.length === 1 ? params[0] : undefined });
}

function withMembers(error: ErrorObject, members: Record<string, unknown>): ErrorObject {
  for (const [key, value] of Object.entries(members)) if (value !== undefined && value !== null) error[key] = value;
  return error;
}

/** Text of a non-JSON body: tags and scripts dropped, whitespace collapsed, cut short. */
function plainText(text: string): string {
  const plain = text
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > MAX_TEXT_CHARS ? `${plain.slice(0, MAX_TEXT_CHARS)}…` : plain;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Lines of Batch API files, the format OpenAI, Together and `vllm run-batch` share. An input
 * line is `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`; gemtraj's
 * custom_id is the request's response-cache key, so an output line can be put into the cache
 * without anything else. An output line carries `response: {status_code, body}` or `error`.
 */
import type { ToolCall } from '../records.js';
import { BackendError, type BackendFailure, type ChatRequest, type ChatResponse } from './backend.js';
import { lineError } from './batch-api.js';
import { classifyError } from './http-errors.js';

/** The Batch API endpoint gemtraj's lines target. */
export const BATCH_ENDPOINT = '/v1/chat/completions';

/** One input line (without the trailing newline). */
export function inputLine(key: string, request: ChatRequest): string {
  return JSON.stringify({ custom_id: key, method: 'POST', url: BATCH_ENDPOINT, body: request });
}

/** What one output or error line says about its request. */
type Outcome = { key: string; ok: true; response: ChatResponse } | { key: string; ok: false; failure: BackendFailure };
export type LineOutcome = Outcome & {
  /** The line as read (without its newline). */
  raw: string;
};

/**
 * Parses a file of output or error lines. Lines that are not JSON or carry no custom_id are
 * skipped (counted in `unreadable`): their requests stay unanswered and go into the next wave.
 */
export function parseOutputFile(text: string, where: string, model: (key: string) => string): { outcomes: LineOutcome[]; unreadable: number } {
  const outcomes: LineOutcome[] = [];
  let unreadable = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: { custom_id?: unknown; response?: { status_code?: unknown; body?: unknown } | null; error?: { code?: unknown; message?: unknown } | null };
    try {
      line = JSON.parse(raw) as typeof line;
    } catch {
      unreadable++;
      continue;
    }
    if (typeof line.custom_id !== 'string') {
      unreadable++;
      continue;
    }
    outcomes.push({ ...lineOutcome(line.custom_id, line, where, model(line.custom_id)), raw });
  }
  return { outcomes, unreadable };
}

function lineOutcome(
  key: string,
  line: { response?: { status_code?: unknown; body?: unknown } | null; error?: { code?: unknown; message?: unknown } | null },
  where: string,
  model: string,
): Outcome {
  const response = line.response;
  if (response !== null && response !== undefined && typeof response.status_code === 'number') {
    if (response.status_code === 200) {
      const parsed = completionResponse(response.body);
      if (parsed !== undefined) return { key, ok: true, response: parsed };
      return { key, ok: false, failure: BackendError.retry(where, 'the batch answer is not a chat completion (no choices)').failure };
    }
    const failure = classifyError(lineError(response.status_code, response.body), { model, baseUrl: where, hasResponseFormat: false });
    return { key, ok: false, failure };
  }
  const code = typeof line.error?.code === 'string' ? line.error.code : 'error';
  const message = typeof line.error?.message === 'string' ? line.error.message : 'no answer in the batch output';
  // batch_expired and the like: the request never ran; it goes into the next wave.
  return { key, ok: false, failure: BackendError.retry(where, `${code}: ${message}`, { rateLimited: code === 'rate_limit_exceeded' }).failure };
}

/** A chat completion body as a {@link ChatResponse}; `undefined` when it has no choice. */
export function completionResponse(body: unknown): ChatResponse | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const completion = body as {
    model?: unknown;
    choices?: Array<{ message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }>;
    usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
  };
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  if (typeof choice !== 'object' || choice === null) return undefined;
  const response: ChatResponse = {
    text: typeof choice.message?.content === 'string' ? choice.message.content : '',
    finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : 'unknown',
  };
  const usage = completion.usage;
  if (usage !== undefined && usage !== null) {
    response.usage = { prompt_tokens: Number(usage.prompt_tokens ?? 0) || 0, completion_tokens: Number(usage.completion_tokens ?? 0) || 0 };
  }
  if (typeof completion.model === 'string' && completion.model !== '') response.model = completion.model;
  const toolCalls = toolCallsOf(choice.message?.tool_calls);
  if (toolCalls !== undefined) response.toolCalls = toolCalls;
  return response;
}

function toolCallsOf(calls: unknown): ToolCall[] | undefined {
  if (!Array.isArray(calls)) return undefined;
  const out: ToolCall[] = [];
  for (const call of calls as Array<{ id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }>) {
    if (call.type !== 'function' || call.function === undefined) continue;
    const { name, arguments: args } = call.function;
    out.push({
      id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${out.length + 1}`,
      type: 'function',
      function: { name: typeof name === 'string' ? name : '', arguments: typeof args === 'string' ? args : '{}' },
    });
  }
  return out.length > 0 ? out : undefined;
}

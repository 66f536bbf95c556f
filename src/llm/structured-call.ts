/**
 * A structured call: ask for JSON in the configured mode, validate the answer, and re-ask
 * with the problems until it passes or the repairs run out. A bad answer is `ok: false`.
 */
import type { Usage } from '../records.js';
import { MAX_RAW_CHARS, buildStructuredRequest, repairPrompt, validateAnswer, type ResponseFormat } from './structured.js';
import type { CompletionRequest, CompletionResult, StructuredOutputMode, StructuredRequest, StructuredResult } from './types.js';

/** One completion with an optional `response_format` (the gateway's `complete`). */
export type CompleteWithFormat = (request: CompletionRequest, responseFormat: ResponseFormat | undefined) => Promise<CompletionResult>;

export async function completeStructured<T>(
  request: StructuredRequest<T>,
  mode: StructuredOutputMode,
  complete: CompleteWithFormat,
  /** Reported as the model when no call was made. */
  model: string,
): Promise<StructuredResult<T>> {
  const maxRepairs = request.maxRepairs ?? 2;
  const built = buildStructuredRequest(mode, request.messages, request.schema, request.schemaName, { fieldGuide: request.fieldGuide });
  let messages = built.messages;
  const usage: Usage = { prompt_tokens: 0, completion_tokens: 0 };
  let last: CompletionResult | undefined;
  let problems: string[] = [];
  let attempts = 0;
  for (let attemptNo = 1; attemptNo <= maxRepairs + 1; attemptNo++) {
    attempts = attemptNo;
    last = await complete({ ...request, messages }, built.responseFormat);
    usage.prompt_tokens += last.usage.prompt_tokens;
    usage.completion_tokens += last.usage.completion_tokens;
    const verdict = validateAnswer(last.text, last.finishReason, request.schema);
    if (verdict.ok) return { ok: true, value: verdict.value, raw: last.text, model: last.model, usage, attempts: attemptNo };
    problems = verdict.problems;
    // A cut-off answer re-asked with itself in context is nearly always cut off again, at
    // the price of the longest calls: give up at once and let the record be rejected.
    if (last.finishReason === 'length') break;
    messages = [...messages, { role: 'assistant', content: last.text }, { role: 'user', content: repairPrompt(problems) }];
  }
  const raw = last?.text ?? '';
  return {
    ok: false,
    error: problems.join('; '),
    raw: raw.length > MAX_RAW_CHARS ? raw.slice(0, MAX_RAW_CHARS) : raw,
    model: last?.model ?? model,
    usage,
    attempts,
  };
}

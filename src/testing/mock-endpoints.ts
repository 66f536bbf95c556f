/**
 * Behaviours of real endpoints for the mock server: each server's error body shape, OpenAI's
 * reasoning models refusing `max_tokens` and a non-default `temperature`, context limits with
 * each server's message, and a server-side default completion cap. The bodies are the ones
 * those servers send (OpenAI, vLLM before and after it adopted OpenAI's shape, SGLang,
 * llama.cpp, Ollama's native routes, FastAPI-based servers), so the client code that reads
 * them is tested against what it will meet.
 */
import { type MockHandler, type MockReply, type MockRequest } from './mock-server.js';

/** Servers whose error shapes the mock reproduces. */
export type ServerKind = 'openai' | 'vllm' | 'vllm-legacy' | 'sglang' | 'llamacpp' | 'ollama-native' | 'fastapi';

/** A 400-class error as `server` sends it. `param`/`code` are used where that server has them. */
export function serverError(server: ServerKind, status: number, message: string, extra: { param?: string; code?: string; type?: string } = {}): MockReply {
  switch (server) {
    case 'openai':
      return {
        kind: 'status',
        status,
        body: { error: { message, type: extra.type ?? 'invalid_request_error', param: extra.param ?? null, code: extra.code ?? null } },
      };
    case 'vllm':
      return { kind: 'status', status, body: { error: { message, type: 'BadRequestError', param: extra.param ?? null, code: status } } };
    case 'vllm-legacy':
    case 'sglang':
      // {"object": "error", "message": ..., "type": "BadRequestError", "param": null, "code": 400}
      return { kind: 'status', status, body: { object: 'error', message, type: 'BadRequestError', param: extra.param ?? null, code: status } };
    case 'llamacpp':
      return { kind: 'status', status, body: { error: { code: status, message, type: extra.type ?? 'invalid_request_error' } } };
    case 'ollama-native':
      return { kind: 'status', status, body: { error: message } };
    case 'fastapi':
      return { kind: 'status', status, body: { detail: message } };
  }
}

/** Rough prompt tokens of a request (4 characters a token), as the mock counts them. */
export function promptTokens(request: MockRequest): number {
  let chars = 0;
  for (const m of request.body.messages ?? []) chars += typeof m.content === 'string' ? m.content.length : 0;
  return Math.ceil(chars / 4);
}

/** The completion cap a request asked for, under either name. */
export function requestedCap(request: MockRequest): number | undefined {
  const value = request.body.max_completion_tokens ?? request.body.max_tokens;
  return typeof value === 'number' ? value : undefined;
}

/**
 * OpenAI's reasoning models (gpt-5, o3): 400 `unsupported_parameter` on `max_tokens`, 400
 * `unsupported_value` on a temperature other than 1, in OpenAI's shape; otherwise `handler`.
 */
export function openAiReasoningModel(handler: MockHandler): MockHandler {
  return (request, index) => {
    const body = request.body;
    if (body.max_tokens !== undefined) {
      return serverError('openai', 400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", {
        param: 'max_tokens',
        code: 'unsupported_parameter',
      });
    }
    if (body.temperature !== undefined && body.temperature !== 1) {
      return serverError('openai', 400, `Unsupported value: 'temperature' does not support ${body.temperature} with this model. Only the default (1) value is supported.`, {
        param: 'temperature',
        code: 'unsupported_value',
      });
    }
    return handler(request, index);
  };
}

/**
 * A model with a context of `contextTokens`: a request whose prompt plus requested cap does not
 * fit gets the 400 that `server` sends (with the figures where that server gives them).
 */
export function contextLimit(server: ServerKind, contextTokens: number, handler: MockHandler): MockHandler {
  return (request, index) => {
    const prompt = promptTokens(request);
    const cap = requestedCap(request) ?? 0;
    if (prompt + cap <= contextTokens) return handler(request, index);
    switch (server) {
      case 'openai':
        return serverError('openai', 400, `This model's maximum context length is ${contextTokens} tokens. However, you requested ${prompt + cap} tokens (${prompt} in the messages, ${cap} in the completion). Please reduce the length of the messages or completion.`, {
          param: 'messages',
          code: 'context_length_exceeded',
        });
      case 'vllm':
        return serverError('vllm', 400, `'max_tokens' or 'max_completion_tokens' is too large: ${cap}. This model's maximum context length is ${contextTokens} tokens and your request has ${prompt} input tokens (${cap} > ${contextTokens} - ${prompt}).`);
      case 'vllm-legacy':
        return serverError('vllm-legacy', 400, `This model's maximum context length is ${contextTokens} tokens. However, you requested ${prompt + cap} tokens (${prompt} in the messages, ${cap} in the completion). Please reduce the length of the messages or completion.`);
      case 'sglang':
        return serverError('sglang', 400, `Requested token count exceeds the model's maximum context length of ${contextTokens} tokens. You requested a total of ${prompt + cap} tokens: ${prompt} tokens from the input messages and ${cap} tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.`);
      case 'llamacpp':
        return {
          kind: 'status',
          status: 400,
          body: { error: { code: 400, message: `request (${prompt} tokens) exceeds the available context size (${contextTokens} tokens), try increasing it`, type: 'exceed_context_size_error', n_prompt_tokens: prompt, n_ctx: contextTokens } },
        };
      case 'ollama-native':
      case 'fastapi':
        return serverError(server, 400, `the input length exceeds the context length (${contextTokens} tokens)`);
    }
  };
}

/**
 * A server whose own default completion cap is `defaultCap` tokens: without a cap in the
 * request (or with a larger one than it allows) the answer of `handler` is cut at that many
 * tokens (4 characters each) with `finish_reason: "length"`.
 */
export function defaultCompletionCap(defaultCap: number, handler: MockHandler): MockHandler {
  return async (request, index) => {
    const reply = await handler(request, index);
    if (reply.kind !== 'text' || typeof reply.content !== 'string') return reply;
    const cap = requestedCap(request) ?? defaultCap;
    const maxChars = cap * 4;
    if (reply.content.length <= maxChars) return reply;
    return { ...reply, content: reply.content.slice(0, maxChars), finishReason: 'length' };
  };
}


/**
 * Ollama's OpenAI-compatible API with a context of `numCtx` tokens (its default is 4,096 on
 * machines under 24 GiB of VRAM): a longer prompt is not refused but cut from the start, the
 * handler sees only the kept tail, and `usage.prompt_tokens` reports the tokens kept.
 */
export function ollamaContext(numCtx: number, handler: MockHandler): MockHandler {
  return async (request, index) => {
    const prompt = promptTokens(request);
    if (prompt <= numCtx) return handler(request, index);
    // Drop characters from the front, message by message, until the rest fits.
    let drop = (prompt - numCtx) * 4;
    const messages = (request.body.messages ?? []).map((m) => {
      if (drop <= 0 || typeof m.content !== 'string') return m;
      const cut = Math.min(drop, m.content.length);
      drop -= cut;
      return { ...m, content: m.content.slice(cut) };
    });
    const truncated: MockRequest = { ...request, body: { ...request.body, messages } };
    const reply = await handler(truncated, index);
    if (reply.kind !== 'text') return reply;
    const completion = Math.ceil((reply.content ?? '').length / 4);
    return { ...reply, usage: { prompt_tokens: promptTokens(truncated), completion_tokens: completion } };
  };
}

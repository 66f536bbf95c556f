/**
 * A stage's {@link CompletionRequest} as a backend {@link ChatRequest}, and the request's
 * cache key. The key's inputs must not change: run directories' caches depend on them.
 */
import type { Message } from '../records.js';
import type { ChatMessage, ChatRequest } from './backend.js';
import { cacheKey } from './cache.js';
import { encodedStringsOf } from './canonical-json.js';
import type { ResponseFormat } from './structured.js';
import type { CompletionRequest } from './types.js';

/** A record message with OpenAI wire members only (strict servers refuse unknown ones such as reasoning_content). */
export function toWireMessage(message: Message): ChatMessage {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant': {
      const out: ChatMessage = { role: 'assistant', content: message.content ?? null };
      if (message.tool_calls !== undefined && message.tool_calls.length > 0) out.tool_calls = message.tool_calls;
      return out;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.tool_call_id, content: message.content };
  }
}

/** The wire request for `model`; unset parameters are left out, and an empty tool list too. */
export function buildChatRequest(
  request: CompletionRequest,
  model: string,
  responseFormat: ResponseFormat | undefined,
  reasoningEffort?: string | undefined,
): ChatRequest {
  const chat: ChatRequest = { model, messages: request.messages.map(toWireMessage) };
  if (request.tools !== undefined && request.tools.length > 0) chat.tools = request.tools;
  if (responseFormat !== undefined) chat.response_format = responseFormat;
  if (request.temperature !== undefined) chat.temperature = request.temperature;
  if (request.top_p !== undefined) chat.top_p = request.top_p;
  if (request.max_tokens !== undefined) chat.max_tokens = request.max_tokens;
  if (request.seed !== undefined) chat.seed = request.seed;
  if (reasoningEffort !== undefined) chat.reasoning_effort = reasoningEffort;
  return chat;
}

/** The response cache key of a request: everything that determines the answer, plus the sample index. */
export function chatCacheKey(chat: ChatRequest, sampleIndex: number | undefined): string {
  // The body (http-backend.ts) reuses the bytes of the long strings the key encoded.
  return cacheKey({
    model: chat.model,
    messages: chat.messages,
    tools: chat.tools,
    response_format: chat.response_format,
    temperature: chat.temperature,
    top_p: chat.top_p,
    max_tokens: chat.max_tokens,
    seed: chat.seed,
    // Left out when unset, so keys written before the option existed still match.
    reasoning_effort: chat.reasoning_effort,
    sampleIndex,
  }, encodedStringsOf(chat.messages));
}

/** Rough token count of a prompt, for budgets before the endpoint reports usage (4 characters a token). */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Estimated prompt tokens of a request (text members only). */
export function estimatePromptTokens(chat: ChatRequest): number {
  return estimateTokens(chat.messages.reduce((sum, m) => sum + (typeof m.content === 'string' ? m.content.length : 0), 0));
}

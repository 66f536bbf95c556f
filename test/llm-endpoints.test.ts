/**
 * Endpoints as they are: OpenAI's reasoning models, each server's error shape, context limits,
 * and servers with small default completion caps, against mock servers that answer as the real
 * ones do (src/testing/mock-endpoints.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { caught } from './helpers/caught.js';
import { errorObject, toOpenAiErrorBody } from '../src/llm/error-shapes.js';
import { FatalEndpointError, RequestRejectedError } from '../src/llm/errors.js';
import { createGateway, type Gateway, type GatewayEvent } from '../src/llm/gateway.js';
import { isOpenAiHost } from '../src/llm/http-backend.js';
import { ParamAdapter, refusedParameter } from '../src/llm/param-adapt.js';
import type { CompletionRequest } from '../src/llm/types.js';
import { contextLimit, defaultCompletionCap, openAiReasoningModel, serverError, type ServerKind } from '../src/testing/mock-endpoints.js';
import { startMockServer, textReply, type MockHandler, type MockServer } from '../src/testing/mock-server.js';

const servers: MockServer[] = [];
const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(handler: MockHandler, model = 'gpt-5'): Promise<{ server: MockServer; gateway: Gateway; notices: string[] }> {
  const server = await startMockServer({ handler });
  servers.push(server);
  const gateway = createGateway({ baseUrls: [server.url], apiKey: undefined, model, timeoutMs: 5000, backoffBaseMs: 0, backoffMaxMs: 0, maxRetries: 2 });
  gateways.push(gateway);
  const notices: string[] = [];
  gateway.onEvent((e: GatewayEvent) => {
    if (e.type === 'notice') notices.push(e.message);
  });
  return { server, gateway, notices };
}

const ask = (content: string, extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  stage: 'generate',
  messages: [{ role: 'user', content }],
  temperature: 0.7,
  max_tokens: 1000,
  ...extra,
});

describe('OpenAI reasoning models', () => {
  it('adapts max_tokens and temperature once per model, retries at once, and says so once', async () => {
    const { server, gateway, notices } = await setup(openAiReasoningModel(() => textReply('hi')));
    expect((await gateway.complete(ask('one'))).text).toBe('hi');
    // 400 on max_tokens, 400 on temperature, then the answer.
    expect(server.count).toBe(3);
    const last = server.requests[2]?.body;
    expect(last?.max_tokens).toBeUndefined();
    expect(last?.max_completion_tokens).toBe(1000);
    expect(last?.temperature).toBeUndefined();
    // Remembered for the model: later calls, concurrent ones too, go right the first time.
    await Promise.all(['two', 'three', 'four'].map((c) => gateway.complete(ask(c))));
    expect(server.count).toBe(6);
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/gpt-5.*max_tokens.*max_completion_tokens/);
    expect(notices[1]).toMatch(/gpt-5.*temperature.*leaves temperature out/);
    // Not a failure of the endpoint: no retries counted, nothing failed.
    expect(gateway.stats().retries).toBe(0);
    expect(gateway.usage().totals.failed_calls ?? 0).toBe(0);
  });

  it('adapts concurrent first calls without repeating the notice', async () => {
    const { server, gateway, notices } = await setup(openAiReasoningModel(() => textReply('ok')));
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => gateway.complete(ask(`q${i}`))));
    expect(results.every((r) => r.text === 'ok')).toBe(true);
    expect(notices).toHaveLength(2);
    expect(server.requests.filter((r) => r.body.temperature === undefined && r.body.max_tokens === undefined)).toHaveLength(6);
  });

  it('sends reasoning_effort when configured, and drops it where refused', async () => {
    const handler: MockHandler = (request) =>
      request.body.reasoning_effort !== undefined
        ? serverError('vllm-legacy', 400, "reasoning_effort: Extra inputs are not permitted", {})
        : textReply('fine');
    const server = await startMockServer({ handler });
    servers.push(server);
    const gateway = createGateway({ baseUrls: [server.url], apiKey: undefined, model: 'qwen', reasoningEffort: 'low', maxRetries: 0 });
    gateways.push(gateway);
    expect((await gateway.complete(ask('x'))).text).toBe('fine');
    expect(server.requests[0]?.body.reasoning_effort).toBe('low');
    expect(server.requests[1]?.body.reasoning_effort).toBeUndefined();
  });

  it('sends the cap as max_completion_tokens to OpenAI from the first call', () => {
    expect(isOpenAiHost('https://api.openai.com/v1')).toBe(true);
    expect(isOpenAiHost('https://my-resource.openai.azure.com/openai')).toBe(true);
    expect(isOpenAiHost('http://127.0.0.1:8000/v1')).toBe(false);
    const adapter = new ParamAdapter('max_completion_tokens', undefined);
    expect(adapter.wire({ model: 'gpt-5', messages: [], max_tokens: 10, temperature: 0 })).toEqual({ model: 'gpt-5', messages: [], max_completion_tokens: 10, temperature: 0 });
  });

  it('leaves other 400s alone: a refused response_format stays fatal', () => {
    const sent = { model: 'm', messages: [], temperature: 0.5 };
    expect(refusedParameter({ code: 'unsupported_parameter', param: 'response_format', message: "Unsupported parameter: 'response_format'" }, sent)).toBeUndefined();
    // A parameter the request did not carry is not the one refused.
    expect(refusedParameter({ message: "Unsupported parameter: 'top_p' is not supported with this model." }, sent)).toBeUndefined();
    expect(refusedParameter({ message: "Unsupported value: 'temperature' does not support 0.5 with this model." }, sent)).toBe('temperature');
  });
});

const SERVERS: ServerKind[] = ['openai', 'vllm', 'vllm-legacy', 'sglang', 'llamacpp', 'ollama-native', 'fastapi'];

describe('error text from every server', () => {
  it.each(SERVERS)('%s: the server message reaches the error', async (kind) => {
    const { gateway } = await setup(() => serverError(kind, 400, 'messages.0.role: input should be system, user or assistant'), 'm');
    const error = await caught(() => gateway.complete(ask('x')));
    expect(error).toBeInstanceOf(FatalEndpointError);
    expect(error.message).toContain('input should be system, user or assistant');
    expect(error.message).not.toContain('(no message)');
  });

  it('reads FastAPI validation lists and proxy HTML pages', () => {
    expect(errorObject({ detail: [{ loc: ['body', 'reasoning_effort'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }] })).toEqual({
      message: 'reasoning_effort: Extra inputs are not permitted',
      type: 'extra_forbidden',
      param: 'reasoning_effort',
    });
    expect(JSON.parse(toOpenAiErrorBody('<html><head><title>413 Request Entity Too Large</title></head><body><h1>413</h1></body></html>') ?? '')).toEqual({
      error: { message: '413 Request Entity Too Large 413' },
    });
    // Already OpenAI-shaped: untouched.
    expect(toOpenAiErrorBody('{"error":{"message":"x","code":"y"}}')).toBeUndefined();
    expect(errorObject({ error: 'model "q" not found, try pulling it first' })).toEqual({ message: 'model "q" not found, try pulling it first' });
  });
});

describe('context limits', () => {
  it.each(SERVERS)('%s: a prompt too long for the context rejects that record only', async (kind) => {
    const { server, gateway } = await setup(contextLimit(kind, 500, () => textReply('short answer')), 'm');
    const error = await caught(() => gateway.complete(ask('x'.repeat(4000), { max_tokens: undefined })));
    expect(error).toBeInstanceOf(RequestRejectedError);
    expect((error as RequestRejectedError).check).toBe('llm_context_length');
    // The run goes on: the next record is answered.
    expect((await gateway.complete(ask('short', { max_tokens: undefined }))).text).toBe('short answer');
    expect(server.count).toBe(2);
  });

  it.each(['openai', 'vllm', 'vllm-legacy', 'sglang'] as ServerKind[])('%s: a cap that does not fit beside the prompt is lowered for that request', async (kind) => {
    const { server, gateway } = await setup(contextLimit(kind, 4096, () => textReply('fits')), 'm');
    const prompt = 'y'.repeat(4000); // 1000 tokens as the mock counts
    expect((await gateway.complete(ask(prompt, { max_tokens: 16_000 }))).text).toBe('fits');
    expect(server.count).toBe(2);
    expect(server.requests[1]?.body.max_tokens).toBe(4096 - 1000);
    // Not remembered: the next request asks for its own cap again.
    await gateway.complete(ask('short', { max_tokens: 2000 }));
    expect(server.requests[2]?.body.max_tokens).toBe(2000);
  });
});

describe('servers with a small default completion cap', () => {
  it('cuts an answer off when no cap is sent, and not when the stage sends its own', async () => {
    const long = 'z'.repeat(4096 * 4 + 400);
    const { gateway } = await setup(defaultCompletionCap(4096, () => textReply(long)), 'm');
    expect((await gateway.complete(ask('a', { max_tokens: undefined }))).finishReason).toBe('length');
    const capped = await gateway.complete(ask('b', { max_tokens: 16_384 }));
    expect(capped.finishReason).toBe('stop');
    expect(capped.text).toBe(long);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGateway, type Gateway, type GatewayInit } from '../src/llm/gateway.js';
import { wireSchema } from '../src/llm/field-guide.js';
import { isStrictCompatible, parseJsonAnswer, stripThinking, toJsonSchema } from '../src/llm/structured.js';
import type { StructuredOutputMode } from '../src/llm/types.js';
import { jsonReply, lastUserContent, startMockServer, textReply, type MockHandler, type MockServer } from '../src/testing/mock-server.js';

const Answer = z.object({ name: z.string(), count: z.number().int() });

describe('parseJsonAnswer', () => {
  it('strips a think block and markdown fences', () => {
    const text = '<think>Let me think {about} it...</think>\nHere you go:\n```json\n{"name": "a", "count": 2}\n```\nDone.';
    expect(parseJsonAnswer(text)).toEqual({ ok: true, value: { name: 'a', count: 2 }, repaired: false });
  });

  it('drops text before a lone closing think tag and an unclosed leading tag', () => {
    expect(stripThinking('reasoning here</think>{"a":1}')).toBe('{"a":1}');
    expect(parseJsonAnswer('<think>\n{"a": 1}').ok).toBe(true);
  });

  it('finds the JSON inside prose, preferring the longest top-level value', () => {
    expect(parseJsonAnswer('Sure! See [1]. {"name":"x","count":1} Hope that helps {ok}')).toMatchObject({
      ok: true,
      value: { name: 'x', count: 1 },
    });
    expect(parseJsonAnswer('[1, 2, 3]')).toMatchObject({ ok: true, value: [1, 2, 3] });
    // Opens with a value but holds two: the longer one still wins.
    expect(parseJsonAnswer('{"a":1} {"b":2,"c":3}')).toMatchObject({ ok: true, value: { b: 2, c: 3 }, repaired: false });
  });

  it('repairs truncated and sloppy JSON', () => {
    const truncated = parseJsonAnswer('{"name": "a", "items": [{"x": 1}, {"x": 2');
    expect(truncated).toMatchObject({ ok: true, repaired: true, value: { name: 'a', items: [{ x: 1 }, { x: 2 }] } });
    expect(parseJsonAnswer("{'name': 'a', count: 2,}")).toMatchObject({ ok: true, value: { name: 'a', count: 2 } });
  });

  it('reports empty and JSON-less answers', () => {
    expect(parseJsonAnswer('')).toMatchObject({ ok: false, error: 'the answer is empty' });
    expect(parseJsonAnswer('<think>hmm</think>')).toMatchObject({ ok: false });
    expect(parseJsonAnswer('no json here')).toMatchObject({ ok: false });
  });
});

describe('JSON Schema for response_format', () => {
  it('drops $schema and computes strict compatibility', () => {
    const strict = toJsonSchema(Answer);
    expect(strict.schema.$schema).toBeUndefined();
    expect(strict.strict).toBe(true);
    expect(toJsonSchema(z.object({ a: z.string().optional() })).strict).toBe(false);
    expect(toJsonSchema(z.object({ a: z.record(z.string(), z.number()) })).strict).toBe(false);
    expect(toJsonSchema(z.object({ a: z.array(z.object({ b: z.string() }).passthrough()) })).strict).toBe(false);
    expect(toJsonSchema(z.object({ a: z.array(z.object({ b: z.string().nullable() })) })).strict).toBe(true);
    expect(isStrictCompatible({})).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

let server: MockServer | undefined;
let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  await server?.close();
  gateway = undefined;
  server = undefined;
});

async function setup(handler: MockHandler, init: Partial<GatewayInit> = {}): Promise<{ server: MockServer; gateway: Gateway }> {
  server = await startMockServer({ handler });
  gateway = createGateway({
    baseUrls: [server.url],
    apiKey: 'sk-test-SECRET-123456789',
    model: 'mock-model',
    timeoutMs: 2000,
    backoffBaseMs: 5,
    backoffMaxMs: 50,
    maxRetries: 2,
    ...init,
  });
  return { server, gateway };
}

const request = {
  stage: 'extract' as const,
  messages: [
    { role: 'system' as const, content: 'You extract things.' },
    { role: 'user' as const, content: 'Text: apples.' },
  ],
  schema: Answer,
  schemaName: 'answer',
};

describe('structured()', () => {
  it('accepts an answer wrapped in a think block and fences', async () => {
    const { gateway } = await setup(() => textReply('<think>ok</think>```json\n{"name":"apples","count":3}\n```'));
    const result = await gateway.structured(request);
    expect(result).toMatchObject({ ok: true, value: { name: 'apples', count: 3 }, attempts: 1 });
  });

  it('repairs truncated JSON without a re-ask when the model stopped normally', async () => {
    const { server, gateway } = await setup(() => textReply('{"name": "apples", "count": 3'));
    const result = await gateway.structured(request);
    expect(result).toMatchObject({ ok: true, value: { name: 'apples', count: 3 }, attempts: 1 });
    expect(server.count).toBe(1);
  });

  it('re-asks with the validation errors, then accepts the corrected answer', async () => {
    const { server, gateway } = await setup((_req, i) =>
      i === 0 ? jsonReply({ name: 'apples', count: 'three' }) : jsonReply({ name: 'apples', count: 3 }),
    );
    const result = await gateway.structured(request);
    expect(result).toMatchObject({ ok: true, value: { name: 'apples', count: 3 }, attempts: 2 });
    expect(server.count).toBe(2);
    const reask = server.requests[1]!.body.messages!;
    expect(reask).toHaveLength(4);
    expect(reask[2]).toMatchObject({ role: 'assistant', content: '{"name":"apples","count":"three"}' });
    expect(reask[3]!.role).toBe('user');
    expect(reask[3]!.content).toContain('count: ');
    expect(reask[3]!.content).toContain('JSON only');
    // Usage sums both attempts.
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('gives up after maxRepairs and keeps the raw answer', async () => {
    const { server, gateway } = await setup(() => jsonReply({ name: 7 }));
    const result = await gateway.structured({ ...request, maxRepairs: 1 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.attempts).toBe(2);
    expect(result.raw).toBe('{"name":7}');
    expect(result.error).toContain('name: ');
    expect(result.error).toContain('count: ');
    expect(server.count).toBe(2);
  });

  it('truncates a huge raw answer to 20k characters', async () => {
    const { gateway } = await setup(() => textReply('x'.repeat(50_000)));
    const result = await gateway.structured({ ...request, maxRepairs: 0 });
    expect(result.ok).toBe(false);
    expect(result.raw).toHaveLength(20_000);
  });

  it('fails a cut-off (finish_reason length) answer at once, without a re-ask', async () => {
    const { server, gateway } = await setup((_req, i) =>
      i === 0 ? textReply('{"name": "apples", "cou', 'length') : jsonReply({ name: 'apples', count: 1 }),
    );
    const result = await gateway.structured(request);
    expect(result).toMatchObject({ ok: false, attempts: 1 });
    expect(result.ok ? '' : result.error).toContain('finish_reason "length"');
    expect(result.raw).toBe('{"name": "apples", "cou');
    expect(server.count).toBe(1);
  });

  it('an empty completion is re-asked', async () => {
    const { gateway } = await setup((_req, i) => (i === 0 ? textReply('') : jsonReply({ name: 'a', count: 1 })));
    expect(await gateway.structured(request)).toMatchObject({ ok: true, attempts: 2 });
  });

  const modes: StructuredOutputMode[] = ['json_schema', 'json_object', 'prompt'];
  for (const mode of modes) {
    it(`mode ${mode}: every request carries the mode's response_format and schema`, async () => {
      const { server, gateway } = await setup(
        (_req, i) => (i === 0 ? jsonReply({ wrong: true }) : jsonReply({ name: 'a', count: 1 })),
        { structuredOutput: mode },
      );
      expect((await gateway.structured(request)).ok).toBe(true);
      expect(server.count).toBe(2);
      for (const received of server.requests) {
        const body = received.body;
        if (mode === 'json_schema') {
          expect(body.response_format).toEqual({
            type: 'json_schema',
            json_schema: { name: 'answer', schema: wireSchema(toJsonSchema(Answer).schema), strict: true },
          });
          expect(JSON.stringify(body.response_format)).not.toContain('$schema');
          // Bounds are left out of the wire schema (zod gives every .int() a safe-integer range).
          expect(JSON.stringify(body.response_format)).not.toContain('maximum');
          // The model sees the fields even though the server only constrains decoding.
          expect(body.messages![0]!.content).toContain('- count (integer)');
        } else if (mode === 'json_object') {
          expect(body.response_format).toEqual({ type: 'json_object' });
          expect(body.messages![0]!.role).toBe('system');
          expect(body.messages![0]!.content).toContain('You extract things.');
          expect(body.messages![0]!.content).toContain('"count"');
          expect(body.messages![0]!.content).toContain('- count (integer)');
        } else {
          expect(body.response_format).toBeUndefined();
          expect(lastUserContent({ ...received, body: { messages: body.messages!.slice(0, 2) } })).toContain('"count"');
        }
      }
    });
  }
});

/**
 * Ollama's small default context (issue 12, A6): its OpenAI-compatible API cuts a long prompt
 * from the start without an error. The gateway warns once when a prompt is larger than that
 * default on an Ollama endpoint, and once when the reported prompt tokens fall far below the
 * estimate (the mark of silent truncation), naming the setting that raises the context.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ContextWatch, isOllamaUrl } from '../src/llm/context-watch.js';
import { createGateway, type Gateway } from '../src/llm/gateway.js';
import { ollamaContext } from '../src/testing/mock-endpoints.js';
import { startMockServer, textReply, type MockServer } from '../src/testing/mock-server.js';

const servers: MockServer[] = [];
const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const long = (tokens: number) => 'Rule: refunds within 14 days of delivery. '.repeat(Math.ceil((tokens * 4) / 42));

describe('an Ollama endpoint that truncates silently', () => {
  it('warns once when the reported prompt tokens are far below the estimate, naming the setting', async () => {
    const seen: string[] = [];
    const server = await startMockServer({
      handler: ollamaContext(4096, (request) => {
        seen.push(String(request.body.messages?.[0]?.content ?? ''));
        return textReply('{"ok":true}');
      }),
    });
    servers.push(server);
    const gateway = createGateway({ baseUrls: [server.url], apiKey: undefined, model: 'qwen3:8b', timeoutMs: 5000, maxRetries: 0 });
    gateways.push(gateway);
    const notices: string[] = [];
    gateway.onEvent((e) => {
      if (e.type === 'notice') notices.push(e.message);
    });
    const ask = (content: string) => gateway.complete({ stage: 'generate', messages: [{ role: 'system', content: 'INSTRUCTIONS FIRST. ' + content }, { role: 'user', content: 'go' }], temperature: 0.7 });

    await ask('short');
    expect(notices).toEqual([]);
    const answer = await ask(long(9000));
    // The server answered as if nothing happened, from a prompt that lost its start.
    expect(answer.text).toBe('{"ok":true}');
    expect(seen[1]?.startsWith('INSTRUCTIONS FIRST')).toBe(false);
    expect(answer.usage.prompt_tokens).toBeLessThanOrEqual(4096);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/counted \d+ prompt tokens for a prompt of about 9\d{3}/);
    expect(notices[0]).toContain('OLLAMA_CONTEXT_LENGTH=32768');
    expect(notices[0]).toContain('num_ctx');
    await ask(long(12_000));
    expect(notices).toHaveLength(1);
  });
});

describe('ContextWatch', () => {
  it('recognises Ollama by its port', () => {
    expect(isOllamaUrl('http://localhost:11434/v1')).toBe(true);
    expect(isOllamaUrl('http://gpu-box:11434/v1')).toBe(true);
    expect(isOllamaUrl('http://localhost:8000/v1')).toBe(false);
    expect(isOllamaUrl('https://api.openai.com/v1')).toBe(false);
    expect(isOllamaUrl('not a url')).toBe(false);
  });

  it('on Ollama, warns once before sending a prompt above 4,096 tokens', () => {
    const notices: string[] = [];
    const watch = new ContextWatch(['http://localhost:11434/v1'], (m) => notices.push(m));
    watch.beforeSend(3000);
    expect(notices).toEqual([]);
    watch.beforeSend(7000);
    watch.beforeSend(9000);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/about 7000 tokens goes to Ollama, whose default context is 4096 tokens/);
    expect(notices[0]).toContain('OLLAMA_CONTEXT_LENGTH=32768 ollama serve');
  });

  it('elsewhere, says nothing about size, and nothing when the counts agree', () => {
    const notices: string[] = [];
    const watch = new ContextWatch(['http://localhost:8000/v1'], (m) => notices.push(m));
    watch.beforeSend(20_000);
    watch.afterResponse(20_000, 17_500, 'm');
    watch.afterResponse(500, 100, 'm'); // too small to judge
    watch.afterResponse(20_000, undefined, 'm');
    expect(notices).toEqual([]);
    watch.afterResponse(20_000, 4096, 'm');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('on Ollama: raise it on the server');
  });
});

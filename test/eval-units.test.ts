/** The pieces of `gemtraj eval`: reading a model's turn, the ask rule, turn kinds, the judge. */
import { describe, expect, it } from 'vitest';
import { readModelTurn } from '../src/eval/answer.js';
import { asksUser } from '../src/eval/ask.js';
import { mcnemarP } from '../src/eval/compare.js';
import { replayTurn } from '../src/eval/replay.js';
import { turnsOf } from '../src/eval/turns.js';
import type { CompletionRequest, CompletionResult, LlmClient, StructuredRequest, StructuredResult } from '../src/llm/types.js';
import type { Trajectory } from '../src/records.js';

describe('readModelTurn', () => {
  it('prefers native tool calls and parses their arguments', () => {
    const t = readModelTurn('', [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{"x": 1}' } }]);
    expect(t).toEqual({ calls: [{ name: 'f', arguments: { x: 1 } }], text: '', via: 'native', problems: [] });
  });

  it('keeps a native call with broken arguments as a call that matches nothing', () => {
    const t = readModelTurn('', [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{"x": ' } }]);
    expect(t.calls).toEqual([{ name: 'f', arguments: undefined }]);
    expect(t.problems[0]).toContain('f: arguments is not JSON');
  });

  it('reads Hermes <tool_call> blocks, several of them, after a think block', () => {
    const text = '<think>the user wants two</think>Sure.\n<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>\n<tool_call>{"name": "g", "arguments": "{\\"y\\": 2}"}</tool_call>';
    const t = readModelTurn(text, undefined);
    expect(t.via).toBe('hermes');
    expect(t.calls).toEqual([
      { name: 'f', arguments: { x: 1 } },
      { name: 'g', arguments: { y: 2 } },
    ]);
    expect(t.text).toBe('Sure.');
  });

  it('counts an unreadable block as an attempted call', () => {
    const t = readModelTurn('<tool_call>not json at all</tool_call>', undefined);
    expect(t.calls).toHaveLength(1);
    expect(t.problems).toHaveLength(1);
  });

  it('reads a reply that is only a JSON call (Llama 3.1 style), and leaves other JSON as text', () => {
    expect(readModelTurn('{"name": "f", "parameters": {"x": 1}}', undefined)).toMatchObject({ calls: [{ name: 'f', arguments: { x: 1 } }], via: 'json' });
    expect(readModelTurn('{"status": "ok"}', undefined)).toMatchObject({ calls: [], via: 'none' });
  });

  it('reads plain text as text', () => {
    expect(readModelTurn('<think>x</think>Hello!', [])).toEqual({ calls: [], text: 'Hello!', via: 'none', problems: [] });
  });
});

describe('asksUser', () => {
  it.each([
    ['Could you give me your order id?', true],
    ['Please provide the booking code so I can look it up.', true],
    ['I need your email address to continue.', true],
    ['Which of the two flights do you prefer', false],
    ['Your refund is done. Is there anything else I can help you with?', false],
    ['Done! How else can I help?', false],
    ['Your order A17 has shipped.', false],
    ['Your order has shipped. Would you like me to cancel the other one?', true],
  ])('%s → %s', (text, asks) => {
    expect(asksUser(text)).toBe(asks);
  });
});

const trajectory: Trajectory = {
  id: 't',
  source: { doc_id: 'd' },
  tools: [],
  messages: [
    { role: 'system', content: 's' },
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'What is your order number?' },
    { role: 'user', content: 'A1' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } },
        { id: 'c2', type: 'function', function: { name: 'g', arguments: '{}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'c1', content: '{}' },
    { role: 'tool', tool_call_id: 'c2', content: '{}' },
    { role: 'assistant', content: 'Done.' },
  ],
};

describe('turnsOf', () => {
  it('makes one turn per assistant message with the messages before it', () => {
    const turns = turnsOf(trajectory);
    expect(turns.map((t) => [t.id, t.kind, t.prefix.length])).toEqual([
      ['t#2', 'ask', 2],
      ['t#4', 'parallel', 4],
      ['t#7', 'answer', 7],
    ]);
    expect(turns[0]).toMatchObject({ domain: '(none)', patterns: ['(none)'] });
  });
});

/** A client that answers the evaluated turn with `reply` and the judge with `verdict`. */
function client(reply: string, verdict?: { asks: boolean; reason: string }): LlmClient & { stages: string[] } {
  const stages: string[] = [];
  const usage = { prompt_tokens: 1, completion_tokens: 1 };
  return {
    stages,
    modelFor: () => 'm',
    complete(request: CompletionRequest): Promise<CompletionResult> {
      stages.push(request.stage);
      return Promise.resolve({ text: reply, finishReason: 'stop', usage, model: 'm', cached: false });
    },
    structured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
      stages.push(request.stage);
      if (verdict === undefined) return Promise.resolve({ ok: false, error: 'bad', raw: '', model: 'j', usage, attempts: 1 });
      return Promise.resolve({ ok: true, value: request.schema.parse(verdict), raw: '', model: 'j', usage, attempts: 1 });
    },
  };
}

describe('replayTurn with a judge', () => {
  const ask = turnsOf(trajectory)[0];
  if (ask === undefined) throw new Error('no turn');

  it('lets the judge decide an ask turn the rule would pass', async () => {
    const judge = client('', { asks: false, reason: 'asks for the email, not the order number' });
    const score = await replayTurn(ask, client('What is your email?'), { judge });
    expect(score).toMatchObject({ kind: 'ask', ask_ok: false, ask_by: 'judge', judge_reason: 'asks for the email, not the order number', correct: false });
    expect(judge.stages).toEqual(['eval_judge']);
  });

  it('falls back to the rule when the judge answers nothing usable', async () => {
    const score = await replayTurn(ask, client('Which order number is it?'), { judge: client('') });
    expect(score).toMatchObject({ ask_ok: true, ask_by: 'rule', correct: true });
  });

  it('does not ask the judge about a call', async () => {
    const judge = client('', { asks: true, reason: '' });
    const score = await replayTurn(ask, client('<tool_call>{"name": "f", "arguments": {}}</tool_call>'), { judge });
    expect(score).toMatchObject({ decision_ok: false, correct: false });
    expect(judge.stages).toEqual([]);
  });
});

describe('mcnemarP', () => {
  it('is the exact two-sided binomial test on the discordant turns', () => {
    expect(mcnemarP(0, 0)).toBeNull();
    expect(mcnemarP(1, 0)).toBe(1);
    // 0 of 10 discordant for A: 2 * 0.5^10
    expect(mcnemarP(0, 10)).toBeCloseTo(2 / 1024, 10);
    // 2 vs 8: 2 * (1 + 10 + 45) / 1024 (R: binom.test(2, 10)$p.value = 0.109375)
    expect(mcnemarP(8, 2)).toBeCloseTo(0.109375, 10);
    // large n stays finite and symmetric
    expect(mcnemarP(1000, 1100)).toBeCloseTo(mcnemarP(1100, 1000) as number, 12);
    expect(mcnemarP(1000, 1100)).toBeGreaterThan(0.01);
    expect(mcnemarP(1000, 1100)).toBeLessThan(0.05);
  });
});

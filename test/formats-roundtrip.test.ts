import { describe, expect, it } from 'vitest';
import { canonicalCallIds } from '../src/formats/common.js';
import { fromHermes, toHermes, toHermesWithNotes } from '../src/formats/hermes.js';
import { fromOpenAI, toOpenAI } from '../src/formats/openai.js';
import { fromSftPair, toSftPair } from '../src/formats/sft-pairs.js';
import { SYNTHESIZER_INSTRUCTION } from '../src/prompts/synthesize.js';
import { datasetInfoEntry, fromShareGPT, toShareGPT, toShareGPTWithNotes } from '../src/formats/sharegpt.js';
import { ExportError } from '../src/formats/types.js';
import type { Trajectory } from '../src/records.js';
import { richTrajectory, simpleTrajectory } from './formats-fixture.js';

function conv(t: Trajectory): { messages: Trajectory['messages']; tools: Trajectory['tools'] } {
  return { messages: t.messages, tools: t.tools };
}
function imported(r: ReturnType<typeof fromOpenAI>): Trajectory {
  if (!r.ok) throw new Error(r.error);
  return r.trajectory;
}

describe('openai', () => {
  it('round-trips conversation and tools exactly', () => {
    const x = richTrajectory();
    const back = imported(fromOpenAI(JSON.parse(JSON.stringify(toOpenAI(x)))));
    expect(conv(back)).toEqual(conv(x));
    expect(back.meta?.stage).toBe('imported');
  });
  it('accepts a gemtraj trajectory line unchanged', () => {
    const x = richTrajectory();
    expect(imported(fromOpenAI(JSON.parse(JSON.stringify(x))))).toEqual(x);
  });
  it('fills missing call ids, object arguments and content parts', () => {
    const r = imported(
      fromOpenAI({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
          { role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] },
          { role: 'tool', content: 'ok' },
        ],
        tools: [{ name: 'f', parameters: { type: 'dict', properties: { a: { type: 'int' } } } }],
      }),
    );
    expect(r.messages[0]).toEqual({ role: 'user', content: 'hi' });
    expect(r.messages[1]).toMatchObject({ tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] });
    expect(r.messages[2]).toMatchObject({ tool_call_id: 'call_1' });
    expect(r.tools[0]?.function.parameters).toEqual({ type: 'object', properties: { a: { type: 'integer' } } });
  });
  it('reports a bad record instead of throwing', () => {
    const r = fromOpenAI({ messages: [{ role: 'wizard', content: 'x' }] });
    expect(r).toEqual({ ok: false, error: expect.stringContaining('messages[0].role') });
  });
});

describe('hermes', () => {
  for (const role of ['tool', 'user'] as const) {
    it(`round-trips (results in ${role} messages), call ids canonical`, () => {
      const x = richTrajectory();
      const h = toHermes(x, { toolResultRole: role });
      expect(h.messages.every((m) => typeof m.content === 'string')).toBe(true);
      const back = imported(fromHermes(JSON.parse(JSON.stringify(h))));
      expect(conv(back)).toEqual(conv(canonicalCallIds(x)));
    });
  }
  it('writes Qwen-style blocks', () => {
    const h = toHermes(richTrajectory());
    expect(h.messages[0]?.content).toContain('You are a support agent.');
    expect(h.messages[0]?.content).toContain('<tools>\n{"type": "function", "function": {"name": "lookup_order"');
    expect(h.messages[2]?.content).toBe(
      '<tool_call>\n{"name": "lookup_order", "arguments": {"order_id": "A17"}}\n</tool_call>\n<tool_call>\n{"name": "lookup_order", "arguments": {"order_id": "B2"}}\n</tool_call>',
    );
    // Tool responses in the user role by default, as the GEM paper trained.
    expect(h.messages[3]).toEqual({
      role: 'user',
      content: '<tool_response>\n{"status":"delivered","items":[1,2]}\n</tool_response>\n<tool_response>\n{"status":"shipped"}\n</tool_response>',
    });
  });
  it('tolerates spacing and a missing final close tag', () => {
    const r = imported(
      fromHermes({
        messages: [
          { role: 'system', content: 'Rules.\n<tools>\n[{"name":"f","parameters":{"type":"object","properties":{}}}]\n</tools>' },
          { role: 'user', content: 'go' },
          { role: 'assistant', content: 'Sure. < tool_call >  {"name": "f", "arguments": {"x": 1,}}  </tool_call >\n<tool_call>{"name":"f","arguments":"{\\"x\\":2}"}' },
          { role: 'user', content: '<tool_response>one</tool_response><tool_response>\ntwo\n</tool_response>' },
        ],
      }),
    );
    expect(r.tools.map((t) => t.function.name)).toEqual(['f']);
    expect(r.messages[0]).toEqual({ role: 'system', content: 'Rules.' });
    expect(r.messages[2]).toMatchObject({ content: 'Sure.', tool_calls: [{ function: { arguments: '{"x":1}' } }, { function: { arguments: '{"x":2}' } }] });
    expect(r.messages.slice(3)).toEqual([
      { role: 'tool', tool_call_id: 'call_1', content: 'one' },
      { role: 'tool', tool_call_id: 'call_2', content: 'two' },
    ]);
  });
  it('notes dropped reasoning', () => {
    const x = simpleTrajectory();
    x.messages[4] = { role: 'assistant', content: 'It was delivered.', reasoning_content: 'think' };
    expect(toHermesWithNotes(x).notes).toEqual(['messages[4]: reasoning_content dropped']);
  });
});

describe('sft-pairs', () => {
  it('round-trips through the synthesizer format', () => {
    const x = richTrajectory();
    const pair = toSftPair(x, 'Orders can be refunded once delivered.');
    expect(pair.messages[0]).toEqual({ role: 'user', content: `${SYNTHESIZER_INSTRUCTION}\n\nOrders can be refunded once delivered.` });
    const back = imported(fromSftPair(JSON.parse(JSON.stringify(pair))));
    expect(conv(back)).toEqual(conv(canonicalCallIds(x)));
  });
  it('refuses a record without source text', () => {
    expect(() => toSftPair(richTrajectory(), undefined)).toThrow(ExportError);
  });
  it('can put the prompt in the system role', () => {
    expect(toSftPair(richTrajectory(), 'text', { promptRole: 'system' }).messages[0].role).toBe('system');
  });
});

describe('sharegpt', () => {
  it('round-trips a conversation without parallel calls or text beside calls', () => {
    const x = simpleTrajectory();
    const out = toShareGPTWithNotes(x);
    expect(out.notes).toEqual([]);
    expect(out.record.conversations.map((c) => c.from)).toEqual(['human', 'function_call', 'observation', 'gpt', 'human', 'gpt']);
    expect(JSON.parse(out.record.conversations[1]!.value)).toEqual({ name: 'lookup_order', arguments: { order_id: 'A17' } });
    const back = imported(fromShareGPT(JSON.parse(JSON.stringify(out.record))));
    expect(conv(back)).toEqual(conv(canonicalCallIds(x)));
  });
  it('puts parallel calls in one turn and results in one JSON list, and says what it dropped', () => {
    const out = toShareGPTWithNotes(richTrajectory());
    const c = out.record.conversations;
    expect(c.map((t) => t.from)).toEqual(['human', 'function_call', 'observation', 'gpt', 'human', 'function_call', 'observation', 'gpt']);
    expect(JSON.parse(c[1]!.value)).toEqual([
      { name: 'lookup_order', arguments: { order_id: 'A17' } },
      { name: 'lookup_order', arguments: { order_id: 'B2' } },
    ]);
    expect(JSON.parse(c[2]!.value)).toEqual([{ status: 'delivered', items: [1, 2] }, { status: 'shipped' }]);
    expect(out.notes).toEqual(['messages[7]: assistant text alongside tool calls dropped']);
    // Import splits the list back over the two calls.
    const back = imported(fromShareGPT(out.record));
    expect(back.messages.filter((m) => m.role === 'tool').map((m) => m.role === 'tool' && m.tool_call_id)).toEqual(['call_1', 'call_2', 'call_3']);
    expect(back.messages[3]).toEqual({ role: 'tool', tool_call_id: 'call_1', content: '{"status":"delivered","items":[1,2]}' });
  });
  it('keeps LLaMA-Factory position rules: drops a trailing user turn, refuses an assistant opening', () => {
    const x = simpleTrajectory();
    x.messages.push({ role: 'user', content: 'bye' });
    const out = toShareGPTWithNotes(x);
    expect(out.record.conversations.at(-1)?.from).toBe('gpt');
    expect(out.notes).toEqual(['trailing human turn dropped (must end on the model)']);
    const y = simpleTrajectory();
    y.messages.splice(1, 0, { role: 'assistant', content: 'Hello!' });
    expect(() => toShareGPT(y)).toThrow(/alternate/);
  });
  it('writes a dataset_info.json entry', () => {
    expect(datasetInfoEntry('gem', 'gem.jsonl')).toEqual({
      gem: {
        file_name: 'gem.jsonl',
        formatting: 'sharegpt',
        columns: { messages: 'conversations', system: 'system', tools: 'tools' },
        tags: {
          role_tag: 'from',
          content_tag: 'value',
          user_tag: 'human',
          assistant_tag: 'gpt',
          observation_tag: 'observation',
          function_tag: 'function_call',
          system_tag: 'system',
        },
      },
    });
  });
});

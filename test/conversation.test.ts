import { describe, expect, it } from 'vitest';
import { MessageSchema, type AssistantMessage, type Message, type ToolMessage } from '../src/records.js';
import { TurnSchema, type Turn } from '../src/prompts/conversation.js';
import { assembleMessages, messagesToTurns, normalizeArguments } from '../src/stages/conversation.js';

const user = (content: string): Turn => ({ role: 'user', content, tool_calls: [] });
const say = (content: string): Turn => ({ role: 'assistant', content, tool_calls: [] });
const calls = (content: string, ...c: Array<[string, string | Record<string, unknown>]>): Turn => ({
  role: 'assistant',
  content,
  tool_calls: c.map(([name, args]) => ({ name, arguments: typeof args === 'string' ? args : JSON.stringify(args) })),
});
const result = (content: string | Record<string, unknown>): Turn => ({
  role: 'tool',
  content: typeof content === 'string' ? content : JSON.stringify(content),
  tool_calls: [],
});

function asAssistant(m: Message | undefined): AssistantMessage {
  if (m?.role !== 'assistant') throw new Error(`not an assistant message: ${JSON.stringify(m)}`);
  return m;
}
function asTool(m: Message | undefined): ToolMessage {
  if (m?.role !== 'tool') throw new Error(`not a tool message: ${JSON.stringify(m)}`);
  return m;
}

const SYSTEM = 'You are the support agent of Acme Air.\n- Verify the user before any change.';

describe('assembleMessages', () => {
  it('builds a system message, then the turns with call ids 1, 2, 3 … and linked results', () => {
    const msgs = assembleMessages(`  ${SYSTEM}  \n`, [
      user('I need to cancel my booking ABC123.'),
      calls('', ['get_reservation_details', { reservation_id: 'ABC123' }]),
      result({ reservation_id: 'ABC123', status: 'confirmed' }),
      say('Your booking is confirmed. Shall I cancel it?'),
      user('Yes.'),
      calls('', ['cancel_reservation', { reservation_id: 'ABC123' }]),
      result({ reservation_id: 'ABC123', status: 'cancelled' }),
      say('Done: ABC123 is cancelled.'),
    ]);
    expect(msgs).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'I need to cancel my booking ABC123.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_reservation_details', arguments: '{"reservation_id":"ABC123"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', name: 'get_reservation_details', content: '{"reservation_id":"ABC123","status":"confirmed"}' },
      { role: 'assistant', content: 'Your booking is confirmed. Shall I cancel it?' },
      { role: 'user', content: 'Yes.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'cancel_reservation', arguments: '{"reservation_id":"ABC123"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_2', name: 'cancel_reservation', content: '{"reservation_id":"ABC123","status":"cancelled"}' },
      { role: 'assistant', content: 'Done: ABC123 is cancelled.' },
    ]);
    for (const m of msgs) expect(MessageSchema.safeParse(m).success).toBe(true);
  });

  it('parallel calls get consecutive ids and their results link in order', () => {
    const msgs = assembleMessages(SYSTEM, [
      user('Compare both orders.'),
      calls('Looking up both.', ['get_order', { order_id: 'A' }], ['get_order', { order_id: 'B' }], ['get_user', { user_id: 'u1' }]),
      result({ order_id: 'A' }),
      result({ order_id: 'B' }),
      result({ user_id: 'u1' }),
      calls('', ['get_order', { order_id: 'C' }]),
      result({ order_id: 'C' }),
      say('Here they are.'),
    ]);
    const a = asAssistant(msgs[2]);
    expect(a.content).toBe('Looking up both.');
    expect(a.tool_calls?.map((c) => c.id)).toEqual(['call_1', 'call_2', 'call_3']);
    expect([3, 4, 5].map((i) => [asTool(msgs[i]).tool_call_id, asTool(msgs[i]).name])).toEqual([
      ['call_1', 'get_order'],
      ['call_2', 'get_order'],
      ['call_3', 'get_user'],
    ]);
    expect(asAssistant(msgs[6]).tool_calls?.[0]?.id).toBe('call_4');
    expect(asTool(msgs[7]).tool_call_id).toBe('call_4');
  });

  it('results with no pending call get unlinked_N ids and no name', () => {
    const msgs = assembleMessages('', [
      user('hi'),
      result({ stray: 1 }), // after a user turn: nothing pending
      calls('', ['get_order', { order_id: 'A' }]),
      result({ order_id: 'A' }),
      result({ extra: true }), // one more result than calls
      say('ok'),
      result('late'), // after a text-only assistant turn
    ]);
    const tools = msgs.filter((m): m is ToolMessage => m.role === 'tool');
    expect(tools.map((t) => t.tool_call_id)).toEqual(['unlinked_1', 'call_1', 'unlinked_2', 'unlinked_3']);
    expect(tools.map((t) => t.name)).toEqual([undefined, 'get_order', undefined, undefined]);
    expect('name' in tools[0]!).toBe(false);
  });

  it('a user turn between a call and its result leaves the result unlinked', () => {
    const msgs = assembleMessages('', [user('a'), calls('', ['f', {}]), user('wait'), result({ ok: true })]);
    expect(asTool(msgs[3]).tool_call_id).toBe('unlinked_1');
  });

  it('no system message when the system prompt is blank', () => {
    expect(assembleMessages('   \n', [user('hi')])).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('tool-only assistant turns have content null; text turns keep their text', () => {
    const msgs = assembleMessages('', [
      user('x'),
      calls('', ['f', {}]),
      result('{}'),
      calls('  \n ', ['f', {}]),
      result('{}'),
      calls('Checking now.', ['f', {}]),
      result('{}'),
      say(''),
    ]);
    expect(asAssistant(msgs[1]).content).toBeNull();
    expect(asAssistant(msgs[3]).content).toBeNull();
    expect(asAssistant(msgs[5]).content).toBe('Checking now.');
    // a text-only turn never gets null content, and has no tool_calls key
    const last = asAssistant(msgs[7]);
    expect(last.content).toBe('');
    expect('tool_calls' in last).toBe(false);
  });

  it('trims tool names and normalises arguments', () => {
    const msgs = assembleMessages('', [
      user('x'),
      calls(
        '',
        [' get_order \n', '{ "order_id" : "A1",\n "verbose": true }'],
        ['f', '"{\\"order_id\\": \\"A2\\"}"'], // doubly encoded
        ['f', "{order_id: 'A3', count: 2,}"], // repairable
        ['f', '{"order_id": "A4"'], // missing brace
        ['f', 'not json at all'],
        ['f', '[1, 2]'],
        ['f', ''],
      ),
    ]);
    const c = asAssistant(msgs[1]).tool_calls ?? [];
    expect(c.map((x) => x.function.name)).toEqual(['get_order', 'f', 'f', 'f', 'f', 'f', 'f']);
    expect(c.map((x) => x.function.arguments)).toEqual([
      '{"order_id":"A1","verbose":true}',
      '{"order_id":"A2"}',
      '{"order_id":"A3","count":2}',
      '{"order_id":"A4"}',
      'not json at all',
      '[1, 2]',
      '',
    ]);
  });

  it('tool results: JSON is compacted, other text is kept as given', () => {
    const msgs = assembleMessages('', [
      user('x'),
      calls('', ['a', {}], ['b', {}], ['c', {}], ['d', {}]),
      result('{\n  "status": "ok",\n  "items": [1, 2]\n}'),
      result('  [ {"a": 1} ]  '),
      result('Error: reservation not found'),
      result('{"broken": '),
    ]);
    expect([2, 3, 4, 5].map((i) => asTool(msgs[i]).content)).toEqual([
      '{"status":"ok","items":[1,2]}',
      '[{"a":1}]',
      'Error: reservation not found',
      '{"broken": ',
    ]);
  });

  it('does not trim user or assistant text', () => {
    const msgs = assembleMessages('', [user('  spaced  '), say('  answer  ')]);
    expect(msgs).toEqual([
      { role: 'user', content: '  spaced  ' },
      { role: 'assistant', content: '  answer  ' },
    ]);
  });
});

describe('normalizeArguments', () => {
  it.each([
    ['{"a":1}', '{"a":1}'],
    ['  {"a" : 1 , "b": [1, 2]}  ', '{"a":1,"b":[1,2]}'],
    ['"{\\"a\\":1}"', '{"a":1}'],
    ["{'a': 'x'}", '{"a":"x"}'],
    ['{a: 1}', '{"a":1}'],
    ['{"a": 1,}', '{"a":1}'],
    ['{"a":1', '{"a":1}'],
    ['{}', '{}'],
    ['{"nested": {"k": [true, null]}}', '{"nested":{"k":[true,null]}}'],
  ])('%s → %s', (raw, expected) => {
    expect(normalizeArguments(raw)).toBe(expected);
  });

  it.each(['null', '42', '"just a string"', '[1]', 'not json', ''])('leaves %j unchanged (not an object)', (raw) => {
    expect(normalizeArguments(raw)).toBe(raw);
  });

  it('keeps unicode and key order', () => {
    expect(normalizeArguments('{"z": "日本", "a": "é"}')).toBe('{"z":"日本","a":"é"}');
  });
});

describe('messagesToTurns', () => {
  const TURNS: Turn[] = [
    user('I want to return item 7 of order W1.'),
    calls('', ['get_order_details', { order_id: 'W1' }]),
    result({ order_id: 'W1', status: 'delivered', items: [{ item_id: '7' }] }),
    calls('Let me check both.', ['get_product', { product_id: 'P1' }], ['get_user', { user_id: 'u' }]),
    result({ product_id: 'P1' }),
    result({ user_id: 'u' }),
    say('Item 7 can be returned. Confirm?'),
    user('Yes'),
    calls('', ['return_items', { order_id: 'W1', item_ids: ['7'] }]),
    result({ error: 'Return window closed' }),
    say('The return window has closed.'),
  ];

  it('round-trips: turns → messages → turns → the same messages', () => {
    const msgs = assembleMessages(SYSTEM, TURNS);
    const back = messagesToTurns(msgs);
    expect(back.systemPrompt).toBe(SYSTEM);
    expect(back.turns).toEqual(TURNS);
    expect(assembleMessages(back.systemPrompt, back.turns)).toEqual(msgs);
    for (const t of back.turns) expect(TurnSchema.safeParse(t).success).toBe(true);
  });

  it('null or absent assistant content becomes "" and absent tool_calls become []', () => {
    const back = messagesToTurns([
      { role: 'user', content: 'u' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'x', content: '{}' },
      { role: 'assistant' },
    ]);
    expect(back.turns).toEqual([user('u'), { role: 'assistant', content: '', tool_calls: [{ name: 'f', arguments: '{}' }] }, result('{}'), say('')]);
    expect(back.systemPrompt).toBe('');
  });

  it('joins several system messages with a blank line', () => {
    const back = messagesToTurns([
      { role: 'system', content: 'Rule one.' },
      { role: 'user', content: 'hi' },
      { role: 'system', content: 'Rule two.' },
    ]);
    expect(back.systemPrompt).toBe('Rule one.\n\nRule two.');
    expect(back.turns).toEqual([user('hi')]);
  });
});

describe('TurnSchema', () => {
  it('is strict and requires tool_calls', () => {
    expect(TurnSchema.safeParse({ role: 'user', content: 'x', tool_calls: [] }).success).toBe(true);
    expect(TurnSchema.safeParse({ role: 'user', content: 'x' }).success).toBe(false);
    expect(TurnSchema.safeParse({ role: 'system', content: 'x', tool_calls: [] }).success).toBe(false);
    expect(TurnSchema.safeParse({ role: 'user', content: 'x', tool_calls: [], id: 'call_9' }).success).toBe(false);
    expect(TurnSchema.safeParse({ role: 'assistant', content: '', tool_calls: [{ name: 'f', arguments: {} }] }).success).toBe(false);
  });
});

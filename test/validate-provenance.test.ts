import { describe, expect, it } from 'vitest';
import type { Message, Tool, Trajectory } from '../src/records.js';
import { containsToken, normalizeForGrounding, validateTrajectory, type ValidateOptions } from '../src/validate/index.js';

/** A one-call trajectory: `context` messages, then a call of `tool` with `args`. */
function withCall(context: Message[], args: Record<string, unknown>, parameters?: Record<string, unknown>): Trajectory {
  const tool: Tool = {
    type: 'function',
    function: { name: 'act', parameters: parameters ?? { type: 'object', properties: {} } },
  };
  // Make the context well-formed: a user turn first, and each tool result answering a call.
  const prefix: Message[] = context.some((m) => m.role === 'user') ? [] : [{ role: 'user', content: 'hello' }];
  const body: Message[] = [];
  context.forEach((m, i) => {
    if (m.role !== 'tool') return void body.push(m);
    const id = `c0_${i}`;
    body.push({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'act', arguments: '{}' } }] });
    body.push({ ...m, tool_call_id: id });
  });
  if (body[0]?.role === 'system') prefix.unshift(body.shift()!);
  return {
    id: 't',
    source: { doc_id: 'd' },
    tools: [tool],
    messages: [
      ...prefix,
      ...body,
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'act', arguments: JSON.stringify(args) } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
      { role: 'assistant', content: 'Done.' },
    ],
  };
}

const OPTS: ValidateOptions = { skip: ['unknown_argument'] };

function flagged(context: Message[], args: Record<string, unknown>, parameters?: Record<string, unknown>, options = OPTS): string[] {
  const { errors, warnings } = validateTrajectory(withCall(context, args, parameters), options);
  expect(errors).toEqual([]);
  return warnings.filter((w) => w.check === 'argument_provenance').map((w) => w.message);
}

const user = (content: string): Message => ({ role: 'user', content });
const system = (content: string): Message => ({ role: 'system', content });
const tool = (content: string): Message => ({ role: 'tool', tool_call_id: 'c0', content });

describe('normalization and matching', () => {
  it('normalizes case, separators, digit groups and JSON escapes', () => {
    expect(normalizeForGrounding('One-Way  ticket_for\nMIA')).toBe('one way ticket for mia');
    expect(normalizeForGrounding('It costs $1,250.00')).toBe('it costs $1250.00');
    expect(normalizeForGrounding('[1,234]')).toBe('[1,234]');
    expect(normalizeForGrounding('{"city": "Z\\u00fcrich"}')).toBe('{"city": "zürich"}');
  });

  it('matches at word boundaries of the same kind only', () => {
    expect(containsToken('order a17 shipped', 'a17')).toBe(true);
    expect(containsToken('order a170 shipped', 'a17')).toBe(false);
    expect(containsToken('two shoes', 'shoe')).toBe(false);
    expect(containsToken('may 20th', 'may 20')).toBe(true);
    expect(containsToken('at 10:30am', '10:30')).toBe(true);
    expect(containsToken('#w4817302', 'w4817302')).toBe(true);
  });
});

describe('argument_provenance', () => {
  it('grounds values from the user, the system prompt and earlier tool results', () => {
    expect(flagged([system('Store code is STR-991.'), user('Order A17 please'), tool('{"user_id": "u_55"}')], {
      order: 'A17', store: 'STR-991', user: 'u_55',
    })).toEqual([]);
  });

  it('flags an invented id, once per leaf, with its path', () => {
    const found = flagged([user('Order A17 please')], { orders: ['A17', 'A18'] });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/orders\[1\] = "A18"/);
  });

  it('does not ground from later messages', () => {
    const t = withCall([user('hi')], { id: 'X-42' });
    t.messages.splice(3, 0, { role: 'user', content: 'my id is X-42' });
    expect(validateTrajectory(t, OPTS).warnings.map((w) => w.check)).toEqual(['argument_provenance']);
  });

  it('exempts booleans, null, small integers, enums, const and defaults', () => {
    const parameters = {
      type: 'object',
      properties: {
        cabin: { type: 'string', enum: ['economy', 'business'] },
        kind: { const: 'refund' },
        currency: { type: 'string', default: 'eur' },
        sizes: { type: 'array', items: { enum: ['s', 'm'] } },
        mode: { anyOf: [{ enum: ['fast'] }, { type: 'null' }] },
      },
    };
    expect(flagged([user('hello')], {
      cabin: 'business', kind: 'refund', currency: 'eur', sizes: ['m'], mode: 'fast',
      notify: true, note_id: null, passengers: 2, bags: 0, days: 10, offset: -3,
    }, parameters)).toEqual([]);
    expect(flagged([user('hello')], { count: 11 })).toHaveLength(1);
    expect(flagged([user('hello')], { count: 11 }, undefined, { ...OPTS, provenance: { smallIntMax: 12 } })).toEqual([]);
  });

  it('matches numbers in their written forms', () => {
    expect(flagged([user('the total was $1,250.00 and 12.50 for the cable')], { total: 1250, cable: 12.5, s: '1250' })).toEqual([]);
    expect(flagged([tool('{"price": 199.99, "qty": 30}')], { price: 199.99, battery: 30 })).toEqual([]);
    expect(flagged([user('it was 2024 when I ordered')], { amount: 24 })).toHaveLength(1);
  });

  it('grounds computed amounts that the assistant stated to the user first', () => {
    const ctx: Message[] = [user('split it between my two cards'), { role: 'assistant', content: 'That is $128 on the gift card and $247 on the Visa. OK?' }, user('yes')];
    expect(flagged(ctx, { gift: 128, visa: 247 })).toEqual([]);
    // ...but assistant text never grounds ids.
    expect(flagged([user('hi'), { role: 'assistant', content: 'Your order is ORD-9' }, user('ok')], { order: 'ORD-9' })).toHaveLength(1);
  });

  it('exempts free text by length, word count and argument name', () => {
    expect(flagged([user('hi')], {
      message: 'Hi',
      cancel_reason: 'changed plans',
      searchQuery: 'red shoes',
      summary: 'x',
      long: 'The customer would like a refund because the package arrived damaged',
      five_words: 'please ship it to me',
    })).toEqual([]);
    expect(flagged([user('hi')], { city: 'Springfield' })).toHaveLength(1);
  });

  it('exempts 2-3 letter upper-case codes (airports, states, currencies)', () => {
    expect(flagged([user('fly me from New York to Seattle, pay in dollars')], { origin: 'JFK', destination: 'SEA', currency: 'USD', state: 'NY' })).toEqual([]);
    expect(flagged([user('hi')], { origin: 'JFKX' })).toHaveLength(1);
  });

  it('handles dates written the way people write them', () => {
    expect(flagged([user('I want to fly on May 20th')], { date: '2024-05-20' })).toEqual([]);
    expect(flagged([user('the 3rd of June works')], { date: '2024-06-03' })).toEqual([]);
    expect(flagged([user('pickup 6/4 please')], { date: '2024-06-04' })).toEqual([]);
    expect(flagged([tool('{"delivered_on": "2024-05-21"}')], { date: '2024-05-21' })).toEqual([]);
    expect(flagged([system('Today is 2024-05-15.'), user('can you book it for tomorrow?')], { date: '2024-05-16' })).toEqual([]);
    expect(flagged([user('delay it by one day please')], { date: '2024-05-19' })).toEqual([]);
    expect(flagged([user('next Friday at 3pm')], { at: '2024-05-24T15:00:00' })).toEqual([]);
    expect(flagged([user('on May 20th at 9am')], { at: '2024-05-20T15:30:00' })).toHaveLength(1);
    expect(flagged([user('I want to fly on May 20th')], { date: '2024-05-21' })).toHaveLength(1);
  });

  it('handles times', () => {
    expect(flagged([user('around 10:30am if possible')], { time: '10:30' })).toEqual([]);
    expect(flagged([user('after 7 pm')], { time: '19:00' })).toEqual([]);
    expect(flagged([user('at noon')], { time: '12:00' })).toEqual([]);
    expect(flagged([user('after 7 pm')], { time: '18:00' })).toHaveLength(1);
  });

  it('reads JSON-escaped tool results (ensure_ascii)', () => {
    expect(flagged([tool('{"city": "Z\\u00fcrich"}')], { city: 'Zürich' })).toEqual([]);
  });

  it('one_way matches "One-way", emails and ids with punctuation', () => {
    expect(flagged([user('One-way, and my email is mia.li@example.com, user mia_li_3668.')], {
      trip: 'one_way', email: 'mia.li@example.com', user_id: 'mia_li_3668',
    })).toEqual([]);
  });

  it('is off, warn or reject', () => {
    const t = withCall([user('hi')], { id: 'Q-77' });
    expect(validateTrajectory(t, { ...OPTS, argumentProvenance: 'off' })).toEqual({ errors: [], warnings: [] });
    expect(validateTrajectory(t, { ...OPTS, argumentProvenance: 'reject' }).errors.map((r) => r.check)).toEqual(['argument_provenance']);
  });
});

describe('plain derivations and documented defaults (issue 12, B8)', () => {
  const window = { type: 'object', properties: { service: { type: 'string' }, window_minutes: { type: 'integer' } }, required: ['service'] };

  it('credits a unit conversion of a number the user stated with its unit', () => {
    expect(flagged([user('Show me the errors of billing-api over the last 12 hours.')], { service: 'billing-api', window_minutes: 720 }, window)).toEqual([]);
    expect(flagged([user('Errors of billing-api for the past two days, please.')], { service: 'billing-api', window_hours: 48 })).toEqual([]);
    expect(flagged([user('billing-api, last 90 seconds')], { service: 'billing-api', timeout_ms: 90000 })).toEqual([]);
    expect(flagged([user('billing-api for the last hour')], { service: 'billing-api', window_minutes: 60 }, window)).toEqual([]);
    expect(flagged([user('Set the discount to 15% for billing-api.')], { service: 'billing-api', rate: 0.15 })).toEqual([]);
    expect(flagged([user('Refund $12.50 on billing-api.')], { service: 'billing-api', amount_cents: 1250 })).toEqual([]);
    expect(flagged([user('A budget of 5k for billing-api.')], { service: 'billing-api', budget: 5000 })).toEqual([]);
  });

  it('does not credit a bare number, a number with another unit, or a conversion the argument name rules out', () => {
    expect(flagged([user('Errors of billing-api, 12 of them.')], { service: 'billing-api', window_minutes: 720 }, window)).toHaveLength(1);
    expect(flagged([user('billing-api over the last 12 kg')], { service: 'billing-api', window_minutes: 720 }, window)).toHaveLength(1);
    // 720 seconds would be 12 minutes, but the argument is in minutes: 12 minutes is not 720 minutes.
    expect(flagged([user('billing-api over the last 12 minutes')], { service: 'billing-api', window_minutes: 720 }, window)).toHaveLength(1);
  });

  it('credits the calling turn\'s own text for numbers and dates it works out', () => {
    const call = (content: string, args: Record<string, unknown>): Trajectory => {
      const t = withCall([user('How much is left on gift card GC-77 after 3 lamps at 41.50 each?')], args);
      const at = t.messages.findIndex((m) => m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls[0]?.id === 'c1');
      (t.messages[at] as { content: string | null }).content = content;
      return t;
    };
    const warn = (t: Trajectory) => validateTrajectory(t, OPTS).warnings.filter((w) => w.check === 'argument_provenance');
    expect(warn(call('Three lamps at 41.50 come to 124.50; let me charge that.', { card: 'GC-77', amount: 124.5 }))).toEqual([]);
    expect(warn(call('Charging the card now.', { card: 'GC-77', amount: 124.5 }))).toHaveLength(1);
    expect(warn(call('Delivery was March 3, so the return window ends on March 17; checking it.', { card: 'GC-77', until: '2025-03-17' }))).toEqual([]);
    // Strings are still never grounded by the assistant's own words: an id it names is invented.
    expect(warn(call('Using card GC-99.', { card: 'GC-99' }))).toHaveLength(1);
  });

  it('never credits an identifier the calling turn names, nor a converted one', () => {
    const call = (content: string, args: Record<string, unknown>, ctx = 'Where is my order?'): Trajectory => {
      const t = withCall([user(ctx)], args);
      const at = t.messages.findIndex((m) => m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls[0]?.id === 'c1');
      (t.messages[at] as { content: string | null }).content = content;
      return t;
    };
    const warn = (t: Trajectory) => validateTrajectory(t, OPTS).warnings.filter((w) => w.check === 'argument_provenance');
    expect(warn(call('Let me check order 48213.', { order_id: 48213 }))).toHaveLength(1);
    expect(warn(call('Checking order 48213 now.', { orderId: '48213' }))).toHaveLength(1);
    expect(warn(call('Checking 48213 now.', { order: 48213 }))).toHaveLength(1);
    expect(warn(call('Looking up 2025-03-17.', { booking_ref: '2025-03-17' }))).toHaveLength(1);
    // Said by the user, an identifier is grounded as before.
    expect(warn(call('Let me check it.', { order_id: 48213 }, 'Where is order 48213?'))).toEqual([]);
    // A non-identifier the calling turn works out still counts.
    expect(warn(call('12 hours is 720 minutes.', { window_minutes: 720 }, 'Errors in the last 12 hours?'))).toEqual([]);
  });

  it('credits a conversion only under an argument named in a unit of that dimension', () => {
    expect(flagged([user('We have 5m users')], { count: 5000 })).toHaveLength(1);
    expect(flagged([user('find me a 3d printer')], { max_price: 72 })).toHaveLength(1);
    expect(flagged([user('cancel it at the last minute')], { amount: 60 })).toHaveLength(1);
    expect(flagged([user('it is 1 m wide')], { amount: 100 })).toHaveLength(1);
    expect(flagged([user('I have 2 GB')], { quantity: 2048 })).toHaveLength(1);
    expect(flagged([user('fix it at the 5 m mark')], { length_mm: 5000 })).toHaveLength(1);
    expect(flagged([user('I have 2 GB')], { size_mb: 2048 })).toEqual([]);
    expect(flagged([user('a 5m cable')], { length_mm: 5000 })).toEqual([]);
    expect(flagged([user('give it a day')], { timeout_hours: 24 })).toEqual([]);
    expect(flagged([user('a kilogram of rice')], { weight_g: 1000 })).toHaveLength(1);
    expect(flagged([user('Set the discount to 15% please.')], { amount: 0.15 })).toHaveLength(1);
  });

  it('reads documented defaults in linear time and only value-like ones', () => {
    const schema = (description: string, extra: Record<string, unknown> = {}) => ({
      type: 'object',
      properties: { service: { type: 'string' }, mode: { type: 'string', description, ...extra } },
      required: ['service'],
    });
    const ask = user('List billing-api incidents.');
    expect(flagged([ask], { service: 'billing-api', mode: 'see' }, schema('Region (no defaults: see docs)'))).toHaveLength(1);
    expect(flagged([ask], { service: 'billing-api', mode: 'value' }, schema('There is no default value here'))).toHaveLength(1);
    expect(flagged([ask], { service: 'billing-api', mode: 'see' }, schema('Region; default see'))).toHaveLength(1);
    expect(flagged([ask], { service: 'billing-api', mode: 'fast' }, schema('Mode; default fast', { enum: undefined }))).toHaveLength(1);
    expect(flagged([ask], { service: 'billing-api', mode: 'eu-1' }, schema("Region; default 'eu-1'"))).toEqual([]);
    expect(flagged([ask], { service: 'billing-api', mode: 'true' }, schema('Flag; default true'))).toEqual([]);
    // A megabyte of whitespace after "default" (quadratic before) and a default stated past the head.
    expect(flagged([ask], { service: 'billing-api', mode: 'x' }, schema(`default${' '.repeat(1_000_000)},`))).toHaveLength(1);
    expect(flagged([ask], { service: 'billing-api', mode: '42' }, schema(`${'words '.repeat(500)}default 42`))).toHaveLength(1);
  });

  it('credits an optional parameter left at the default its description documents', () => {
    const schema = {
      type: 'object',
      properties: {
        service: { type: 'string' },
        page_size: { type: 'integer', description: 'Results per page; default 50.' },
        sort: { type: 'string', description: "Sort order, 'asc' or 'desc' (defaults to 'desc')." },
        region: { type: 'string', description: 'Region code; default: eu-west-1' },
      },
      required: ['service', 'region'],
    };
    const ask = user('List billing-api incidents in us-east-2.');
    expect(flagged([ask], { service: 'billing-api', region: 'us-east-2', page_size: 50, sort: 'desc' }, schema)).toEqual([]);
    expect(flagged([ask], { service: 'billing-api', region: 'us-east-2', page_size: 75 }, schema)).toHaveLength(1);
    // Only for an optional parameter: a required one must come from somewhere.
    expect(flagged([user('List billing-api incidents.')], { service: 'billing-api', region: 'eu-west-1' }, schema)).toHaveLength(1);
  });
});

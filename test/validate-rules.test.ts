import { describe, expect, it } from 'vitest';
import type { AssistantMessage, Message, Reason, Trajectory } from '../src/records.js';
import {
  CHECKS,
  SchemaCache,
  VALIDATE_CHECK_IDS,
  buildContext,
  checkRoleOrder,
  resolveValidateOptions,
  validateTrajectory,
  type CheckId,
  type ValidateOptions,
} from '../src/validate/index.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';

function ids(reasons: Reason[]): string[] {
  return [...new Set(reasons.map((r) => r.check))].sort();
}

function assistant(t: Trajectory, i: number): AssistantMessage {
  const m = t.messages[i];
  if (m?.role !== 'assistant') throw new Error(`messages[${i}] is not an assistant message`);
  return m;
}

function setArgs(t: Trajectory, msg: number, k: number, args: string | Record<string, unknown>): void {
  const c = assistant(t, msg).tool_calls?.[k];
  if (c === undefined) throw new Error('no such call');
  c.function.arguments = typeof args === 'string' ? args : JSON.stringify(args);
}

/** Plants a defect and expects exactly `check` among the errors (and no warnings). */
function expectOnly(
  check: CheckId,
  plant: (t: Trajectory) => unknown,
  options?: ValidateOptions,
  where: 'errors' | 'warnings' = 'errors',
): Reason[] {
  const t = makeValidTrajectory();
  const out = plant(t);
  const { errors, warnings } = validateTrajectory(out === undefined ? t : out, options);
  const found = where === 'errors' ? errors : warnings;
  const other = where === 'errors' ? warnings : errors;
  expect(ids(found), JSON.stringify(found, null, 1)).toEqual([check]);
  expect(other, JSON.stringify(other, null, 1)).toEqual([]);
  return found;
}

describe('the clean fixture', () => {
  it('has no errors and no warnings, provenance included', () => {
    const result = validateTrajectory(makeValidTrajectory());
    expect(result).toEqual({ errors: [], warnings: [] });
    expect(validateTrajectory(makeValidTrajectory(), { argumentProvenance: 'reject' })).toEqual({ errors: [], warnings: [] });
  });

  it('passes realistic complexity minimums', () => {
    const options = { complexity: { minDistinctTools: 8, minToolCalls: 8, minMessages: 25, minUserTurns: 5 } };
    expect(validateTrajectory(makeValidTrajectory(), options).errors).toEqual([]);
  });

  it('every check id is registered and listed once', () => {
    expect(Object.keys(CHECKS).sort()).toEqual([...VALIDATE_CHECK_IDS].sort());
    expect(new Set(VALIDATE_CHECK_IDS).size).toBe(VALIDATE_CHECK_IDS.length);
  });
});

describe('planted defects fire exactly their check', () => {
  it('record_shape: missing id (the other checks still run)', () => {
    const [r] = expectOnly('record_shape', (t) => {
      const { id: _id, ...rest } = t;
      return rest;
    });
    expect(r?.path).toBe('id');
  });

  it('record_shape: bad role — tool checks still run, message checks are skipped', () => {
    const found = expectOnly('record_shape', (t) => {
      (t.messages[3] as unknown as { role: string }).role = 'function';
    });
    expect(found[0]?.path).toMatch(/^messages\[3\]/);
    // The tool list still parses, so its checks still report.
    const t = makeValidTrajectory();
    (t.messages[3] as unknown as { role: string }).role = 'function';
    t.tools[9]!.function.name = 'bad name!';
    expect(ids(validateTrajectory(t).errors)).toEqual(['record_shape', 'tool_name']);
  });

  it('record_shape: not an object at all', () => {
    for (const bad of [null, 42, 'text', [], {}]) {
      const { errors } = validateTrajectory(bad);
      expect(ids(errors)).toEqual(['record_shape']);
    }
  });

  it('tool_name', () => {
    const [r] = expectOnly('tool_name', (t) => {
      t.tools[9]!.function.name = 'get store hours';
    });
    expect(r?.path).toBe('tools[9].function.name');
  });

  it('duplicate_tool', () => {
    const [r] = expectOnly('duplicate_tool', (t) => {
      t.tools.push(structuredClone(t.tools[9]!));
    });
    expect(r?.path).toBe('tools[10].function.name');
  });

  it('tool_schema: does not compile', () => {
    const [r] = expectOnly('tool_schema', (t) => {
      t.tools[8]!.function.parameters = { type: 'object', properties: { summary: { type: 'text' } } };
    });
    expect(r?.path).toBe('tools[8].function.parameters');
  });

  it('tool_schema: not an object schema', () => {
    const [r] = expectOnly('tool_schema', (t) => {
      t.tools[8]!.function.parameters = { type: 'array', items: { type: 'string' } };
    });
    expect(r?.message).toMatch(/type.*object/);
  });

  it('role_order: system message in the middle', () => {
    const [r] = expectOnly('role_order', (t) => {
      t.messages.splice(12, 0, { role: 'system', content: 'Be brief.' });
    });
    expect(r?.path).toBe('messages[12]');
  });

  it('role_order: user directly after a tool result', () => {
    const [r] = expectOnly('role_order', (t) => {
      t.messages.splice(4, 0, { role: 'user', content: 'Are you there?' });
    });
    expect(r?.path).toBe('messages[4]');
  });

  it('role_order: a result arrives after another message (not also missing/orphan)', () => {
    const found = expectOnly('role_order', (t) => {
      const [moved] = t.messages.splice(6, 1); // list_orders result
      t.messages.splice(7, 0, moved!); // now after the assistant text
    });
    expect(found.map((r) => r.path)).toContain('messages[7]');
  });

  it('role_order: no user message', () => {
    const found = expectOnly(
      'role_order',
      (t) => {
        t.messages = [
          { role: 'system', content: 'You are helpful.' },
          { role: 'assistant', content: 'Hello! How can I help?' },
        ];
      },
    );
    expect(found[0]?.message).toMatch(/no user message/);
  });

  it('final_answer: ends with a tool result', () => {
    const [r] = expectOnly('final_answer', (t) => {
      t.messages.pop();
    });
    expect(r?.path).toBe(`messages[${makeValidTrajectory().messages.length - 2}]`);
  });

  it('final_answer: ends with a user message', () => {
    expectOnly('final_answer', (t) => {
      t.messages.push({ role: 'user', content: 'Thanks, bye!' });
    });
  });

  it('missing_tool_result', () => {
    const [r] = expectOnly('missing_tool_result', (t) => {
      t.messages.splice(14, 1); // the return_items result
    });
    expect(r?.path).toBe('messages[13].tool_calls[0]');
  });

  it('orphan_tool_result: answers no call', () => {
    const [r] = expectOnly('orphan_tool_result', (t) => {
      t.messages.splice(16, 0, { role: 'tool', tool_call_id: 'call_ghost_9', content: '{"ok":true}' });
    });
    expect(r?.path).toBe('messages[16]');
  });

  it('orphan_tool_result: a second result for the same call', () => {
    expectOnly('orphan_tool_result', (t) => {
      t.messages.splice(4, 0, structuredClone(t.messages[3]!));
    });
  });

  it('duplicate_call_id across messages: an error by default (trainers refuse reused ids), allowed with callIdScope message', () => {
    const plant = (t: Trajectory): void => {
      assistant(t, 18).tool_calls![0]!.id = 'call_auth_1';
      (t.messages[19] as { tool_call_id: string }).tool_call_id = 'call_auth_1';
    };
    const [r] = expectOnly('duplicate_call_id', plant);
    expect(r?.path).toBe('messages[18].tool_calls[0]');
    expect(r?.message).toMatch(/already used by messages\[\d+\]\.tool_calls/);
    const t = makeValidTrajectory();
    plant(t);
    expect(validateTrajectory(t, { callIdScope: 'message' })).toEqual({ errors: [], warnings: [] });
  });

  it('duplicate_call_id within one message', () => {
    expectOnly(
      'duplicate_call_id',
      (t) => {
        // Two calls and two results sharing one id: linking is ambiguous.
        assistant(t, 4).tool_calls![1]!.id = 'call_prof_2';
        (t.messages[6] as { tool_call_id: string }).tool_call_id = 'call_prof_2';
      },
      undefined,
    );
  });

  it('empty_message: user', () => {
    const [r] = expectOnly('empty_message', (t) => {
      t.messages[21] = { role: 'user', content: '  ' };
    });
    expect(r?.path).toBe('messages[21]');
  });

  it('empty_message: assistant with neither text nor calls', () => {
    expectOnly('empty_message', (t) => {
      t.messages[7] = { role: 'assistant', content: null, tool_calls: [] };
    });
  });

  it('empty_tool_result is a warning by default and can reject', () => {
    const plant = (t: Trajectory): void => {
      (t.messages[15] as { content: string }).content = '';
    };
    expectOnly('empty_tool_result', plant, undefined, 'warnings');
    expectOnly('empty_tool_result', plant, { severity: { empty_tool_result: 'error' } });
  });

  it('unknown_tool', () => {
    const [r] = expectOnly('unknown_tool', (t) => {
      assistant(t, 9).tool_calls![0]!.function.name = 'get_order_status';
    });
    expect(r?.path).toBe('messages[9].tool_calls[0]');
  });

  it('arguments_json: not JSON', () => {
    expectOnly('arguments_json', (t) => setArgs(t, 9, 0, '{order_id: #W4817390}'));
  });

  it('arguments_json: an array, a double-encoded object, an empty string', () => {
    expectOnly('arguments_json', (t) => setArgs(t, 9, 0, '["#W4817390"]'));
    const [r] = expectOnly('arguments_json', (t) => setArgs(t, 9, 0, JSON.stringify(JSON.stringify({ order_id: '#W4817390' }))));
    expect(r?.message).toMatch(/double-encoded/);
    expectOnly('arguments_json', (t) => setArgs(t, 9, 0, ''));
  });

  it('arguments_schema: missing required argument', () => {
    const [r] = expectOnly('arguments_schema', (t) => setArgs(t, 2, 0, { email: 'ava.chen@example.com' }));
    expect(r?.message).toBe('(root): missing required argument "zip_code"');
  });

  it('arguments_schema: wrong type', () => {
    const [r] = expectOnly('arguments_schema', (t) =>
      setArgs(t, 18, 0, { query: 'wireless headphones', max_price: '150', max_results: 3 }),
    );
    expect(r?.message).toBe('max_price: must be number');
  });

  it('arguments_schema: enum (case matters)', () => {
    const [r] = expectOnly('arguments_schema', (t) =>
      setArgs(t, 4, 1, { user_id: 'ava_chen_4821', status: 'Delivered' }),
    );
    expect(r?.message).toMatch(/^status: must be one of "pending"/);
  });

  it('arguments_schema: format and pattern', () => {
    expectOnly('arguments_schema', (t) => {
      (t.messages[1] as { content: string }).content = 'My email is ava.chen@example and zip 94110.';
      setArgs(t, 2, 0, { email: 'ava.chen@example', zip_code: '94110' });
    });
    const [r] = expectOnly('arguments_schema', (t) => {
      (t.messages[8] as { content: string }).content += ' (order W4817390)';
      setArgs(t, 9, 0, { order_id: 'W4817390' });
    });
    expect(r?.message).toMatch(/^order_id: must match pattern/);
  });

  it('arguments_schema: additionalProperties false, nested too', () => {
    const [r] = expectOnly('arguments_schema', (t) =>
      setArgs(t, 2, 0, { email: 'ava.chen@example.com', zip_code: '94110', remember_me: true }),
    );
    expect(r?.message).toMatch(/unexpected argument "remember_me"/);
    const found = expectOnly('arguments_schema', (t) =>
      setArgs(t, 13, 1, {
        order_id: '#W4817390',
        address: { address1: '55 Valencia Street', city: 'San Francisco', state: 'CA', zip: '94103', gate_code: 4 },
      }),
    );
    expect(found[0]?.message).toMatch(/^address: unexpected argument "gate_code"/);
  });

  it('arguments_schema: every violation of a call is reported', () => {
    const found = expectOnly('arguments_schema', (t) => setArgs(t, 2, 0, { email: 42, zip_code: false }), { skip: ['argument_provenance'] });
    expect(found.length).toBe(2);
  });

  it('arguments_schema: a tool without parameters takes no arguments', () => {
    expectOnly('arguments_schema', (t) => {
      assistant(t, 18).tool_calls![0]!.function = { name: 'get_store_hours', arguments: '{"day":"monday"}' };
      (t.messages[19] as { name?: string }).name = 'get_store_hours';
    }, { skip: ['argument_provenance'] });
  });

  it('unknown_argument is a warning when the schema allows extra names', () => {
    const [r] = expectOnly(
      'unknown_argument',
      (t) => setArgs(t, 9, 0, { order_id: '#W4817390', include_items: true }),
      undefined,
      'warnings',
    );
    expect(r?.message).toMatch(/"include_items"/);
  });

  it('complexity: each unmet minimum is a reason', () => {
    const found = expectOnly('complexity', () => undefined, {
      complexity: { minDistinctTools: 20, minToolCalls: 100, minMessages: 10, minUserTurns: 9 },
    });
    expect(found.map((r) => r.message)).toEqual([
      '8 distinct tools called, at least 20 required',
      '8 tool calls, at least 100 required',
      '5 user turns, at least 9 required',
    ]);
  });

  it('argument_provenance: an invented id warns, or rejects on request', () => {
    const plant = (t: Trajectory): void => setArgs(t, 22, 0, { product_id: 'prod_7122' });
    const [r] = expectOnly('argument_provenance', plant, undefined, 'warnings');
    expect(r?.path).toBe('messages[22].tool_calls[0]');
    expect(r?.message).toMatch(/product_id = "prod_7122"/);
    expectOnly('argument_provenance', plant, { argumentProvenance: 'reject' });
    expect(validateTrajectory((() => { const t = makeValidTrajectory(); plant(t); return t; })(), { argumentProvenance: 'off' })).toEqual({ errors: [], warnings: [] });
  });

  it('argument_provenance: a value used before the tool result that returns it', () => {
    expectOnly(
      'argument_provenance',
      (t) => setArgs(t, 2, 0, { email: 'ava.chen@example.com', zip_code: '94607' }), // zip from a later profile
      undefined,
      'warnings',
    );
  });
});

describe('reporting', () => {
  it('reports all defects at once, each with its own id', () => {
    const t = makeValidTrajectory();
    t.tools[9]!.function.name = 'bad name';
    assistant(t, 9).tool_calls![0]!.function.name = 'nope';
    setArgs(t, 2, 0, { email: 'ava.chen@example.com' });
    t.messages.splice(14, 1);
    t.messages.push({ role: 'user', content: 'bye' });
    const { errors } = validateTrajectory(t);
    expect(ids(errors)).toEqual(['arguments_schema', 'final_answer', 'missing_tool_result', 'tool_name', 'unknown_tool']);
  });

  it('skip turns checks off by id', () => {
    const t = makeValidTrajectory();
    t.messages.pop();
    expect(validateTrajectory(t, { skip: ['final_answer'] }).errors).toEqual([]);
  });

  it('check functions can be called on a context directly', () => {
    const t = makeValidTrajectory();
    t.messages.splice(4, 0, { role: 'user', content: 'hello?' });
    const ctx = buildContext(t, resolveValidateOptions());
    expect(checkRoleOrder(ctx).map((r) => r.check)).toEqual(['role_order']);
  });

  it('rejects bad options with a RangeError', () => {
    expect(() => validateTrajectory(makeValidTrajectory(), { complexity: { minToolCalls: -1 } })).toThrow(RangeError);
  });
});

describe('schema cache', () => {
  it('compiles each tool schema once across many trajectories', () => {
    const cache = new SchemaCache(64);
    const options = { schemaCache: cache };
    for (let i = 0; i < 50; i++) validateTrajectory(makeValidTrajectory(), options);
    expect(cache.misses).toBe(9); // nine tools with parameters
    expect(cache.size).toBe(9);
    expect(cache.hits).toBe(49 * 9);
  });

  it('is LRU-bounded', () => {
    const cache = new SchemaCache(4);
    for (let i = 0; i < 20; i++) cache.get({ type: 'object', properties: { [`p${i}`]: { type: 'string' } } });
    expect(cache.size).toBe(4);
    expect(cache.get({ type: 'object', properties: { p19: { type: 'string' } } }).ok).toBe(true);
    expect(cache.hits).toBe(1);
  });

  it('tolerates $id and $schema, and two tools with the same $id', () => {
    const cache = new SchemaCache(8);
    const a = cache.get({ $id: 'x', $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { a: { type: 'string' } } });
    const b = cache.get({ $id: 'x', type: 'object', properties: { b: { type: 'string' } } });
    expect(a.ok && b.ok).toBe(true);
  });
});

// Keep the Message type import used (fixtures build messages of every role).
export type { Message };

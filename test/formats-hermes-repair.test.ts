/** A Hermes `<tool_call>` whose JSON had to be repaired is imported with a warning, never silently. */
import { describe, expect, it } from 'vitest';
import { fromHermes } from '../src/formats/hermes.js';

const tools = '<tools>[{"type": "function", "function": {"name": "get_order", "description": "Look up an order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]</tools>';

function record(call: string) {
  return {
    messages: [
      { role: 'system', content: `You are a shop assistant. ${tools}` },
      { role: 'user', content: 'Where is my order A17?' },
      { role: 'assistant', content: `<tool_call>\n${call}\n</tool_call>` },
      { role: 'tool', content: '<tool_response>\n{"status": "shipped"}\n</tool_response>' },
      { role: 'assistant', content: 'It has shipped.' },
    ],
  };
}

describe('Hermes import: repaired calls', () => {
  it('a clean call carries no repair warning', () => {
    const r = fromHermes(record('{"name": "get_order", "arguments": {"order_id": "A17"}}'));
    expect(r.ok).toBe(true);
    const warnings = r.ok ? (r.trajectory.meta?.warnings ?? []) : [];
    expect(warnings.filter((w) => w.check === 'import_call_repaired')).toEqual([]);
  });

  it('single quotes or an unquoted value are repaired and recorded with the message path', () => {
    for (const slip of ["{'name': 'get_order', 'arguments': {'order_id': 'A17'}}", '{"name": "get_order", "arguments": {"order_id": A17}}']) {
      const r = fromHermes(record(slip));
      expect(r.ok, slip).toBe(true);
      if (!r.ok) continue;
      const calls = r.trajectory.messages.flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []) : []));
      expect(JSON.parse(calls[0]?.function.arguments ?? '{}')).toEqual({ order_id: 'A17' });
      const repaired = (r.trajectory.meta?.warnings ?? []).filter((w) => w.check === 'import_call_repaired');
      expect(repaired, slip).toHaveLength(1);
      expect(repaired[0]?.path).toBe('messages[2].content');
    }
  });
});

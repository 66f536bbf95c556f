import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeSchema, normalizeTool } from '../src/parse/tool-schema.js';
import { DATA } from './formats-fixture.js';

function types(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => types(n, out));
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'type' && typeof v === 'string') out.push(v);
      else if (k === 'properties' && typeof v === 'object' && v !== null) Object.values(v).forEach((s) => types(s, out));
      else types(v, out);
    }
  }
  return out;
}

describe('normalizeSchema', () => {
  it('maps BFCL/Python types recursively and drops required names without a property', () => {
    const r = normalizeSchema({
      type: 'dict',
      properties: {
        a: { type: 'float' },
        b: { type: 'tuple', items: { type: 'dict', properties: { c: { type: 'any' } } } },
        type: { type: 'string', description: 'a property called "type"' },
      },
      required: ['a', 'ghost'],
    });
    expect(r.schema).toEqual({
      type: 'object',
      properties: {
        a: { type: 'number' },
        b: { type: 'array', items: { type: 'object', properties: { c: {} } } },
        type: { type: 'string', description: 'a property called "type"' },
      },
      required: ['a'],
    });
    expect(r.notes.map((n) => n.message)).toContain('"ghost" names no property: removed');
    expect(r.notes.find((n) => n.message.includes('any'))?.path).toBe('parameters.properties.b.items.properties.c');
  });

  it('normalises all BFCL multi-turn function docs to JSON Schema types', () => {
    const dir = `${DATA}/tool-use/bfcl-multi-turn/func_doc`;
    let count = 0;
    const seen = new Set<string>();
    for (const f of readdirSync(dir)) {
      for (const line of readFileSync(`${dir}/${f}`, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const r = normalizeTool(JSON.parse(line));
        if ('error' in r) throw new Error(r.error);
        count += 1;
        expect(r.tool.type).toBe('function');
        expect(r.tool.function.parameters?.type).toBe('object');
        for (const t of types(r.tool.function.parameters)) seen.add(t);
      }
    }
    expect(count).toBeGreaterThanOrEqual(161);
    expect([...seen].sort()).toEqual(['array', 'boolean', 'integer', 'number', 'object', 'string']);
  });
});

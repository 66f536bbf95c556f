import { describe, expect, it } from 'vitest';
import { readForeign } from '../src/formats/detect.js';
import { fromOpenAI, toOpenAI } from '../src/formats/openai.js';
import { toShareGPTWithNotes } from '../src/formats/sharegpt.js';
import type { Trajectory } from '../src/records.js';
import { DATA } from './formats-fixture.js';

async function importAll(file: string): Promise<{ ok: Trajectory[]; errors: string[] }> {
  const ok: Trajectory[] = [];
  const errors: string[] = [];
  for await (const r of readForeign(file, 'auto')) {
    if (r.result.ok) ok.push(r.result.trajectory);
    else errors.push(`${r.line}: ${r.result.error}`);
  }
  return { ok, errors };
}

describe('Glaive ShareGPT demo (300 dialogues)', () => {
  it('imports every dialogue with linked calls', async () => {
    const { ok, errors } = await importAll(`${DATA}/tool-use/glaive-toolcall-en-demo.sharegpt.json`);
    expect(errors).toEqual([]);
    expect(ok).toHaveLength(300);
    let calls = 0;
    for (const t of ok) {
      expect(t.meta?.format).toBe('sharegpt');
      expect(t.source.doc_id).toMatch(/^glaive-toolcall-en-demo\.sharegpt\.json:\d+$/);
      const ids = new Set<string>();
      for (const m of t.messages) {
        if (m.role === 'assistant') {
          for (const c of m.tool_calls ?? []) {
            calls += 1;
            expect(c.id).toMatch(/^call_\d+$/);
            expect(typeof JSON.parse(c.function.arguments)).toBe('object');
            expect(t.tools.map((x) => x.function.name)).toContain(c.function.name);
            ids.add(c.id);
          }
        }
        if (m.role === 'tool') expect(ids.has(m.tool_call_id)).toBe(true);
      }
      for (const tool of t.tools) expect(tool.type).toBe('function');
    }
    expect(calls).toBe(211);
    expect(ok.filter((t) => t.tools.length === 0)).toHaveLength(109);
    // Exported back to ShareGPT without loss (no parallel calls, no text beside calls in Glaive).
    for (const t of ok) expect(toShareGPTWithNotes(t).notes).toEqual([]);
  });
});

describe('tau-bench airline GPT-4o logs (200 runs)', () => {
  it('imports every run with inferred tools', async () => {
    const { ok, errors } = await importAll(`${DATA}/tool-use/taubench-airline-gpt4o.json`);
    expect(errors).toEqual([]);
    expect(ok).toHaveLength(200);
    const names = new Set<string>();
    let calls = 0;
    for (const t of ok) {
      expect(t.meta?.tools_inferred).toBe(true);
      expect(t.domain).toBe('airline');
      for (const tool of t.tools) {
        names.add(tool.function.name);
        expect(tool.function.parameters?.type).toBe('object');
        expect(tool.function.parameters).not.toHaveProperty('required');
      }
      // The logs reuse some call ids (73 times): import renumbers them and keeps results linked.
      const ids: string[] = [];
      let open: string | undefined;
      for (const m of t.messages) {
        if (m.role === 'assistant') {
          calls += m.tool_calls?.length ?? 0;
          for (const c of m.tool_calls ?? []) ids.push((open = c.id));
        }
        if (m.role === 'tool') expect(m.tool_call_id).toBe(open);
      }
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(calls).toBe(1164);
    expect(names.size).toBe(14);
    expect(ok.filter((t) => t.meta?.reward === 1)).toHaveLength(84);
    const user = ok.flatMap((t) => t.tools).find((x) => x.function.name === 'get_user_details');
    expect(user?.function.parameters).toEqual({ type: 'object', properties: { user_id: { type: 'string' } } });
  });
  it('round-trips through the OpenAI export', async () => {
    const { ok } = await importAll(`${DATA}/tool-use/taubench-airline-gpt4o.json`);
    for (const t of ok.slice(0, 50)) {
      const back = fromOpenAI(JSON.parse(JSON.stringify(toOpenAI(t))));
      expect(back.ok && back.trajectory.messages).toEqual(t.messages);
    }
  });
});

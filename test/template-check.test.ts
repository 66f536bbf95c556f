import { describe, expect, it } from 'vitest';
import { readForeign } from '../src/formats/detect.js';
import { fromOpenAI, toOpenAI } from '../src/formats/openai.js';
import { checkTemplate, compileChatTemplate, loadChatTemplate, summarizeTemplateChecks } from '../src/formats/template-check.js';
import type { Trajectory } from '../src/records.js';
import { DATA, richTrajectory } from './formats-fixture.js';

const hermes = loadChatTemplate(`${DATA}/chat-templates/vllm-tool_chat_template_hermes.jinja`);
const llama = loadChatTemplate(`${DATA}/chat-templates/vllm-tool_chat_template_llama3.1_json.jinja`);

/** Imports a real file, exports each record to OpenAI format and reads it back (what a trainer loads). */
async function exported(file: string): Promise<Trajectory[]> {
  const out: Trajectory[] = [];
  for await (const r of readForeign(file, 'auto')) {
    if (!r.result.ok) throw new Error(r.result.error);
    const back = fromOpenAI(JSON.parse(JSON.stringify(toOpenAI(r.result.trajectory))));
    if (!back.ok) throw new Error(back.error);
    out.push({ ...back.trajectory, id: r.result.trajectory.id });
  }
  return out;
}

describe('chat templates', () => {
  it('knows which template allows one call per turn', () => {
    expect(hermes.singleCall).toBe(false);
    expect(llama.singleCall).toBe(true);
  });

  for (const [name, file, n] of [
    ['Glaive', `${DATA}/tool-use/glaive-toolcall-en-demo.sharegpt.json`, 300],
    ['tau-bench', `${DATA}/tool-use/taubench-airline-gpt4o.json`, 200],
  ] as const) {
    it(`${name}: every call and result appears in order through both templates`, async () => {
      const trajs = await exported(file);
      expect(trajs).toHaveLength(n);
      for (const tpl of [hermes, llama]) {
        const results = trajs.map((t) => checkTemplate(t, tpl));
        const counts = summarizeTemplateChecks(results);
        // No conversation fails; JS-engine strictness is classified apart and passes on the Jinja2-like render.
        expect(counts.missing + counts.render_error, `${tpl.name}: ${JSON.stringify(counts)}`).toBe(0);
        for (const r of results.filter((x) => x.status === 'engine_difference')) expect(r.emulatedOk, r.problems.join('; ')).toBe(true);
        expect(counts.ok + counts.engine_difference).toBe(n);
      }
    });
  }

  it('splits parallel calls for Llama 3.1 and fills tool names for Hermes', () => {
    const t = richTrajectory();
    const l = checkTemplate(t, llama, { keepRendered: true });
    expect(l.status).toBe('ok');
    expect(l.adjustments).toContain('messages[2]: 2 parallel calls split into consecutive turns');
    expect(l.unrendered).toEqual(['messages[7]: assistant text beside tool calls not rendered']);
    const h = checkTemplate(t, hermes, { keepRendered: true });
    // The Hermes template's `json_spec|items` on an array parameter trips the JS engine only.
    expect(h).toMatchObject({ status: 'engine_difference', emulatedOk: true });
    expect(h.adjustments).toContain('messages[3].name filled from its call');
    expect(h.rendered).toContain('"name": "lookup_order", "content": ');
    expect(checkTemplate(t, llama, { parallelCalls: 'report' })).toMatchObject({ status: 'render_error', problems: ['This model only supports single tool-calls at once!'] });
  });

  it('reports a result the template does not render, and a broken conversation', () => {
    const dropsTools = compileChatTemplate(
      "{% for m in messages %}{% if m.role != 'tool' %}{{ m.role }}: {{ m.content }}{% for c in m.tool_calls or [] %}{{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}\n{% endif %}{% endfor %}",
      'drops-tools',
    );
    const r = checkTemplate(richTrajectory(), dropsTools);
    expect(r.status).toBe('missing');
    expect(r.problems[0]).toMatch(/^result 1 \(call_1\) not found/);
    const t = richTrajectory();
    t.messages[5] = { role: 'assistant', content: null };
    expect(checkTemplate(t, hermes).status).toBe('render_error');
  });

  it('classifies JS-only strictness as an engine difference', () => {
    const t = richTrajectory();
    const params = t.tools[0]!.function.parameters as { properties: Record<string, { description?: string }> };
    delete params.properties.order_id!.description;
    const r = checkTemplate(t, hermes);
    expect(r.status).toBe('engine_difference');
    expect(r.problems[0]).toMatch(/trim/);
    expect(r.emulatedOk).toBe(true);
  });
});

/**
 * `--check-template` renders the records as written — no conversion — and reports what a
 * model trained on them would not see right. These tests run both renderers: Python Jinja2
 * (the reference, skipped when python3/jinja2 is missing) and @huggingface/jinja (fallback).
 */
import { describe, expect, it } from 'vitest';
import { jinja2Available } from '../src/formats/jinja2-render.js';
import { toHermes } from '../src/formats/hermes.js';
import { toOpenAI } from '../src/formats/openai.js';
import { exportTarget } from '../src/formats/targets/registry.js';
import { checkRecords, compileChatTemplate, loadChatTemplate, type WrittenRecord } from '../src/formats/template-check.js';
import { DATA, richTrajectory } from './formats-fixture.js';

const hermes = loadChatTemplate(`${DATA}/chat-templates/vllm-tool_chat_template_hermes.jinja`);
const llama = loadChatTemplate(`${DATA}/chat-templates/vllm-tool_chat_template_llama3.1_json.jinja`);
const qwen3 = loadChatTemplate(`${DATA}/chat-templates/trl/qwen3.jinja`);
const py = jinja2Available();

/** A record as a file holds it: serialised and parsed back. */
function written(record: unknown, id = 'r'): WrittenRecord[] {
  return [{ id, record: JSON.parse(JSON.stringify(record)) as Record<string, unknown> }];
}

describe('--check-template on the bytes written', () => {
  it('knows which template allows one call per turn', () => {
    expect(hermes.singleCall).toBe(false);
    expect(llama.singleCall).toBe(true);
  });

  for (const engine of ['jinja2', 'js'] as const) {
    describe(engine, () => {
      const skip = engine === 'jinja2' && !py.ok;
      it.skipIf(skip)('reports double-encoded arguments and the missing tool name instead of fixing them', async () => {
        const plain = written(toOpenAI(richTrajectory()));
        const [h] = await checkRecords(plain, hermes, { engine });
        // The Hermes template raises without `name` on tool messages: the file as written does not render.
        expect(h?.status).toBe('render_error');
        expect(h?.problems[0]).toMatch(/name/);
        const withNames = written({ ...toOpenAI(richTrajectory()), messages: toOpenAI(richTrajectory()).messages.map((m) => (m.role === 'tool' ? { ...m, name: 'lookup_order' } : m)) });
        const [h2] = await checkRecords(withNames, hermes, { engine });
        expect(h2?.problems.join('\n')).toMatch(/double-encoded/);
      });

      it.skipIf(skip)('reports parallel calls a single-call template refuses, and passes the llama3.1 target', async () => {
        const [l] = await checkRecords(written(exportTarget('trl').convert(richTrajectory()).record), llama, { engine });
        expect(l).toMatchObject({ status: 'render_error', problems: [expect.stringContaining('only supports single tool-calls')] });
        const [ok] = await checkRecords(written(exportTarget('llama3.1').convert(richTrajectory()).record), llama, { engine, textBesideCalls: 'optional' });
        expect(ok?.status).toBe('ok');
        expect(ok?.unrendered).toEqual(['messages[8]: assistant text beside tool calls not rendered']); // index in the written file (calls split)
        // The same file, when the text beside calls must be kept: an honest failure.
        const [strict] = await checkRecords(written(exportTarget('llama3.1').convert(richTrajectory()).record), llama, { engine });
        expect(strict?.status).toBe('failed');
      });

      it.skipIf(skip)('catches Hermes tool results wrapped twice by Qwen3 (tool role), not with the paper\'s user role', async () => {
        const [asTool] = await checkRecords(written(toHermes(richTrajectory(), { toolResultRole: 'tool' })), qwen3, { engine });
        expect(asTool?.problems.join('\n')).toMatch(/wrapped twice/);
        const [asUser] = await checkRecords(written(toHermes(richTrajectory())), qwen3, { engine });
        expect(asUser).toMatchObject({ status: 'ok', problems: [] });
      });

      it.skipIf(skip)('reports a result the template does not render, and a record it cannot check', async () => {
        const dropsTools = compileChatTemplate(
          "{% for m in messages %}{% if m.role != 'tool' %}{{ m.role }}: {{ m.content }}{% for c in m.tool_calls or [] %}{{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}\n{% endif %}{% endfor %}",
          'drops-tools',
        );
        const [r] = await checkRecords(written(exportTarget('trl').convert(richTrajectory()).record), dropsTools, { engine });
        expect(r?.status).toBe('failed');
        expect(r?.problems[0]).toMatch(/^result 1: not rendered/);
        const [n] = await checkRecords(written(exportTarget('llamafactory').convert(richTrajectory()).record), dropsTools, { engine });
        expect(n?.status).toBe('not_checkable');
      });
    });
  }

  it('classifies JS-only strictness as an engine difference (js fallback)', async () => {
    const t = richTrajectory();
    const params = t.tools[0]!.function.parameters as { properties: Record<string, { description?: string }> };
    delete params.properties.order_id!.description;
    const [r] = await checkRecords(written(exportTarget('hermes').convert(t).record), hermes, { engine: 'js', textBesideCalls: 'optional' });
    expect(r?.status).toBe('engine_difference');
    expect(r?.problems[0]).toMatch(/trim|UndefinedValue/);
    expect(r?.emulatedOk).toBe(true);
  });
});

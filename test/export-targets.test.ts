/**
 * Every `--target` proven the way a trainer consumes it: real conversations (tau-bench logs,
 * Glaive dialogues, gemtraj-shaped trajectories with parallel calls, text beside calls and
 * several user turns, built from tau2 gold actions) are exported, written to a file, read back
 * and rendered through the target's real chat template with Python Jinja2 set up as
 * transformers' apply_chat_template does. No exception; every call and result once, in order;
 * arguments as objects, never double-encoded; text beside calls kept where the template shows it.
 * Skips (visibly) only when python3 with jinja2 is missing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readForeign } from '../src/formats/detect.js';
import { jinja2Available } from '../src/formats/jinja2-render.js';
import { inferTools } from '../src/formats/taubench.js';
import { allTargets, exportTarget } from '../src/formats/targets/registry.js';
import { checkRecords, loadChatTemplate, summarizeTemplateChecks } from '../src/formats/template-check.js';
import type { Message, Trajectory } from '../src/records.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';
import { DATA, richTrajectory } from './formats-fixture.js';

const py = jinja2Available();
if (!py.ok) console.warn(`export-targets: python3 with jinja2 unavailable (${py.reason}): template renders skipped`);

async function imported(file: string): Promise<Trajectory[]> {
  const out: Trajectory[] = [];
  for await (const r of readForeign(file, 'auto')) if (r.result.ok) out.push(r.result.trajectory);
  return out;
}

/** gemtraj-shaped conversations from tau2 gold actions: parallel calls with text beside them, results, two user turns. */
function fromTau2Tasks(): Trajectory[] {
  const tasks = JSON.parse(readFileSync(`${DATA}/tool-use/tau2/retail-tasks.json`, 'utf8')) as Array<{
    id: string;
    user_scenario: { instructions: { reason_for_call?: string } };
    evaluation_criteria?: { actions?: Array<{ name: string; arguments: Record<string, unknown> }> };
  }>;
  const out: Trajectory[] = [];
  for (const task of tasks) {
    const actions = task.evaluation_criteria?.actions ?? [];
    if (actions.length < 2) continue;
    const calls = actions.map((a, i) => ({ id: `call_${i + 1}`, type: 'function' as const, function: { name: a.name, arguments: JSON.stringify(a.arguments) } }));
    const messages: Message[] = [
      { role: 'system', content: 'You are a retail support agent. Follow the policy.' },
      { role: 'user', content: task.user_scenario.instructions.reason_for_call ?? 'Help me with my order.' },
      { role: 'assistant', content: 'Let me take care of all of that now.', tool_calls: calls.slice(0, 2) },
      ...calls.slice(0, 2).map((c, i): Message => ({ role: 'tool', tool_call_id: c.id, content: JSON.stringify({ ok: true, step: i + 1, note: 'done "quoted" ünïcode' }) })),
      { role: 'assistant', content: 'Both steps are done. Anything else?' },
      { role: 'user', content: 'Yes, finish the rest please.' },
      ...calls.slice(2).flatMap((c): Message[] => [
        { role: 'assistant', content: null, tool_calls: [c] },
        { role: 'tool', tool_call_id: c.id, content: 'plain text result' },
      ]),
      { role: 'assistant', content: 'All done.' },
    ];
    out.push({ id: `tau2_${task.id}`, source: { doc_id: `tau2:${task.id}` }, tools: inferTools(messages), messages });
  }
  return out;
}

let dir: string;
let corpus: Array<{ name: string; trajectories: Trajectory[] }>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-targets-'));
  corpus = [
    { name: 'tau-bench', trajectories: await imported(`${DATA}/tool-use/taubench-airline-gpt4o.json`) },
    { name: 'glaive', trajectories: (await imported(`${DATA}/tool-use/glaive-toolcall-en-demo.sharegpt.json`)).slice(0, 120) },
    { name: 'gemtraj', trajectories: [richTrajectory(), makeValidTrajectory(), ...fromTau2Tasks()] },
  ];
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exports, writes JSONL, reads the bytes back: what a trainer loads. */
function writtenRecords(target: string, trajectories: Trajectory[]): Array<{ id: string; record: Record<string, unknown> }> {
  const t = exportTarget(target as never);
  const file = join(dir, `${target}.jsonl`);
  writeFileSync(file, trajectories.map((x) => `${JSON.stringify(t.convert(x).record)}\n`).join(''));
  return readFileSync(file, 'utf8').trim().split('\n').map((l, i) => ({ id: (trajectories[i] as Trajectory).id, record: JSON.parse(l) as Record<string, unknown> }));
}

// Rendering hundreds of conversations per template in python3 takes seconds, more on a loaded machine.
describe('export targets through their real chat templates (Python Jinja2)', { timeout: 300_000 }, () => {
  it('has a gemtraj corpus with parallel calls, text beside calls and several user turns', () => {
    const g = corpus[2]?.trajectories ?? [];
    expect(g.length).toBeGreaterThan(50);
    expect(g.some((t) => t.messages.some((m) => m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 1 && (m.content ?? '') !== ''))).toBe(true);
    expect(g.every((t) => t.messages.filter((m) => m.role === 'user').length >= 2)).toBe(true);
  });

  for (const target of allTargets().filter((t) => t.template !== undefined)) {
    it.skipIf(!py.ok)(`${target.name}: every conversation renders through ${target.template} with every call and result`, async () => {
      const chat = loadChatTemplate(`${DATA}/chat-templates/${target.template as string}`);
      for (const { name, trajectories } of corpus) {
        const results = await checkRecords(writtenRecords(target.name, trajectories), chat, {
          engine: 'jinja2',
          textBesideCalls: target.rendersTextBesideCalls ? 'required' : 'optional',
        });
        const bad = results.filter((r) => r.status !== 'ok');
        expect(bad.map((r) => `${r.id}: ${r.status}: ${r.problems.join('; ')}`).slice(0, 3), `${target.name} on ${name}`).toEqual([]);
        expect(results).toHaveLength(trajectories.length);
      }
    });
  }

  it.skipIf(!py.ok)('the plain openai export fails where the issue says, and the check reports it (no silent fixing)', async () => {
    const tau = corpus[0]?.trajectories ?? [];
    const plain = tau.map((t, i) => ({ id: t.id, record: { messages: t.messages, tools: t.tools } as Record<string, unknown>, i }));
    const withCalls = tau.filter((t) => t.messages.some((m) => m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 0)).length;
    const verdict = async (tpl: string) => summarizeTemplateChecks(await checkRecords(plain, loadChatTemplate(`${DATA}/chat-templates/${tpl}`), { engine: 'jinja2' }));
    // Hermes / Qwen2.5 / Llama 3.1 tojson the string arguments again: double-encoded.
    for (const tpl of ['vllm-tool_chat_template_hermes.jinja', 'trl/qwen2_5.jinja', 'vllm-tool_chat_template_llama3.1_json.jinja']) {
      expect((await verdict(tpl)).failed, tpl).toBe(withCalls);
    }
    // GLM-4.5 iterates arguments.items(), Qwen3.6 `arguments|items`: raise on a string; gpt-oss raises on null content.
    expect((await verdict('trl/glm4moe.jinja')).render_error).toBe(withCalls);
    expect((await verdict('trl/qwen3_6.jinja')).render_error).toBe(withCalls);
    expect((await verdict('trl/gptoss.jinja')).render_error).toBeGreaterThan(100);
    const one = (await checkRecords(plain.slice(0, 5), loadChatTemplate(`${DATA}/chat-templates/vllm-tool_chat_template_hermes.jinja`), { engine: 'jinja2' })).find((r) => r.status === 'failed');
    expect(one?.problems.join('\n')).toMatch(/double-encoded/);
  });

  it.skipIf(!py.ok)('a single-call template reports parallel calls it cannot take; llama3.1 splits them', async () => {
    const rich = [richTrajectory()];
    const plain = rich.map((t) => ({ id: t.id, record: { messages: t.messages.map((m) => (m.role === 'assistant' && m.tool_calls !== undefined ? { ...m, tool_calls: m.tool_calls.map((c) => ({ ...c, function: { name: c.function.name, arguments: JSON.parse(c.function.arguments) as unknown } })) } : m)), tools: t.tools } }));
    const llama = loadChatTemplate(`${DATA}/chat-templates/trl/llama3_1.jinja`);
    expect((await checkRecords(plain, llama, { engine: 'jinja2' }))[0]).toMatchObject({ status: 'render_error', problems: [expect.stringContaining('only supports single tool-calls')] });
    const split = exportTarget('llama3.1').convert(richTrajectory());
    expect(split.notes).toContain('messages[2]: 2 parallel calls split into consecutive turns');
  });
});

describe('target shapes', () => {
  const rich = richTrajectory();
  const calls = (r: Record<string, unknown>) => (r.messages as Array<{ role: string; content?: unknown; tool_calls?: Array<{ function: { arguments: unknown } }> }>).filter((m) => m.tool_calls !== undefined);

  it('fixes argument encoding and empty content per template', () => {
    const args = (name: string) => calls(exportTarget(name as never).convert(rich).record).map((m) => typeof m.tool_calls?.[0]?.function.arguments);
    for (const n of ['qwen3', 'qwen3.6', 'qwen2.5', 'llama3.1', 'gpt-oss', 'glm4', 'hermes', 'trl', 'axolotl']) expect(new Set(args(n)), n).toEqual(new Set(['object']));
    for (const n of ['deepseek-v3', 'openai-ft']) expect(new Set(args(n)), n).toEqual(new Set(['string']));
    const glm = calls(exportTarget('glm4').convert(rich).record);
    expect(glm.every((m) => typeof m.content === 'string')).toBe(true);
    const oss = calls(exportTarget('gpt-oss').convert(rich).record);
    expect(oss.every((m) => m.content !== null)).toBe(true);
    expect(oss.every((m) => (m.tool_calls ?? []).length === 1)).toBe(true);
    const ft = exportTarget('openai-ft').convert(rich).record;
    expect(calls(ft)[0]?.content).toBeNull();
    // Text turns carry no tool_calls key (templates test `'tool_calls' in message`).
    const hermes = exportTarget('hermes').convert(rich).record.messages as Array<Record<string, unknown>>;
    expect(hermes.filter((m) => m.role === 'assistant' && !('tool_calls' in m)).length).toBeGreaterThan(0);
    expect(hermes.filter((m) => m.role === 'tool').every((m) => typeof m.name === 'string')).toBe(true);
  });

  it('llamafactory: text beside calls inline, one <tool_response> per parallel result, tools "" when none', () => {
    const out = exportTarget('llamafactory').convert(rich).record as { conversations: Array<{ from: string; value: string }>; tools: string };
    const fc = out.conversations.filter((c) => c.from === 'function_call');
    const withText = fc.find((c) => c.value.includes('<tool_call>'));
    expect(withText?.value).toMatch(/^[^<]+\n<tool_call>\{.*\}<\/tool_call>$/s);
    // What LLaMA-Factory's FunctionFormatter does with it: the JSON between the tool_call words.
    const inner = /<tool_call>(.*?)<\/tool_call>/s.exec(withText?.value ?? '')?.[1] ?? '';
    expect(() => JSON.parse(inner) as unknown).not.toThrow();
    const parallel = out.conversations.find((c) => c.from === 'observation' && c.value.includes('</tool_response>'));
    expect(parallel?.value).toBe('{"status":"delivered","items":[1,2]}\n</tool_response>\n<tool_response>\n{"status":"shipped"}');
    expect(out.conversations.map((c) => c.from).every((f, i) => (['human', 'observation'].includes(f) ? i % 2 === 0 : i % 2 === 1))).toBe(true);
    const none = exportTarget('llamafactory').convert({ ...rich, tools: [] }).record as { tools: string };
    expect(none.tools).toBe('');
  });

  it('ms-swift: tool_call / tool_response messages in call order, tools as a JSON string', () => {
    const out = exportTarget('ms-swift').convert(rich).record as { tools: string; messages: Array<{ role: string; content: string }> };
    expect(JSON.parse(out.tools)).toEqual(rich.tools);
    const roles = out.messages.map((m) => m.role);
    expect(roles.slice(0, 6)).toEqual(['system', 'user', 'tool_call', 'tool_call', 'tool_response', 'tool_response']);
    expect(JSON.parse(out.messages[2]?.content ?? '')).toEqual({ name: 'lookup_order', arguments: { order_id: 'A17' } });
    expect(roles).toContain('assistant');
  });

  it('ms-swift-openai: assistant tool_calls with JSON-text arguments, results in call order with their ids, tools as a JSON string', () => {
    const out = exportTarget('ms-swift-openai').convert(rich).record as { tools: string; messages: Array<Record<string, unknown>> };
    expect(JSON.parse(out.tools)).toEqual(rich.tools);
    expect(out.messages.map((m) => m.role).slice(0, 5)).toEqual(['system', 'user', 'assistant', 'tool', 'tool']);
    const turn = out.messages[2] as { content: unknown; tool_calls: Array<{ id: string; type: string; function: { name: string; arguments: unknown } }> };
    expect(turn.tool_calls.map((c) => c.id)).toEqual([out.messages[3]?.tool_call_id, out.messages[4]?.tool_call_id]);
    expect(turn.tool_calls[0]).toMatchObject({ type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"A17"}' } });
    // ms-swift asserts `content is not None` on every message it keeps.
    expect(out.messages.every((m) => typeof m.content === 'string')).toBe(true);
  });
});

/**
 * What ms-swift's MessagesPreprocessor makes of a record, written from its source
 * (modelscope/ms-swift swift/dataset/preprocessor/core.py `_check_messages`, and for ≥ 4.5 the
 * OpenAI normalization of PR #9809 pinned by tests/general/test_data_preprocess.py
 * TestProviderMessagesPreprocess): OpenAI `assistant.tool_calls` become one `tool_call` message
 * each (`{name, arguments}`, string arguments parsed), an assistant turn with no text
 * contributes only its calls; then every message needs a role in its set and a non-null content,
 * and keys other than role/content/loss are dropped. Throws where ms-swift would drop the row.
 */
function swiftPreprocess(record: Record<string, unknown>): Array<{ role: string; content: unknown }> {
  const messages = record.messages as Array<Record<string, unknown>>;
  if (!Array.isArray(messages) || messages.length === 0) throw new Error('messages: empty');
  const out: Array<{ role: string; content: unknown }> = [];
  for (const m of messages) {
    const calls = m.role === 'assistant' ? (m.tool_calls as Array<{ function: { name: unknown; arguments: unknown } }> | undefined) : undefined;
    if (calls !== undefined && calls.length > 0) {
      if (typeof m.content === 'string' && m.content !== '') out.push({ role: 'assistant', content: m.content });
      for (const c of calls) {
        const args = typeof c.function.arguments === 'string' ? (JSON.parse(c.function.arguments) as unknown) : c.function.arguments;
        out.push({ role: 'tool_call', content: { name: c.function.name, arguments: args } });
      }
      continue;
    }
    if (!['system', 'user', 'tool_call', 'tool_response', 'tool', 'assistant'].includes(m.role as string)) throw new Error(`role ${String(m.role)}`);
    if (m.content === null || m.content === undefined) throw new Error(`content is None: ${JSON.stringify(m)}`);
    out.push({ role: m.role as string, content: m.content });
  }
  return out;
}

/** The agent templates' view of canonical messages: `tool` = `tool_response`, call content parsed. */
function agentView(messages: Array<{ role: string; content: unknown }>): Array<{ role: string; content: unknown }> {
  return messages.map((m) =>
    m.role === 'tool' ? { role: 'tool_response', content: m.content } : m.role === 'tool_call' && typeof m.content === 'string' ? { role: m.role, content: JSON.parse(m.content) as unknown } : m,
  );
}

describe('ms-swift-openai as ms-swift ≥ 4.5 reads it', { timeout: 300_000 }, () => {
  it('every record keeps what ms-swift requires and becomes exactly the agent-format conversation (calls, results, text beside calls)', () => {
    for (const { name, trajectories } of corpus) {
      const openai = writtenRecords('ms-swift-openai', trajectories);
      const agent = writtenRecords('ms-swift', trajectories);
      openai.forEach(({ id, record }, i) => {
        // JSON text for arguments and tools: one Arrow schema across rows when `datasets` loads the JSONL.
        expect(typeof record.tools, `${name} ${id}`).toBe('string');
        const msgs = record.messages as Array<{ role: string; tool_calls?: Array<{ function: { arguments: unknown } }> }>;
        expect(msgs.flatMap((m) => m.tool_calls ?? []).every((c) => typeof c.function.arguments === 'string'), `${name} ${id}`).toBe(true);
        const canonical = agentView(swiftPreprocess(record));
        expect(canonical, `${name} ${id}`).toEqual(agentView(swiftPreprocess(agent[i]?.record ?? {})));
        // Every call once with a known tool name and an object of arguments; every result once.
        const t = trajectories[i] as Trajectory;
        const toolNames = new Set((JSON.parse(record.tools as string) as Array<{ function: { name: string } }>).map((x) => x.function.name));
        const calls = canonical.filter((m) => m.role === 'tool_call').map((m) => m.content as { name: string; arguments: unknown });
        expect(calls.length, `${name} ${id}`).toBe(t.messages.reduce((n, m) => n + (m.role === 'assistant' ? (m.tool_calls?.length ?? 0) : 0), 0));
        expect(calls.every((c) => toolNames.has(c.name) && typeof c.arguments === 'object' && c.arguments !== null && !Array.isArray(c.arguments)), `${name} ${id}`).toBe(true);
        expect(canonical.filter((m) => m.role === 'tool_response').length, `${name} ${id}`).toBe(t.messages.filter((m) => m.role === 'tool').length);
      });
    }
  });

  it('the same conversations written for ms-swift < 4.5 (only role/content kept) would lose every call: why ms-swift stays the agent format', () => {
    const record = exportTarget('ms-swift-openai').convert(richTrajectory()).record;
    const old = (record.messages as Array<Record<string, unknown>>).map((m) => ({ role: m.role, content: m.content }));
    expect(old.some((m) => m.role === 'tool_call')).toBe(false);
    expect(agentView(swiftPreprocess(exportTarget('ms-swift').convert(richTrajectory()).record)).filter((m) => m.role === 'tool_call').length).toBe(3);
  });
});

describe('llamafactory and ms-swift as their trainers read them', { timeout: 300_000 }, () => {
  it('llamafactory round-trips through the ShareGPT importer (text beside calls and every result kept)', async () => {
    const { fromShareGPT } = await import('../src/formats/sharegpt.js');
    const { canonicalCallIds } = await import('../src/formats/common.js');
    const rich = richTrajectory();
    const back = fromShareGPT(JSON.parse(JSON.stringify(exportTarget('llamafactory').convert(rich).record)));
    expect(back.ok).toBe(true);
    if (back.ok) expect(back.trajectory.messages).toEqual(canonicalCallIds(rich).messages);
  });

  it.skipIf(!py.ok)('read the way LLaMA-Factory and ms-swift do, they render through Qwen3 as native Qwen3 data', async () => {
    const { readLlamaFactory, readMsSwift } = await import('../src/formats/targets/trainer-readers.js');
    const lf = (r: Record<string, unknown>) => readLlamaFactory(r) ?? {};
    const swift = (r: Record<string, unknown>) => readMsSwift(r) ?? {};
    const qwen3 = loadChatTemplate(`${DATA}/chat-templates/trl/qwen3.jinja`);
    for (const { name, trajectories } of corpus) {
      for (const [target, read] of [['llamafactory', lf], ['ms-swift', swift], ['ms-swift-openai', swift]] as const) {
        const records = writtenRecords(target, trajectories).map((w) => ({ id: w.id, record: read(w.record) }));
        // The reader must hand every call on (the check counts calls in what it is given).
        records.forEach((r, i) => {
          const want = (trajectories[i] as Trajectory).messages.reduce((n, m) => n + (m.role === 'assistant' ? (m.tool_calls?.length ?? 0) : 0), 0);
          const got = ((r.record.messages ?? []) as Array<{ tool_calls?: unknown[] }>).reduce((n, m) => n + (m.tool_calls?.length ?? 0), 0);
          expect(got, `${target} ${r.id}`).toBe(want);
        });
        const results = await checkRecords(records, qwen3, { engine: 'jinja2' });
        const bad = results.filter((r) => r.status !== 'ok');
        expect(bad.map((r) => `${r.id}: ${r.status}: ${r.problems.join('; ')}`).slice(0, 3), `${target} on ${name}`).toEqual([]);
      }
    }
  });
});

/**
 * Time (issue 12, B1): a fixed "now" per trajectory, drawn deterministically from config `now`,
 * stated in the generator's prompt and the conversation's system prompt, carried through
 * refinement into the judge and recorded as `meta.now`; and the provenance wording (B8) the
 * v2 prompts share with the validator. v1 requests stay as they were.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { loadConfig } from '../src/config.js';
import type { CompletionRequest, CompletionResult, LlmClient, StructuredRequest, StructuredResult } from '../src/llm/types.js';
import { buildGenerateMessages } from '../src/prompts/generate.js';
import { buildJudgeMessages } from '../src/prompts/judge.js';
import { checkNowSetting, describeNow, nowLine, trajectoryNow } from '../src/prompts/now.js';
import { buildRefineMessages } from '../src/prompts/refine.js';
import { trajectoryId, type Extraction, type StageName, type Trajectory } from '../src/records.js';
import { generateTrajectory } from '../src/stages/generate.js';
import { judgeTrajectory } from '../src/stages/judge.js';
import { refineTrajectory } from '../src/stages/refine.js';
import { stepOptions } from '../src/pipeline/steps/options.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';

/** Records structured requests and answers with a fixed value (checked against the request's schema). */
class FakeLlm implements LlmClient {
  readonly requests: StructuredRequest<unknown>[] = [];
  constructor(private readonly answer: unknown) {}
  complete(_request: CompletionRequest): Promise<CompletionResult> {
    return Promise.reject(new Error('structured() only'));
  }
  async structured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    this.requests.push(request as StructuredRequest<unknown>);
    const usage = { prompt_tokens: 10, completion_tokens: 10 };
    const parsed = (request.schema as z.ZodType<T>).safeParse(this.answer);
    if (!parsed.success) return { ok: false, error: parsed.error.message, raw: '', model: 'fake', usage, attempts: 1 };
    return { ok: true, value: parsed.data, raw: '', model: 'fake', usage, attempts: 1 };
  }
  modelFor(_stage: StageName): string {
    return 'fake';
  }
  system(i = 0): string {
    return String(this.requests[i]?.messages[0]?.content ?? '');
  }
}

const TOOL = { type: 'function' as const, function: { name: 'get_order', description: 'Get an order.', parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] } } };
const EXTRACTION: Extraction = {
  id: 'seg_1',
  source: { doc_id: 'doc_1', segment_id: 'seg_1' },
  domain: 'shopping',
  platform: 'computer',
  task_category: 'ecommerce_and_retail',
  rules: ['Returns within 14 days of delivery.'],
  tools: [TOOL],
  workflows: [{ name: 'return_item', description: 'Return an item.', intents: ['return'], steps: [{ action: 'look up', tool: 'get_order', depends_on: [], condition: null }], execution_graph: '(get_order)', rules: [] }],
} as unknown as Extraction;
const turns = [
  { role: 'user', content: 'Return order W1.', tool_calls: [] },
  { role: 'assistant', content: 'Done.', tool_calls: [] },
];
const generated = (systemPrompt: string) => ({ user_persona: 'Ana', system_prompt: systemPrompt, patterns: ['clarification'], turns });

describe('the fixed now of a trajectory', () => {
  it('is deterministic per trajectory id and setting, within the range, in working hours', () => {
    const a = trajectoryNow('seg_1_w0', '2025-01-01..2025-12-31');
    expect(trajectoryNow('seg_1_w0', '2025-01-01..2025-12-31')).toBe(a);
    expect(a).toMatch(/^2025-\d{2}-\d{2}T(0[89]|1\d):\d{2}$/);
    const many = new Set(Array.from({ length: 40 }, (_, i) => trajectoryNow(`t${i}`, '2025-01-01..2025-12-31').slice(0, 10)));
    expect(many.size).toBeGreaterThan(30);
    expect(trajectoryNow('x', '2025-06-02').slice(0, 10)).toBe('2025-06-02');
    expect(trajectoryNow('x', '2025-06-02T09:15')).toBe('2025-06-02T09:15');
    expect(describeNow('2025-03-14T10:37')).toBe('Friday, 14 March 2025, 10:37');
  });

  it('config now: a date, a date and time, or a range; anything else is refused with the allowed forms', () => {
    expect(loadConfig({ env: {}, flags: {} }).now).toBe('2025-01-01..2026-12-31');
    expect(loadConfig({ env: {}, flags: { now: '2025-06-02' } }).now).toBe('2025-06-02');
    expect(() => loadConfig({ env: {}, flags: { now: 'next week' } })).toThrow(/now/);
    expect(() => loadConfig({ env: {}, flags: { now: '2025-02-30' } })).toThrow(/not a calendar date/);
    expect(() => checkNowSetting('2025-12-31..2025-01-01')).toThrow(/ends before it starts/);
    expect(stepOptions(loadConfig({ env: {}, flags: { now: '2025-06-02' } })).generate.now).toBe('2025-06-02');
  });
});

describe('generation states the now and records it', () => {
  it('v2: the teacher is told the date, how to keep tool results consistent, and how a user comes back later', async () => {
    const llm = new FakeLlm(generated('You are a store agent.'));
    const out = await generateTrajectory({ extraction: EXTRACTION, workflowIndex: 0, sourceText: 'text' }, { temperature: 0.7, now: '2025-03-14T10:37' }, llm);
    const system = llm.system();
    expect(system).toContain('Time: the conversation takes place on Friday, 14 March 2025, 10:37.');
    expect(system).toContain(`states it on its own line, exactly: "${nowLine('2025-03-14T10:37')}"`);
    expect(system).toMatch(/tool results is consistent with it: past events .* carry dates before now/);
    expect(system).toMatch(/the user may come back later in the same conversation\. Their message says how much time has passed/);
    expect(system).toContain('timestamps that have moved forward');
    if (!out.ok) throw new Error('expected ok');
    // The teacher left the date out: the line is added; the now is recorded.
    expect(out.value.messages[0]?.content).toBe(`You are a store agent.\n\n${nowLine('2025-03-14T10:37')}`);
    expect(out.value.meta?.now).toBe('2025-03-14T10:37');
  });

  it('does not add the line twice when the teacher stated the date, and a rerun asks the same question', async () => {
    const stated = `Store agent.\n${nowLine('2025-03-14T10:37')}`;
    const llm = new FakeLlm(generated(stated));
    const options = { temperature: 0.7, now: '2025-01-01..2025-12-31' };
    const first = await generateTrajectory({ extraction: EXTRACTION, workflowIndex: 0, sourceText: 'text' }, { ...options, now: '2025-03-14T10:37' }, llm);
    expect(first.ok && first.value.messages[0]?.content).toBe(stated);
    await generateTrajectory({ extraction: EXTRACTION, workflowIndex: 0, sourceText: 'text' }, options, llm);
    await generateTrajectory({ extraction: EXTRACTION, workflowIndex: 0, sourceText: 'text' }, options, llm);
    expect(llm.requests[1]?.messages).toEqual(llm.requests[2]?.messages);
    expect(llm.system(1)).toContain(`Time: the conversation takes place on ${describeNow(trajectoryNow(trajectoryId('seg_1', 0), options.now))}`);
  });

  it('v1: no time rules, no meta.now', async () => {
    const llm = new FakeLlm(generated('You are a store agent.'));
    const out = await generateTrajectory({ extraction: EXTRACTION, workflowIndex: 0, sourceText: 'text' }, { temperature: 0.7, promptSet: 'v1' }, llm);
    expect(llm.system()).not.toContain('Time:');
    expect(out.ok && out.value.meta?.now).toBeUndefined();
    expect(out.ok && out.value.messages[0]?.content).toBe('You are a store agent.');
  });
});

describe('refinement and the judge use the trajectory\'s own now', () => {
  const trajectory = (): Trajectory => ({ ...makeValidTrajectory(), meta: { now: '2025-11-03T16:05', persona: 'Sam' } });

  it('refinement keeps it: in the prompt, in the rewritten system prompt, in meta', async () => {
    const t = trajectory();
    const answer = { user_persona: 'Sam', tools: [], system_prompt: 'Rules.', patterns: [], pitfalls: [], turns };
    const llm = new FakeLlm(answer);
    const out = await refineTrajectory(t, 'source', { temperature: 0.7 }, llm);
    expect(llm.system()).toContain('Time: the conversation takes place on Monday, 3 November 2025, 16:05.');
    expect(llm.system()).toContain('Keep the times the current conversation already has');
    if (!out.ok) throw new Error(JSON.stringify(out.reasons));
    expect(out.value.messages[0]?.content).toContain(nowLine('2025-11-03T16:05'));
    expect(out.value.meta?.now).toBe('2025-11-03T16:05');
    expect(buildRefineMessages({ sourceText: 's', tools: [], messages: t.messages, promptSet: 'v1', now: '2025-11-03T16:05' })[0]?.content).not.toContain('Time:');
  });

  it('the judge judges deadlines against it', async () => {
    const llm = new FakeLlm({ R1: { reason: 'ok', pass: true }, R2: { reason: 'ok', pass: true }, R3: { reason: 'ok', pass: true } });
    await judgeTrajectory(trajectory(), {}, llm);
    const system = llm.system();
    expect(system).toContain('this conversation takes place on Monday, 3 November 2025, 16:05');
    expect(system).toMatch(/Judge deadlines, windows .* against this date/);
    expect(system).toContain('Time may move forward inside the conversation');
    await judgeTrajectory(trajectory(), { promptSet: 'v1' }, llm);
    expect(llm.system(1)).not.toContain('takes place on');
    // No recorded now (imported data): no time note.
    expect(buildJudgeMessages({ trajectory: makeValidTrajectory() })[0]?.content).not.toContain('takes place on');
  });
});

describe('provenance wording (B8) in the v2 prompts', () => {
  const input = { sourceText: 'x', domain: 'd', rules: [], workflow: EXTRACTION.workflows[0]!, tools: [TOOL] };
  it('the generator and the refiner allow plain derivations and documented defaults; v1 does not', () => {
    const v2 = buildGenerateMessages(input)[0]?.content ?? '';
    expect(v2).toContain('"the last 12 hours" sent as window_minutes 720');
    expect(v2).toContain('its calling turn says so in a few words');
    expect(v2).toContain('set to the default its description documents');
    const r2 = buildRefineMessages({ sourceText: 'x', tools: [TOOL], messages: [] })[0]?.content ?? '';
    expect(r2).toContain('"the last 12 hours" sent as window_minutes 720');
    expect(buildGenerateMessages({ ...input, promptSet: 'v1' })[0]?.content).not.toContain('window_minutes');
    expect(buildRefineMessages({ sourceText: 'x', tools: [TOOL], messages: [], promptSet: 'v1' })[0]?.content).not.toContain('window_minutes');
  });

  it('the judge credits them under R1 in v2 only', () => {
    const v2 = buildJudgeMessages({ trajectory: makeValidTrajectory() })[0]?.content ?? '';
    expect(v2).toContain('a unit conversion of a stated number ("the last 12 hours" sent as window_minutes 720');
    expect(v2).toContain('a value the assistant works out and states in the calling turn itself');
    expect(v2).toContain('an optional parameter set to the default its tool description documents');
    expect(buildJudgeMessages({ trajectory: makeValidTrajectory(), promptSet: 'v1' })[0]?.content).not.toContain('window_minutes');
  });
});

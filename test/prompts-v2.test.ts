/** Prompt set v2 texts (rules once, length targets that fit the work), and v1 kept as it was. */
import { describe, expect, it } from 'vitest';
import { buildGenerateMessages, lengthTarget } from '../src/prompts/generate.js';
import { buildRefineMessages, refineAnswerSchema, refineTarget } from '../src/prompts/refine.js';
import { dedupeRules } from '../src/prompts/rules.js';
import { loadConfig } from '../src/config.js';
import { stepOptions } from '../src/pipeline/steps/options.js';
import { parallelCallsRule } from '../src/prompts/shared.js';
import type { Message, Tool, Trajectory, Workflow } from '../src/records.js';
import { validateTrajectory } from '../src/validate/index.js';
import { toJsonSchema } from '../src/llm/structured.js';

const tool = (name: string): Tool => ({ type: 'function', function: { name, description: name, parameters: { type: 'object', properties: {} } } });
const TOOLS = ['find_booking', 'get_fare_rules', 'cancel_booking', 'issue_refund', 'send_receipt', 'verify_member'].map(tool);
const step = (i: number) => ({ action: `step ${i}`, tool: TOOLS[i % TOOLS.length]!.function.name, depends_on: i > 0 ? [i - 1] : [], condition: null });
const workflow = (steps: number, rules: string[] = []): Workflow =>
  ({ name: 'cancel_trip', description: 'Cancel a trip', intents: ['cancel'], steps: Array.from({ length: steps }, (_, i) => step(i)), rules, execution_graph: '0' }) as unknown as Workflow;
const system = (m: Message[]) => m.find((x) => x.role === 'system')?.content ?? '';
const user = (m: Message[]) => m.find((x) => x.role === 'user')?.content ?? '';

describe('rules once', () => {
  it('drops exact and near repeats, keeping the longer wording in the first place', () => {
    expect(
      dedupeRules([
        'Basic economy fares cannot be cancelled after 24 hours.',
        'Sign in with the member number first.',
        'basic economy fares cannot be cancelled after 24 hours',
        'Sign in with your member number first.',
        'Refunds go to the original payment method.',
      ]),
    ).toEqual(['Basic economy fares cannot be cancelled after 24 hours.', 'Sign in with your member number first.', 'Refunds go to the original payment method.']);
    // Different numbers are different rules.
    expect(dedupeRules(['Refunds within 14 days.', 'Refunds within 30 days.'])).toHaveLength(2);
  });

  it('the generator gets each rule once in v2, and the 0.2 list in v1', () => {
    const input = { sourceText: 'x', domain: 'travel', rules: ['Sign in first.', 'No refunds after departure.'], workflow: workflow(4, ['sign in first', 'Fees apply to changes.']), tools: TOOLS };
    const v2 = user(buildGenerateMessages(input));
    expect(v2.match(/sign in first/gi)).toHaveLength(1);
    expect(v2).toContain('- Fees apply to changes.');
    expect(user(buildGenerateMessages({ ...input, promptSet: 'v1' })).match(/sign in first/gi)).toHaveLength(2);
  });
});

describe('length targets that fit the work', () => {
  it('scale with the workflow: a 12-step workflow is not asked to fit 40 turns', () => {
    expect(lengthTarget(12, 8)).toContain('about 46 to 70 turns');
    expect(lengthTarget(12, 8)).toContain('at least 12 tool calls over at least 6 different tools');
    expect(lengthTarget(3, 4)).toContain('about 19 to 33 turns');
    expect(lengthTarget(3, 2)).toContain('at least 2 different tools');
    expect(lengthTarget(5, 5)).toMatch(/tool turns all count/);
    const v2 = system(buildGenerateMessages({ sourceText: 'x', domain: 'd', rules: [], workflow: workflow(12), tools: TOOLS }));
    expect(v2).toContain('about 46 to 70 turns');
    expect(v2).not.toContain('20 to 40 turns');
    const v1 = system(buildGenerateMessages({ sourceText: 'x', domain: 'd', rules: [], workflow: workflow(12), tools: TOOLS, promptSet: 'v1' }));
    expect(v1).toContain('Length: about 20 to 40 turns, at least 4 tool calls over at least 3 different tools');
  });

  it('refinement targets are relative to the conversation it receives, with no unrelated padding', () => {
    const call = (id: string, name: string) => ({ id, type: 'function' as const, function: { name, arguments: '{}' } });
    const conversation: Message[] = [
      { role: 'system', content: 's' },
      { role: 'user', content: 'cancel my trip' },
      { role: 'assistant', content: null, tool_calls: [call('c1', 'find_booking')] },
      { role: 'tool', tool_call_id: 'c1', content: '{}' },
      { role: 'assistant', content: null, tool_calls: [call('c2', 'get_fare_rules')] },
      { role: 'tool', tool_call_id: 'c2', content: '{}' },
      { role: 'assistant', content: 'Done.' },
    ];
    const target = refineTarget(conversation, 5);
    expect(target).toContain('(6 turns, 2 tool calls, 2 distinct tools; tool turns count)');
    expect(target).toContain('at least 4 tool calls');
    expect(target).toContain('up to 4 distinct tools');
    expect(target).toMatch(/never add an unrelated task/);
    const v2 = system(buildRefineMessages({ sourceText: 'x', tools: TOOLS.slice(0, 5), messages: conversation }));
    expect(v2).toContain(target);
    expect(v2).not.toContain('at least 6 distinct tools');
    const v1 = system(buildRefineMessages({ sourceText: 'x', tools: TOOLS.slice(0, 5), messages: conversation, promptSet: 'v1' }));
    expect(v1.endsWith('Target size: 30 to 60 turns, at least 6 distinct tools, at least 10 tool calls.')).toBe(true);
  });
});

describe('rules that differ in a number', () => {
  it('are never merged, however alike their words', () => {
    expect(dedupeRules(['A customer may change a confirmed booking at most 3 times before the departure date.', 'A customer may change a confirmed booking at most 5 times before the departure date.'])).toHaveLength(2);
  });
});

describe('the persona survives refinement', () => {
  it('v2 shows the persona and asks for the refined one; v1 neither', () => {
    const messages: Message[] = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }];
    const v2 = user(buildRefineMessages({ sourceText: 'x', tools: TOOLS, messages, persona: 'Ana, a member flying to Lima' }));
    expect(v2).toContain('Current user persona: Ana, a member flying to Lima');
    expect(v2).toContain('and the user persona as it is after your rewrite');
    expect(Object.keys(toJsonSchema(refineAnswerSchema('v2')).schema.properties as object)).toContain('user_persona');
    const v1 = user(buildRefineMessages({ sourceText: 'x', tools: TOOLS, messages, persona: 'Ana', promptSet: 'v1' }));
    expect(v1).not.toContain('persona');
    expect(Object.keys(toJsonSchema(refineAnswerSchema('v1')).schema.properties as object)).not.toContain('user_persona');
  });
});

describe('one rule for parallel calls', () => {
  const input = { sourceText: 'x', domain: 'd', rules: [], workflow: workflow(4), tools: TOOLS };
  const messages: Message[] = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }];

  it('generation and refinement state the same rule, forbid by default', () => {
    const forbid = parallelCallsRule('forbid');
    expect(system(buildGenerateMessages(input))).toContain(forbid);
    expect(system(buildRefineMessages({ sourceText: 'x', tools: TOOLS, messages }))).toContain(forbid);
    const allow = parallelCallsRule('allow');
    expect(system(buildGenerateMessages({ ...input, parallelCalls: 'allow' }))).toContain(allow);
    const refineAllow = system(buildRefineMessages({ sourceText: 'x', tools: TOOLS, messages, parallelCalls: 'allow' }));
    expect(refineAllow).toContain(allow);
    // No contradicting sentence left over from v1.
    expect(refineAllow).not.toContain('at most one tool call per assistant turn');
    expect(system(buildRefineMessages({ sourceText: 'x', tools: TOOLS, messages, promptSet: 'v1' }))).toContain('at most one tool call per assistant turn');
    expect(system(buildGenerateMessages({ ...input, promptSet: 'v1' }))).not.toContain(forbid);
  });

  it('the validator enforces it where the run forbids parallel calls (v2), and only there', () => {
    const call = (id: string) => ({ id, type: 'function' as const, function: { name: 'find_booking', arguments: '{}' } });
    const t = {
      id: 't',
      source: { doc_id: 'd' },
      tools: TOOLS,
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'u' },
        { role: 'assistant', content: null, tool_calls: [call('a'), call('b')] },
        { role: 'tool', tool_call_id: 'a', content: '{}' },
        { role: 'tool', tool_call_id: 'b', content: '{}' },
        { role: 'assistant', content: 'done' },
      ],
    } as unknown as Trajectory;
    const checksOf = (flags: Record<string, unknown>) =>
      validateTrajectory(t, stepOptions(loadConfig({ env: {}, flags })).validate).errors.map((r) => r.check);
    expect(checksOf({})).toContain('parallel_calls');
    expect(validateTrajectory(t, stepOptions(loadConfig({ env: {}, flags: {} })).validate).errors.find((r) => r.check === 'parallel_calls')?.path).toBe('messages[2].tool_calls');
    expect(checksOf({ parallel_calls: 'allow' })).not.toContain('parallel_calls');
    expect(checksOf({ prompts: 'v1' })).not.toContain('parallel_calls');
    // Off by default for the validator as a library (real logs call tools in parallel).
    expect(validateTrajectory(t).errors.map((r) => r.check)).not.toContain('parallel_calls');
  });
});

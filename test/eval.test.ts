/**
 * `gemtraj eval` against a mock model that answers a known share of turns exactly like the
 * reference and the rest wrongly in known ways: another function, a wrong argument, text
 * instead of a call, a call instead of a question, no question; and rightly in ways a naive
 * scorer would miss: parallel calls in another order, 12.0 for 12, a default spelled out,
 * calls written as Hermes text. The reported figures must equal the planted ones, turn by turn.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalSummary } from '../src/eval/summary.js';
import type { TurnScore } from '../src/eval/score.js';
import type { Message, Tool, Trajectory } from '../src/records.js';
import { errorReply, startMockServer, type MockReply, type MockRequest, type MockServer } from '../src/testing/mock-server.js';
import { readLines, runCli } from './helpers/cli.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const fn = (name: string, properties: Record<string, unknown>, required: string[]): Tool => ({
  type: 'function',
  function: { name, description: name, parameters: { type: 'object', properties, required } },
});
const TOOLS: Tool[] = [
  fn('get_order', { order_id: { type: 'string' } }, ['order_id']),
  fn('check_item', { item_id: { type: 'integer' } }, ['item_id']),
  fn('refund', { order_id: { type: 'string' }, amount: { type: 'number' }, reason: { type: 'string', default: 'other' } }, ['order_id', 'amount']),
  fn('get_flight', { flight: { type: 'string' } }, ['flight']),
];

let callN = 0;
const tc = (name: string, args: Record<string, unknown>) => ({ id: `call_${++callN}`, type: 'function' as const, function: { name, arguments: JSON.stringify(args) } });
const user = (content: string): Message => ({ role: 'user', content });
const say = (content: string): Message => ({ role: 'assistant', content });
const calls = (...c: ReturnType<typeof tc>[]): Message => ({ role: 'assistant', content: null, tool_calls: c });
const result = (id: string, content: string): Message => ({ role: 'tool', tool_call_id: id, content });

function traj(id: string, doc: string, domain: string, patterns: string[], body: Message[]): Trajectory {
  return { id, source: { doc_id: doc }, domain, tools: TOOLS, messages: [{ role: 'system', content: `[${id}] You help customers.` }, ...body], meta: { patterns } };
}

// T1 retail: ask → call → parallel → answer
const t1c1 = tc('get_order', { order_id: 'A17' });
const t1p1 = tc('check_item', { item_id: 1 });
const t1p2 = tc('check_item', { item_id: 2 });
const T1 = traj('t1', 'doc1', 'retail', ['clarification'], [
  user('I want to return my order.'),
  say('Could you give me your order id?'), // #2 ask
  user('A17'),
  calls(t1c1), // #4 call
  result(t1c1.id, '{"items":[1,2]}'),
  calls(t1p1, t1p2), // #6 parallel
  result(t1p1.id, '{"ok":true}'),
  result(t1p2.id, '{"ok":true}'),
  say('Both items can be returned.'), // #9 answer
]);
// T2 retail: call (refund with 12) → answer
const t2c1 = tc('refund', { order_id: 'B2', amount: 12 });
const T2 = traj('t2', 'doc2', 'retail', ['error_recovery'], [
  user('Refund 12 dollars on order B2.'),
  calls(t2c1), // #2 call
  result(t2c1.id, '{"refunded":12}'),
  say('Done: 12 dollars refunded.'), // #4 answer
]);
// T3 airline: call → ask → answer
const t3c1 = tc('get_flight', { flight: 'LH400' });
const T3 = traj('t3', 'doc3', 'airline', ['clarification'], [
  user('Is LH400 on time?'),
  calls(t3c1), // #2 call
  result(t3c1.id, '{"status":"delayed"}'),
  say('It is delayed. Would you like me to rebook you? Please tell me your booking code.'), // #4 ask
  user('No thanks.'),
  say('All right, have a good flight.'), // #6 answer
]);
// T4 airline: call (refund without its default reason) → answer (everything right)
const t4c1 = tc('refund', { order_id: 'C3', amount: 5 });
const T4 = traj('t4', 'doc4', 'airline', [], [user('Refund 5 on C3.'), calls(t4c1), result(t4c1.id, '{"refunded":5}'), say('C3 is refunded.')]);
// T5 retail: call → call → ask → answer
const t5c1 = tc('get_order', { order_id: 'Q1' });
const t5c2 = tc('check_item', { item_id: 3 });
const T5 = traj('t5', 'doc5', 'retail', ['clarification', 'error_recovery'], [
  user('Check order Q1.'),
  calls(t5c1), // #2 call
  result(t5c1.id, '{"items":[3]}'),
  calls(t5c2), // #4 call
  result(t5c2.id, '{"ok":true}'),
  say('Which item do you want to return?'), // #6 ask
  user('Item 3.'),
  say('Item 3 is returnable.'), // #8 answer
]);

const REFS = [T1, T2, T3, T4, T5];

type Plan =
  | 'exact' // the reference turn, native calls
  | 'hermes' // the reference calls as <tool_call> text
  | 'reorder' // parallel calls reversed
  | 'float' // 12 written as 12.0
  | 'default' // reason: "other" spelled out
  | 'other_fn'
  | 'wrong_arg'
  | 'text_for_call'
  | 'call_for_ask'
  | 'no_ask'
  | 'closer'; // an answer ending with "Anything else?"

/** The planted answer per turn and whether it is right. */
const PLAN: Record<string, { plan: Plan; correct: boolean }> = {
  't1#2': { plan: 'exact', correct: true },
  't1#4': { plan: 'hermes', correct: true },
  't1#6': { plan: 'reorder', correct: true },
  't1#9': { plan: 'closer', correct: true },
  't2#2': { plan: 'float', correct: true },
  't2#4': { plan: 'exact', correct: true },
  't3#2': { plan: 'other_fn', correct: false },
  't3#4': { plan: 'call_for_ask', correct: false },
  't3#6': { plan: 'exact', correct: true },
  't4#2': { plan: 'default', correct: true },
  't4#4': { plan: 'exact', correct: true },
  't5#2': { plan: 'wrong_arg', correct: false },
  't5#4': { plan: 'text_for_call', correct: false },
  't5#6': { plan: 'no_ask', correct: false },
  't5#8': { plan: 'exact', correct: true },
};

const refsById = new Map(REFS.map((t) => [t.id, t]));

function answerFor(request: MockRequest): MockReply {
  const messages = request.body.messages ?? [];
  const id = /^\[(\w+)\]/.exec(String(messages[0]?.content ?? ''))?.[1] ?? '';
  const t = refsById.get(id);
  const turn = `${id}#${messages.length}`;
  const entry = PLAN[turn];
  const ref = t?.messages[messages.length];
  if (t === undefined || entry === undefined || ref?.role !== 'assistant') return errorReply(400, `mock: no plan for ${turn}`);
  const refCalls = (ref.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
  switch (entry.plan) {
    case 'exact':
      return refCalls.length > 0 ? { kind: 'text', content: null, toolCalls: refCalls } : { kind: 'text', content: ref.content ?? '' };
    case 'hermes':
      return { kind: 'text', content: refCalls.map((c) => `<tool_call>\n{"name": "${c.name}", "arguments": ${c.arguments}}\n</tool_call>`).join('\n') };
    case 'reorder':
      return { kind: 'text', content: null, toolCalls: [...refCalls].reverse() };
    case 'float':
      return { kind: 'text', content: null, toolCalls: [{ id: 'x', name: 'refund', arguments: '{"amount": 12.0, "order_id": "B2"}' }] };
    case 'default':
      return { kind: 'text', content: null, toolCalls: refCalls.map((c) => ({ ...c, arguments: JSON.stringify({ reason: 'other', ...(JSON.parse(c.arguments) as object) }) })) };
    case 'other_fn':
      return { kind: 'text', content: null, toolCalls: [{ id: 'x', name: 'get_order', arguments: '{"order_id": "LH400"}' }] };
    case 'wrong_arg':
      return { kind: 'text', content: null, toolCalls: [{ id: 'x', name: refCalls[0]?.name ?? '', arguments: '{"order_id": "ZZZ"}' }] };
    case 'text_for_call':
      return { kind: 'text', content: 'Let me check that for you.' };
    case 'call_for_ask':
      return { kind: 'text', content: null, toolCalls: [{ id: 'x', name: 'get_flight', arguments: '{"flight": "LH401"}' }] };
    case 'no_ask':
      return { kind: 'text', content: 'It is delayed.' };
    case 'closer':
      return { kind: 'text', content: 'Both items can be returned. Is there anything else I can help you with?' };
  }
}

let server: MockServer;
let work: string;
let input: string;

beforeAll(async () => {
  server = await startMockServer({ handler: answerFor });
  work = mkdtempSync(join(tmpdir(), 'gemtraj-eval-'));
  input = join(work, 'heldout.jsonl');
  writeFileSync(input, REFS.map((t) => JSON.stringify(t)).join('\n') + '\n');
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

const model = (out: string, ...extra: string[]): string[] => ['eval', input, '--out', out, '--base-url', server.url, '--model', 'm', '--max-retries', '0', '--quiet', ...extra];

describe('gemtraj eval on planted answers', () => {
  let summary: EvalSummary;
  let turns: TurnScore[];
  const out = (): string => join(work, 'a');

  beforeAll(async () => {
    const r = await runCli([...model(out()), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    summary = JSON.parse(r.stdout) as EvalSummary;
    turns = readLines(join(out(), 'turns.jsonl')) as unknown as TurnScore[];
  });

  it('scores every turn exactly as planted', () => {
    const got = Object.fromEntries(turns.map((t) => [t.id, t.correct]));
    expect(got).toEqual(Object.fromEntries(Object.entries(PLAN).map(([id, p]) => [id, p.correct])));
  });

  it('sends the reference prefix and the tools natively, at temperature 0', () => {
    const first = server.requests.find((r) => (r.body.messages ?? []).length === 4 && String(r.body.messages?.[0]?.content).startsWith('[t1]'));
    expect(first?.body.tools).toEqual(TOOLS);
    expect(first?.body.temperature).toBe(0);
    expect(first?.body.messages?.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(first?.body.messages?.[2]?.content).toBe('Could you give me your order id?');
  });

  it('reads Hermes calls, accepts reordered parallel calls, 12.0 for 12 and spelled-out defaults', () => {
    const byId = new Map(turns.map((t) => [t.id, t]));
    expect(byId.get('t1#4')).toMatchObject({ kind: 'call', correct: true, got: { via: 'hermes' } });
    expect(byId.get('t1#6')).toMatchObject({ kind: 'parallel', correct: true, call_ok: true, got: { via: 'native' } });
    expect(byId.get('t2#2')).toMatchObject({ correct: true, call_ok: true });
    expect(byId.get('t4#2')).toMatchObject({ correct: true, got: { calls: [{ name: 'refund', arguments: { reason: 'other', order_id: 'C3', amount: 5 } }] } });
  });

  it('says why a wrong turn is wrong', () => {
    const byId = new Map(turns.map((t) => [t.id, t]));
    expect(byId.get('t3#2')).toMatchObject({ decision_ok: true, name_ok: false, call_ok: false, problem: 'called get_order, expected get_flight' });
    expect(byId.get('t3#4')).toMatchObject({ kind: 'ask', decision_ok: false, ask_ok: false, answered: 'call' });
    expect(byId.get('t5#2')).toMatchObject({ decision_ok: true, name_ok: true, call_ok: false, problem: 'get_order.order_id: "ZZZ" ≠ "Q1"' });
    expect(byId.get('t5#4')).toMatchObject({ decision_ok: false, name_ok: false, answered: 'text', problem: 'answered in text where the reference calls a tool' });
    expect(byId.get('t5#6')).toMatchObject({ kind: 'ask', decision_ok: true, ask_ok: false, ask_by: 'rule', problem: 'does not ask the user where the reference asks' });
  });

  it('reports the planted figures overall, per kind, domain and pattern', () => {
    // 15 turns; wrong: t3#2 (other function), t3#4 (call for a question), t5#2 (wrong argument),
    // t5#4 (text for a call), t5#6 (no question).
    expect(summary.overall).toMatchObject({ turns: 15, correct: 10, decision_ok: 13, call_turns: 7, name_ok: 5, call_ok: 4, ask_turns: 3, ask_ok: 1 });
    expect(summary.overall.call_accuracy).toBeCloseTo(4 / 7);
    expect(summary.overall.name_accuracy).toBeCloseTo(5 / 7);
    expect(summary.overall.decision_accuracy).toBeCloseTo(13 / 15);
    expect(summary.by_kind).toMatchObject({
      call: { turns: 6, call_ok: 3, correct: 3 },
      parallel: { turns: 1, call_ok: 1 },
      ask: { turns: 3, ask_ok: 1 },
      answer: { turns: 5, correct: 5 },
    });
    expect(summary.by_domain).toMatchObject({ retail: { turns: 10, correct: 7 }, airline: { turns: 5, correct: 3 } });
    expect(summary.by_pattern).toMatchObject({ clarification: { turns: 11, correct: 6 }, error_recovery: { turns: 6, correct: 3 }, '(none)': { turns: 2, correct: 2 } });
    expect(summary.trajectories).toEqual({ total: 5, complete: 5, all_right: 3, all_right_share: 0.6 });
    expect(summary.confusion).toEqual({ text_for_call: 1, call_for_text: 1 });
    expect(summary.turns_pending).toBe(0);
  });

  it('resumes: a rerun sends nothing and reports the same figures', async () => {
    const before = server.count;
    const r = await runCli([...model(out()), '--json']);
    expect(r.code).toBe(0);
    expect(server.count).toBe(before);
    expect(JSON.parse(r.stdout)).toEqual(summary);
  });

  it('answers from the cache when the scored turns are gone', async () => {
    rmSync(join(out(), 'turns.jsonl'));
    const before = server.count;
    const r = await runCli([...model(out()), '--json']);
    expect(server.count).toBe(before);
    expect(JSON.parse(r.stdout)).toEqual(summary);
    const evalJson = JSON.parse(readFileSync(join(out(), 'eval.json'), 'utf8')) as { usage: { totals: { cached_calls: number } }; sessions: number };
    expect(evalJson.usage.totals.cached_calls).toBe(15);
    expect(evalJson.sessions).toBe(3);
  });

  it('refuses to mix another model into the same directory', async () => {
    const r = await runCli(model(out()).map((a) => (a === 'm' ? 'other' : a)));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('other settings (model');
  });

  it('prints the figures as a table', async () => {
    const r = await runCli(model(out()).filter((a) => a !== '--quiet'));
    expect(r.stdout).toContain('trajectories with every turn right: 3/5 (60.0%)');
    expect(r.stdout).toMatch(/\n\s+call\s+6\s+50\.0%/);
  });
});

describe('gemtraj eval: endpoint failures and refusals', () => {
  it('exits 3 with one message when the endpoint answered no request', async () => {
    server.setHandler(() => errorReply(500, 'boom', { type: 'server_error' }));
    try {
      const r = await runCli(model(join(work, 'all-failed')));
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr.match(/^gemtraj: .*/gm)).toEqual([expect.stringMatching(/^gemtraj: the model endpoint never answered/)]);
    } finally {
      server.setHandler(answerFor);
    }
  });

  it('leaves failed turns pending and scores them on the rerun; a refused turn is scored wrong', async () => {
    const out = join(work, 'b');
    server.setHandler((request) => {
      const messages = request.body.messages ?? [];
      const id = /^\[(\w+)\]/.exec(String(messages[0]?.content ?? ''))?.[1];
      if (id === 't2' && messages.length === 2) return errorReply(503, 'overloaded', { type: 'server_error' });
      if (id === 't4' && messages.length === 2) return errorReply(400, "This model's maximum context length is 8 tokens.", { code: 'context_length_exceeded' });
      return answerFor(request);
    });
    const first = await runCli([...model(out), '--json']);
    const s1 = JSON.parse(first.stdout) as EvalSummary;
    // A turn left to retry: incomplete (exit 4), in one message.
    expect(first.code).toBe(4);
    expect(first.stderr).toMatch(/^gemtraj: incomplete: 1 record\(s\)/m);
    expect(s1.turns_pending).toBe(1);
    expect(s1.turns_refused).toBe(1);
    expect(s1.trajectories.complete).toBe(4);
    const rejected = readLines(join(out, 'rejected.jsonl'));
    expect(rejected).toEqual([expect.objectContaining({ stage: 'eval', id: 't2#2', retryable: true })]);
    server.setHandler(answerFor);
    const second = await runCli([...model(out), '--json']);
    const s2 = JSON.parse(second.stdout) as EvalSummary;
    expect(second.code).toBe(0);
    expect(s2.turns_pending).toBe(0);
    expect(s2.turns_scored).toBe(15);
    // t4#2 stays refused (scored wrong); t2#2 is now right.
    expect(s2.overall.correct).toBe(9);
    const t4 = (readLines(join(out, 'turns.jsonl')) as unknown as TurnScore[]).find((t) => t.id === 't4#2');
    expect(t4).toMatchObject({ correct: false, problem: expect.stringContaining('refused') as string });
  });
});

describe('gemtraj eval --compare', () => {
  it('puts two evaluations side by side with the paired turn counts', async () => {
    const a = join(work, 'a');
    const b = join(work, 'b');
    const r = await runCli(['eval', '--compare', a, b, '--json']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as { paired: Record<string, number> };
    expect(c.paired).toEqual({ common: 15, both_right: 9, only_a: 1, only_b: 0, both_wrong: 5, mcnemar_p: 1 });
    const text = await runCli(['eval', '--compare', a, b]);
    expect(text.stdout).toContain('only A right 1');
    expect(text.stdout).toMatch(/turn accuracy\s+66\.7%\s+60\.0%\s+-6\.7/);
  });

  it('needs two directories', async () => {
    const r = await runCli(['eval', '--compare', join(work, 'a')]);
    expect(r.code).toBe(2);
  });
});

describe('gemtraj eval on foreign references', () => {
  it('reads tau-bench logs: a model that never calls gets every call turn wrong and every answer turn right', async () => {
    const file = join(SHARED_DATA, 'tool-use/taubench-airline-gpt4o.json');
    const out = join(work, 'tau');
    server.setHandler(() => ({ kind: 'text', content: 'Sure.' }));
    try {
      const r = await runCli(['eval', file, '--from', 'taubench', '--out', out, '--base-url', server.url, '--model', 'm', '--quiet', '--json', '--max-trajectories', '3']);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as EvalSummary;
      expect(s.trajectories.total).toBe(3);
      expect(s.turns_scored).toBe(s.turns_total);
      expect(s.overall.call_turns).toBeGreaterThan(0);
      expect(s.overall.call_ok).toBe(0);
      expect(s.by_kind.answer?.correct).toBe(s.by_kind.answer?.turns);
      expect(s.overall.decision_ok).toBe(s.overall.turns - s.overall.call_turns);
    } finally {
      server.setHandler(answerFor);
    }
  });
});

describe('gemtraj eval --judge-model', () => {
  it('asks the judge, on its own endpoint, about ask turns only', async () => {
    const judge = await startMockServer({ handler: () => ({ kind: 'text', content: JSON.stringify({ reason: 'asks for something else', asks: false }) }) });
    try {
      const out = join(work, 'judged');
      const r = await runCli([...model(out), '--json', '--judge-model', 'j', '--judge-base-url', judge.url]);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as EvalSummary;
      // Only t1#2 and t5#6 answered in text on ask turns; the judge says neither asks for the right thing.
      expect(judge.count).toBe(2);
      expect(s.overall.ask_ok).toBe(0);
      expect(judge.requests.every((q) => q.body.model === 'j')).toBe(true);
      const evalJson = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as { judge_usage: { totals: { calls: number } }; settings: { judge_model: string } };
      expect(evalJson.judge_usage.totals.calls).toBe(2);
      expect(evalJson.settings.judge_model).toBe('j');
    } finally {
      await judge.close();
    }
  });
});

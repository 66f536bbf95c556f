/**
 * Rules trainers enforce, through `validate` and `export`: a tool_call_id reused anywhere in a
 * conversation is an error (OpenAI answers 400 "Duplicate value for 'tool_call_id'");
 * `tool_calls: []` is normalised away; `weight` (0 or 1) survives validate and export.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';
import { readLines } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'gemtraj-trainer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tools = [{ type: 'function', function: { name: 'get_order', description: 'Look up an order.', parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } } }];
const call = (id: string, order: string) => ({ id, type: 'function', function: { name: 'get_order', arguments: JSON.stringify({ id: order }) } });

function line(messages: unknown[]): string {
  return JSON.stringify({ messages, tools });
}

const reused = line([
  { role: 'user', content: 'Where are orders A1 and B2?' },
  { role: 'assistant', content: null, tool_calls: [call('call_1', 'A1')] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"status":"shipped"}' },
  { role: 'assistant', content: null, tool_calls: [call('call_1', 'B2')] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"status":"pending"}' },
  { role: 'assistant', content: 'A1 has shipped; B2 is pending.' },
]);
const emptyCalls = line([
  { role: 'user', content: 'Where is order A1?' },
  { role: 'assistant', content: 'Let me look.', tool_calls: [] },
  { role: 'user', content: 'Thanks, please do.' },
  { role: 'assistant', content: null, tool_calls: [call('call_9', 'A1')] },
  { role: 'tool', tool_call_id: 'call_9', content: '{"status":"shipped"}' },
  { role: 'assistant', content: 'It has shipped.' },
]);
const weighted = line([
  { role: 'user', content: 'Where is order C3?' },
  { role: 'assistant', content: 'Wrong answer I should not learn.', weight: 0 },
  { role: 'user', content: 'Please check.' },
  { role: 'assistant', content: null, tool_calls: [call('call_5', 'C3')], weight: 1 },
  { role: 'tool', tool_call_id: 'call_5', content: '{"status":"lost"}' },
  { role: 'assistant', content: 'C3 was lost in transit.' },
]);
const badWeight = line([
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello', weight: 2 },
]);

describe('validate and export keep what trainers need', () => {
  it('rejects a reused call id, drops empty tool_calls, keeps weight, refuses a weight other than 0 or 1', async () => {
    const input = join(work, 'in.jsonl');
    writeFileSync(input, `${[reused, emptyCalls, weighted, badWeight].join('\n')}\n`);
    const out = join(work, 'validated');
    const result = await runMain(['validate', input, '--out', out, '--no-judge']);
    expect(result.code).toBe(0);
    const rejected = readLines(join(out, 'rejected.jsonl'));
    const reasons = rejected.flatMap((r) => (r.reasons as Array<{ check: string; message: string }>).map((x) => `${x.check}: ${x.message}`));
    expect(reasons.some((r) => /^duplicate_call_id: tool call id "call_1" is already used/.test(r))).toBe(true);
    expect(reasons.some((r) => /weight: must be 0 or 1, got 2/.test(r))).toBe(true);
    const passed = readLines(join(out, 'trajectories.jsonl'));
    expect(passed).toHaveLength(2);
    const all = passed.flatMap((t) => t.messages as Array<Record<string, unknown>>);
    expect(all.some((m) => Array.isArray(m.tool_calls) && m.tool_calls.length === 0)).toBe(false);
    expect(all.filter((m) => 'weight' in m).map((m) => m.weight)).toEqual([0, 1]);

    const exported = join(work, 'openai.jsonl');
    expect((await runMain(['export', join(out, 'trajectories.jsonl'), '--format', 'openai', '--out', exported])).code).toBe(0);
    const lines = readFileSync(exported, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: Array<Record<string, unknown>> });
    const messages = lines.flatMap((l) => l.messages);
    expect(messages.filter((m) => 'weight' in m).map((m) => m.weight)).toEqual([0, 1]);
    expect(messages.some((m) => Array.isArray(m.tool_calls) && m.tool_calls.length === 0)).toBe(false);
    expect((await runMain(['export', join(out, 'trajectories.jsonl'), '--format', 'openai', '--out', join(work, 'again.jsonl')])).stderr).not.toMatch(/weight 0/);

    // A format without per-turn weights says that the turn will be trained on.
    const qwen = await runMain(['export', join(out, 'trajectories.jsonl'), '--target', 'qwen3', '--out', join(work, 'qwen3.jsonl')]);
    expect(qwen.code).toBe(0);
    expect(qwen.stderr).toMatch(/warning: 1 assistant turn\(s\) marked weight 0 have no per-turn weight in target qwen3, so they will be trained on/);
  });

  it('drops empty tool_calls from trajectories in gemtraj format too', async () => {
    const trajectory = makeValidTrajectory();
    const withEmpty = {
      ...trajectory,
      messages: trajectory.messages.map((m) => (m.role === 'assistant' && m.tool_calls === undefined ? { ...m, tool_calls: [] } : m)),
    };
    expect(withEmpty.messages.some((m) => m.role === 'assistant' && m.tool_calls?.length === 0)).toBe(true);
    const input = join(work, 'native.jsonl');
    writeFileSync(input, `${JSON.stringify(withEmpty)}\n`);
    const out = join(work, 'native-validated');
    expect((await runMain(['validate', input, '--out', out, '--no-judge'])).code).toBe(0);
    const passed = readLines(join(out, 'trajectories.jsonl'));
    expect(passed).toHaveLength(1);
    const messages = passed.flatMap((t) => t.messages as Array<Record<string, unknown>>);
    expect(messages.some((m) => Array.isArray(m.tool_calls) && m.tool_calls.length === 0)).toBe(false);
  });
});

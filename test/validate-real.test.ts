/**
 * Real data: 200 tau-bench airline runs by GPT-4o (OpenAI chat format, tool schemas not in
 * the file). Tools are inferred from the calls (an open object schema per name), so these
 * tests exercise the role, linking, call-id, JSON and provenance checks on dialogues that a
 * real model and a real environment produced. A clean dialogue must never be rejected by a
 * rule that misreads the format.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Message, Reason, Tool, Trajectory } from '../src/records.js';
import { validateTrajectory, type ValidateOptions } from '../src/validate/index.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const FILE = join(SHARED_DATA, 'tool-use', 'taubench-airline-gpt4o.json');

interface TauRun {
  task_id: number;
  trial: number;
  reward: number;
  traj: Message[];
}

function load(): TauRun[] {
  return JSON.parse(readFileSync(FILE, 'utf8')) as TauRun[];
}

/** Wraps a run as a Trajectory, with one open-schema tool per called name. */
function toTrajectory(run: TauRun): Trajectory {
  const names = new Set<string>();
  for (const m of run.traj) if (m.role === 'assistant') for (const c of m.tool_calls ?? []) names.add(c.function.name);
  const tools: Tool[] = [...names].map((name) => ({
    type: 'function',
    function: { name, parameters: { type: 'object', properties: {} } },
  }));
  return {
    id: `tau_airline_${run.task_id}_${run.trial}`,
    source: { doc_id: 'taubench-airline' },
    tools,
    messages: run.traj,
    meta: { stage: 'imported' },
  };
}

/** tau-bench logs end with the simulated user's closing line ("###STOP###"): an importer trims it. */
function trimTrailingUser(t: Trajectory): Trajectory {
  const messages = t.messages.slice();
  while (messages.length > 0 && messages[messages.length - 1]!.role === 'user') messages.pop();
  return { ...t, messages };
}

function tally(reasons: Reason[], into: Map<string, number>): void {
  for (const r of reasons) into.set(r.check, (into.get(r.check) ?? 0) + 1);
}

const runs = load();

describe('tau-bench airline (real data)', () => {
  it('has the expected 200 runs', () => {
    expect(runs.length).toBe(200);
  });

  it('no structural check rejects a real dialogue (final answer aside)', () => {
    // unknown_argument: the inferred schemas declare no properties. The logs reuse call ids
    // across turns (an error by default, since trainers refuse it): linking by position here.
    const options: ValidateOptions = { skip: ['final_answer', 'unknown_argument'], callIdScope: 'message' };
    const errors = new Map<string, number>();
    const warnings = new Map<string, number>();
    let rejected = 0;
    let warned = 0;
    for (const run of runs) {
      const result = validateTrajectory(toTrajectory(run), options);
      if (result.errors.length > 0) rejected += 1;
      if (result.warnings.length > 0) warned += 1;
      tally(result.errors, errors);
      tally(result.warnings, warnings);
    }
    console.log(
      `[tau-bench] rejected ${rejected}/200, warned ${warned}/200; errors ${JSON.stringify(Object.fromEntries(errors))}; warnings ${JSON.stringify(Object.fromEntries(warnings))}`,
    );
    expect(Object.fromEntries(errors)).toEqual({});
    expect(rejected).toBe(0);
  });

  it('duplicate_call_id: ids reused across turns are an error by default (73 reuses in 49 of the 200 runs)', () => {
    const found = runs.map((run) => validateTrajectory(toTrajectory(run), { skip: ['final_answer', 'unknown_argument'] }).errors.filter((e) => e.check === 'duplicate_call_id').length);
    expect(found.filter((n) => n > 0)).toHaveLength(49);
    expect(found.reduce((a, b) => a + b, 0)).toBe(73);
  });

  it('final_answer: fires only on the log endings (trailing user line or a transfer)', () => {
    let asIs = 0;
    let trimmed = 0;
    const trimmedEnds = new Map<string, number>();
    for (const run of runs) {
      const t = toTrajectory(run);
      if (validateTrajectory(t, { skip: ['argument_provenance'] }).errors.some((r) => r.check === 'final_answer')) asIs += 1;
      const tt = trimTrailingUser(t);
      const errs = validateTrajectory(tt, { skip: ['argument_provenance'] }).errors;
      if (errs.some((r) => r.check === 'final_answer')) {
        trimmed += 1;
        const last = tt.messages[tt.messages.length - 1]!;
        const key = last.role === 'tool' ? `tool:${last.name ?? '?'}` : last.role;
        trimmedEnds.set(key, (trimmedEnds.get(key) ?? 0) + 1);
      }
    }
    console.log(
      `[tau-bench] final_answer as logged: ${asIs}/200; after trimming the closing user line: ${trimmed}/200 ${JSON.stringify(Object.fromEntries(trimmedEnds))}`,
    );
    expect(asIs).toBe(200);
    // What remains ends on a tool result: the conversation was handed to a human agent.
    for (const key of trimmedEnds.keys()) expect(key.startsWith('tool:')).toBe(true);
  });

  it('argument_provenance stays quiet on successful runs', () => {
    let calls = 0;
    let flagged = 0;
    let flaggedRewarded = 0;
    let rewardedCalls = 0;
    const samples: string[] = [];
    for (const run of runs) {
      const t = toTrajectory(run);
      for (const m of t.messages) if (m.role === 'assistant') calls += m.tool_calls?.length ?? 0;
      const { warnings } = validateTrajectory(t, { skip: ['final_answer', 'empty_tool_result', 'unknown_argument'] });
      const prov = warnings.filter((r) => r.check === 'argument_provenance');
      flagged += prov.length;
      if (run.reward === 1) {
        flaggedRewarded += prov.length;
        for (const m of t.messages) if (m.role === 'assistant') rewardedCalls += m.tool_calls?.length ?? 0;
        for (const r of prov) if (samples.length < 40) samples.push(`${t.id} ${r.message}`);
      }
    }
    console.log(
      `[tau-bench] provenance: ${flagged} leaf warnings over ${calls} calls; on reward=1 runs ${flaggedRewarded} over ${rewardedCalls} calls\n  ${samples.join('\n  ')}`,
    );
    expect(calls).toBeGreaterThan(1000);
    // On runs the environment scored as successful, the only warnings are real fabrications:
    // payment ids GPT-4o made up from a card's last digits ("credit_card_7334") or from a
    // gift card's number ("credit_card_5634230" for gift_card_5634230).
    expect(flaggedRewarded).toBe(4);
    for (const line of samples) expect(line).toMatch(/payment_id = "credit_card_(7334|5634230)"/);
    // Over all 200 runs (many failed), a warning on fewer than 2% of calls.
    expect(flagged / calls).toBeLessThan(0.02);
  });
});

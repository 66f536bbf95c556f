import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type {
  CompletionRequest,
  CompletionResult,
  LlmClient,
  StructuredRequest,
  StructuredResult,
} from '../src/llm/types.js';
import type { StageName } from '../src/records.js';
import { budgetLimit, JUDGE_PROMPT_VERSION, JUDGE_SCHEMA_NAME, renderTrajectory } from '../src/prompts/judge.js';
import { judgeTrajectory } from '../src/stages/judge.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';

type Answer = Record<string, { pass: boolean; reason: string }>;

/** A fake gateway: records requests, validates the scripted answer with the request's schema. */
class FakeLlm implements LlmClient {
  readonly requests: StructuredRequest<unknown>[] = [];
  constructor(private readonly answer: Answer | string) {}

  complete(_request: CompletionRequest): Promise<CompletionResult> {
    return Promise.reject(new Error('the judge must use structured()'));
  }

  async structured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    this.requests.push(request as StructuredRequest<unknown>);
    const usage = { prompt_tokens: 1200, completion_tokens: 150 };
    const raw = typeof this.answer === 'string' ? this.answer : JSON.stringify(this.answer);
    const parsed = typeof this.answer === 'string' ? undefined : (request.schema as z.ZodType<T>).safeParse(this.answer);
    if (parsed === undefined || !parsed.success) {
      return { ok: false, error: parsed?.error.issues[0]?.message ?? 'not JSON', raw, model: 'fake-judge', usage, attempts: 3 };
    }
    return { ok: true, value: parsed.data, raw, model: 'fake-judge', usage, attempts: 1 };
  }

  modelFor(_stage: StageName): string {
    return 'fake-judge';
  }
}

const pass = (reason = 'checked every call') => ({ pass: true, reason });
const fail = (reason: string) => ({ pass: false, reason });
const SOURCE = 'VoltMart help: returns are accepted within 30 days of delivery. Refunds go to the original payment method or a gift card.';

function textOf(llm: FakeLlm): { system: string; user: string } {
  const [system, user] = llm.requests[0]!.messages;
  return { system: system?.content as string, user: user?.content as string };
}

describe('judge prompt', () => {
  it('sends the rubrics and the whole trajectory in one strict call', async () => {
    const llm = new FakeLlm({ R1: pass(), R2: pass(), R3: pass() });
    await judgeTrajectory(makeValidTrajectory(), {}, llm);
    expect(llm.requests).toHaveLength(1);
    const req = llm.requests[0]!;
    expect(req.stage).toBe('judge');
    expect(req.schemaName).toBe(JUDGE_SCHEMA_NAME);
    expect(req.temperature).toBe(0);
    const { system, user } = textOf(llm);
    for (const needle of ['R1 — Tool-call hallucination', 'R2 — Capability hallucination', 'R3 — Context hallucination']) {
      expect(system).toContain(needle);
    }
    expect(system).not.toContain('R4 —');
    // Tools with schemas, numbered messages, calls with ids and arguments, results with their call.
    expect(user).toContain('- authenticate_user: Find the user id by email and billing zip code.');
    expect(user).toContain('"pattern":"^\\\\d{5}$"');
    expect(user).toContain('[1] USER:');
    expect(user).toContain('[13] ASSISTANT (2 tool calls):');
    expect(user).toContain('-> call call_ret_5: return_items({"order_id":"#W4817302","item_ids":["item_55102"]');
    expect(user).toContain('[14] TOOL RESULT for call_ret_5 (return_items):');
    expect(user).toContain('ret_30417');
    expect(user).toContain('[24] ASSISTANT:');
    expect(user).not.toContain('SOURCE');
  });

  it('adds R4 and the source text when the source is given', async () => {
    const llm = new FakeLlm({ R1: pass(), R2: pass(), R3: pass(), R4: pass('rules match') });
    const result = await judgeTrajectory(makeValidTrajectory(), { sourceText: SOURCE }, llm);
    const { system, user } = textOf(llm);
    expect(system).toContain('R4 — Rule faithfulness');
    expect(user).toContain(SOURCE);
    expect(user.indexOf(SOURCE)).toBeLessThan(user.indexOf('## Conversation'));
    expect(result.judged).toEqual(['R1', 'R2', 'R3', 'R4']);
    expect(result.verdict).toEqual({ R1: 1, R2: 1, R3: 1, R4: 1 });
  });

  it('renders every message and can clip long ones', () => {
    const t = makeValidTrajectory();
    const full = renderTrajectory(t);
    for (let i = 0; i < t.messages.length; i++) expect(full).toContain(`[${i}] `);
    const clipped = renderTrajectory(t, { maxMessageChars: 80 });
    expect(clipped).toContain('characters omitted');
    expect(clipped.length).toBeLessThan(full.length);
  });

  it('is versioned', () => {
    expect(JUDGE_PROMPT_VERSION).toBe('judge-v2');
  });
});

describe('judge verdicts', () => {
  it('all pass: ok, verdict of ones, no reasons', async () => {
    const result = await judgeTrajectory(makeValidTrajectory(), {}, new FakeLlm({ R1: pass(), R2: pass(), R3: pass() }));
    expect(result).toMatchObject({ ok: true, verdict: { R1: 1, R2: 1, R3: 1 }, reasons: [], warnings: [], model: 'fake-judge' });
    expect(result.usage).toEqual({ prompt_tokens: 1200, completion_tokens: 150 });
    expect(result.promptVersion).toBe('judge-v2');
    // Prompt set v1 is still selectable and named as such.
    expect((await judgeTrajectory(makeValidTrajectory(), { promptSet: 'v1' }, new FakeLlm({ R1: pass(), R2: pass(), R3: pass() }))).promptVersion).toBe('judge-v1');
  });

  it('maps each failed rubric to judge_R<n> with the judge’s reason', async () => {
    const llm = new FakeLlm({
      R1: fail('[22] product_id "prod_7122" was never returned'),
      R2: pass(),
      R3: fail('[16] says $189.99, [14] shows 199.99'),
      R4: fail('system prompt says 30 days; the text says 14'),
    });
    const result = await judgeTrajectory(makeValidTrajectory(), { sourceText: SOURCE }, llm);
    expect(result.ok).toBe(false);
    expect(result.verdict).toEqual({ R1: 0, R2: 1, R3: 0, R4: 0 });
    expect(result.reasons).toEqual([
      { check: 'judge_R1', message: 'tool-call hallucination: [22] product_id "prod_7122" was never returned' },
      { check: 'judge_R3', message: 'context hallucination: [16] says $189.99, [14] shows 199.99' },
      { check: 'judge_R4', message: 'rule faithfulness to the source text: system prompt says 30 days; the text says 14' },
    ]);
    expect(result.explanations.R2).toBe('checked every call');
  });

  it('only required rubrics reject; the others warn', async () => {
    const llm = new FakeLlm({ R1: pass(), R2: fail('refused a cancellation the tools allow'), R3: pass() });
    const result = await judgeTrajectory(makeValidTrajectory(), { requiredRubrics: ['R1', 'R3'] }, llm);
    expect(result.ok).toBe(true);
    expect(result.reasons).toEqual([]);
    expect(result.warnings.map((r) => r.check)).toEqual(['judge_R2']);
    expect(result.verdict.R2).toBe(0);
  });

  it('R4 required without a source text is ignored (not judged)', async () => {
    const llm = new FakeLlm({ R1: pass(), R2: pass(), R3: pass() });
    const result = await judgeTrajectory(makeValidTrajectory(), { requiredRubrics: ['R1', 'R2', 'R3', 'R4'], sourceText: '  ' }, llm);
    expect(result.ok).toBe(true);
    expect(result.judged).toEqual(['R1', 'R2', 'R3']);
    expect(result.verdict).toEqual({ R1: 1, R2: 1, R3: 1 });
  });

  it('a missing R4 when the source is given is a schema failure, not a pass', async () => {
    const llm = new FakeLlm({ R1: pass(), R2: pass(), R3: pass() });
    const result = await judgeTrajectory(makeValidTrajectory(), { sourceText: SOURCE }, llm);
    expect(result.ok).toBe(false);
    expect(result.reasons.map((r) => r.check)).toEqual(['judge_unparseable']);
  });

  it('an unparseable answer is judge_unparseable with the raw text kept', async () => {
    const result = await judgeTrajectory(makeValidTrajectory(), {}, new FakeLlm('R1: 1, R2: 1, R3: 0'));
    expect(result).toMatchObject({ ok: false, verdict: {}, raw: 'R1: 1, R2: 1, R3: 0' });
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]!.check).toBe('judge_unparseable');
    expect(result.usage.prompt_tokens).toBe(1200);
  });

  it('a refusal is reported as such', async () => {
    const result = await judgeTrajectory(makeValidTrajectory(), {}, new FakeLlm("I'm sorry, I can't help with that."));
    expect(result.reasons[0]?.message).toMatch(/^the judge refused/);
  });

  it('endpoint errors propagate to the caller', async () => {
    const llm = new FakeLlm({});
    llm.structured = () => Promise.reject(new Error('endpoint down'));
    await expect(judgeTrajectory(makeValidTrajectory(), {}, llm)).rejects.toThrow('endpoint down');
  });
});

describe('judge schema', () => {
  it('is strict-compatible for json_schema structured output', async () => {
    const { toJsonSchema } = await import('../src/llm/structured.js');
    const { JudgeAnswerSchema, JudgeAnswerWithSourceSchema } = await import('../src/prompts/judge.js');
    for (const schema of [JudgeAnswerSchema, JudgeAnswerWithSourceSchema]) {
      const out = toJsonSchema(schema);
      expect(out.strict).toBe(true);
      const json = out.schema as { required: string[]; additionalProperties: boolean };
      expect(json.additionalProperties).toBe(false);
      expect(json.required.length).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('what the judge sees (prompt set v2)', () => {
  const long = (n: number, c: string) => c.repeat(n);
  function bigTrajectory() {
    const t = makeValidTrajectory();
    const messages = t.messages.map((m, i) => {
      if (m.role === 'system') return { ...m, content: `Rules and data schema. ${long(7000, 's')}` };
      if (m.role === 'tool') return { ...m, content: `{"rows": "${long(20_000, String(i % 10))}"}` };
      return m;
    });
    return { ...t, messages };
  }

  it('never cuts the system prompt; cuts the longest messages with a marker only beyond the budget', () => {
    const t = bigTrajectory();
    const full = renderTrajectory(t, { budgetChars: 0 });
    expect(full).not.toContain('characters omitted');
    const rendered = renderTrajectory(t, { budgetChars: 16_000 });
    expect(rendered).toContain(`Rules and data schema. ${long(7000, 's')}`);
    expect(rendered).toContain('characters omitted');
    // v1 cut every message, the system prompt too.
    expect(renderTrajectory(t, { maxMessageChars: 6000 })).not.toContain(long(7000, 's'));
    // Under the budget nothing is cut.
    expect(renderTrajectory(makeValidTrajectory(), { budgetChars: 64_000 })).not.toContain('characters omitted');
  });

  it('finds the one length that fits the budget', () => {
    expect(budgetLimit([100, 200], 1000)).toBe(0);
    expect(budgetLimit([5000, 5000, 100], 4100)).toBe(2000);
  });

  it('tells the judge an omitted span is not evidence (v2), not in v1', async () => {
    const v2 = new FakeLlm({ R1: pass(), R2: pass(), R3: pass() });
    await judgeTrajectory(bigTrajectory(), {}, v2);
    expect(textOf(v2).system).toContain('An omitted span is not evidence');
    expect(textOf(v2).user).toContain(long(7000, 's'));
    const v1 = new FakeLlm({ R1: pass(), R2: pass(), R3: pass() });
    await judgeTrajectory(bigTrajectory(), { promptSet: 'v1', maxMessageChars: 6000 }, v1);
    expect(textOf(v1).system).not.toContain('omitted');
    expect(textOf(v1).user).not.toContain(long(7000, 's'));
  });

  it('keeps the reasons of passing rubrics', async () => {
    const result = await judgeTrajectory(makeValidTrajectory(), {}, new FakeLlm({ R1: pass('all ids come from [3]'), R2: pass(), R3: pass() }));
    expect(result.explanations.R1).toBe('all ids come from [3]');
  });
});

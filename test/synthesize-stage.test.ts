/**
 * The synthesize stage against a fake model: a cut answer (finish_reason "length") never
 * becomes a trajectory, whatever the parser could make of it; every repair is a warning in
 * meta.warnings with the message index of the assembled conversation; `repairedCalls:
 * 'reject'` rejects repaired calls; the filter's task category is kept.
 */
import { describe, expect, it } from 'vitest';
import type { CompletionRequest, CompletionResult, LlmClient, StructuredResult } from '../src/llm/types.js';
import type { Segment, Trajectory } from '../src/records.js';
import { parseSynthesizerOutput } from '../src/prompts/synthesize.js';
import { synthesizeTrajectory, type SynthesizeOptions } from '../src/stages/synthesize.js';
import type { StageOutcome } from '../src/stages/types.js';
import { CALL_SLIPS, CLEAN, CUTS, REFUND_MESSAGE, RICH, synthesizerAnswer } from './helpers/mock-synthesizer.js';

class FakeSynthesizer implements LlmClient {
  constructor(private readonly text: string, private readonly finishReason = 'stop') {}
  complete(_request: CompletionRequest): Promise<CompletionResult> {
    return Promise.resolve({ text: this.text, finishReason: this.finishReason, usage: { prompt_tokens: 300, completion_tokens: 2000 }, model: 'synth-8b', cached: false });
  }
  structured<T>(): Promise<StructuredResult<T>> {
    return Promise.reject(new Error('synthesize makes plain calls'));
  }
  modelFor(): string {
    return 'synth-8b';
  }
}

const SEGMENT: Segment = {
  id: 'doc1#0',
  doc_id: 'doc1',
  index: 0,
  text: 'How refunds work…',
  start: 0,
  end: 18,
  score: 0.9,
  keep: true,
  by: 'llm',
  labels: { summary: 'refunds', platform: 'computer', domain: 'shopping', task_category: 'customer_support' },
};
const OPTIONS: SynthesizeOptions = { temperature: 0.7, maxTokens: 4096 };

async function synth(text: string, finishReason = 'stop', options: SynthesizeOptions = OPTIONS): Promise<StageOutcome<Trajectory>> {
  return synthesizeTrajectory(SEGMENT, options, new FakeSynthesizer(text, finishReason));
}

describe('synthesize: a cut answer never reaches the dataset', () => {
  for (const [cut, text] of Object.entries(CUTS)) {
    it(`${cut}: rejected as synthesize_truncated, the raw text kept`, async () => {
      const r = await synth(text, 'length');
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reasons).toHaveLength(1);
      expect(r.reasons[0]?.check).toBe('synthesize_truncated');
      expect(r.reasons[0]?.message).toMatch(/finish_reason "length".*completion cap is 4096 tokens/);
      expect(r.raw).toBe(text);
    });
  }
  it('the cuts are ones the tolerant parser would otherwise accept', () => {
    // Without the finish reason these parse: this is why it is checked first.
    for (const text of Object.values(CUTS)) expect(parseSynthesizerOutput(text)).not.toHaveProperty('error');
    expect(parseSynthesizerOutput(CUTS['cut-between-turns'])).toMatchObject({ warnings: [] });
  });
  it('an unparseable cut answer is truncated too, not unparseable', async () => {
    const r = await synth('<tools>[{"type":"function","function":{"name":"f","desc', 'length');
    expect(!r.ok && r.reasons[0]?.check).toBe('synthesize_truncated');
  });
});

describe('synthesize: every repair is on the record', () => {
  it('a clean answer has no warnings and carries the filter labels', async () => {
    const r = await synth(CLEAN);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.meta?.warnings).toBeUndefined();
    expect(r.value.domain).toBe('shopping');
    expect(r.value.meta?.task_category).toBe('customer_support');
    expect(r.value.messages).toEqual(expect.arrayContaining([expect.objectContaining({ role: 'system' })]));
  });
  for (const slip of Object.keys(CALL_SLIPS) as Array<keyof typeof CALL_SLIPS>) {
    it(`${slip}: warn keeps the trajectory with the warning on the call; reject rejects it`, async () => {
      const { text } = synthesizerAnswer(slip);
      const kept = await synth(text);
      expect(kept.ok).toBe(true);
      if (!kept.ok) return;
      const path = `messages[${REFUND_MESSAGE}].tool_calls[0]`;
      expect(kept.value.meta?.warnings).toEqual([expect.objectContaining({ check: 'synthesizer_call_repaired', path })]);
      const m = kept.value.messages[REFUND_MESSAGE];
      expect(m?.role === 'assistant' && m.tool_calls?.[0]?.function.name).toBe('refund');
      expect(kept.warnings).toEqual(kept.value.meta?.warnings);

      const rejected = await synth(text, 'stop', { ...OPTIONS, repairedCalls: 'reject' });
      expect(rejected.ok).toBe(false);
      if (rejected.ok) return;
      expect(rejected.reasons).toEqual([expect.objectContaining({ check: 'synthesize_repaired_call', path })]);
      expect(rejected.raw).toBe(text);
    });
  }
  it('reject leaves answers without repaired calls alone (a tag slip is a warning)', async () => {
    const r = await synth(synthesizerAnswer('slip-tags').text, 'stop', { ...OPTIONS, repairedCalls: 'reject' });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.meta?.warnings).toEqual([{ check: 'synthesizer_tags', path: 'messages[1]', message: 'missing </user> before the next block' }]);
  });
  it('message indexes are those of the assembled conversation (system prompts merged at the top)', async () => {
    // A second system block in the middle: the parser's indexes after it shift by one.
    const body = CLEAN.replace('<user>Refund item 2', '<system>Be brief.</system>\n<user>Refund item 2');
    const text = body.replace('{"order_id":"A17","items":[2],"reason":"broken"}', "{'order_id':'A17','items':[2],'reason':'broken'}");
    const r = await synth(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.messages[0]?.content).toMatch(/\n\nBe brief\.$/);
    expect(r.value.messages).toHaveLength(RICH.messages.length);
    expect(r.value.meta?.warnings).toEqual([expect.objectContaining({ check: 'synthesizer_call_repaired', path: `messages[${REFUND_MESSAGE}].tool_calls[0]` })]);
    const m = r.value.messages[REFUND_MESSAGE];
    expect(m?.role === 'assistant' && m.tool_calls?.[0]?.function.name).toBe('refund');
  });
});

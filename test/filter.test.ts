import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CompletionRequest, CompletionResult, LlmClient, StructuredRequest, StructuredResult } from '../src/llm/types.js';
import { cascadeFigures, evaluate, formatCascade, rocAuc } from '../src/filter/evaluate.js';
import { explainHeuristic, heuristicScore } from '../src/filter/heuristic.js';
import { readLabelledExamples } from '../src/filter/labels.js';
import { loadModel, saveModel, scoreWithModel, trainModel } from '../src/filter/model.js';
import { createScorer, type Scorer } from '../src/filter/scorer.js';
import { buildFilterMessages, FILTER_PROMPT_VERSION, FilterAnswerSchema, type FilterAnswer } from '../src/prompts/filter.js';
import { createSegmentFilter, filterSegment, judgeSegment } from '../src/stages/filter.js';
import { countFilterOutcomes } from './helpers/filter-counters.js';
import { DOMAINS, PLATFORMS, TASK_CATEGORIES } from '../src/taxonomy.js';

const PROCEDURE = `How to reset your router password

1. Open a browser and go to 192.168.0.1.
2. Log in with the admin account.
3. Click Settings, then select Security.
4. Enter the new password and click Save.
5. If the page does not reload, restart the router.`;

const PLAY = `BUCKINGHAM:
My lord, I claim your gift, my due by promise,
For which your honour and your faith is pawn'd.

KING RICHARD III:
Stanley, look to your wife; if she convey
Letters to Richmond, you shall answer it.

BUCKINGHAM:
What says your highness to my just demand?`;

const NEWS = `The minister said on Tuesday that the government had approved the plan. "We were clear that this was the right decision for the country and for working families," she told reporters. Officials announced that 2 million people were affected last year.`;

const ANSWER: FilterAnswer = {
  reason: 'Step-by-step router configuration in a web interface.',
  keep: true,
  confidence: 0.9,
  summary: 'Reset the admin password of a home router',
  platform: 'computer',
  domain: 'internet_and_telecom',
  task_category: 'website_control',
};

class FakeLlm implements LlmClient {
  calls: Array<StructuredRequest<unknown>> = [];
  constructor(private readonly answer: FilterAnswer | 'bad' = ANSWER) {}
  complete(_request: CompletionRequest): Promise<CompletionResult> {
    throw new Error('not used');
  }
  async structured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    this.calls.push(request as StructuredRequest<unknown>);
    const usage = { prompt_tokens: 100, completion_tokens: 20 };
    if (this.answer === 'bad') return { ok: false, error: 'keep: expected boolean', raw: '{"keep":"maybe"}', model: 'fake', usage, attempts: 3 };
    return { ok: true, value: request.schema.parse(this.answer), raw: JSON.stringify(this.answer), model: 'fake', usage, attempts: 1 };
  }
  modelFor(): string {
    return 'fake';
  }
}

/** A scorer that returns a fixed score, to route segments into chosen bands. */
function fixedScorer(score: number): Scorer {
  return { kind: 'heuristic', name: 'fixed', threshold: 0.5, score: () => score, explain: () => `fixed ${score}` };
}

describe('taxonomy', () => {
  it('has the paper sizes, unique values', () => {
    expect(PLATFORMS).toHaveLength(5);
    expect(DOMAINS).toHaveLength(26);
    expect(TASK_CATEGORIES).toHaveLength(38);
    for (const list of [PLATFORMS, DOMAINS, TASK_CATEGORIES]) expect(new Set(list).size).toBe(list.length);
  });
});

describe('evaluate', () => {
  it('computes figures on a hand-worked set', () => {
    const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
    const labels = [true, true, false, true, false, false];
    const e = evaluate(scores, labels, 0.65);
    expect(e.confusion).toEqual({ tp: 2, fp: 1, tn: 2, fn: 1 });
    expect(e.precision).toBeCloseTo(2 / 3);
    expect(e.recall).toBeCloseTo(2 / 3);
    expect(e.f1).toBeCloseTo(2 / 3);
    expect(e.rocAuc).toBeCloseTo(8 / 9);
    // Thresholds: 0.6 keeps 3 tp + 1 fp: P 0.75, R 1, F1 6/7.
    expect(e.bestThreshold).toBe(0.6);
    expect(e.bestF1).toBeCloseTo(6 / 7);
  });

  it('counts ties as one half in ROC AUC', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.2], [true, false, true, false])).toBeCloseTo(0.75);
    expect(rocAuc([0.3, 0.3], [true, false])).toBeCloseTo(0.5);
    expect(rocAuc([0.1, 0.9], [false, true])).toBe(1);
    expect(Number.isNaN(rocAuc([0.1, 0.9], [true, true]))).toBe(true);
  });

  it('handles no predicted positives', () => {
    const e = evaluate([0.1, 0.2], [true, false], 0.5);
    expect(e.precision).toBe(0);
    expect(e.recall).toBe(0);
    expect(e.f1).toBe(0);
  });
});

describe('cascade figures', () => {
  it('routes scores through [low, high) and counts by label (hand-worked)', () => {
    // positives: 0.05 dropped, 0.3 judged, 0.9 kept; negatives: 0.01 and 0.1 dropped, 0.5 judged, 0.85 kept
    const f = cascadeFigures([0.05, 0.3, 0.9, 0.01, 0.1, 0.5, 0.85], [true, true, true, false, false, false, false], 0.15, 0.8);
    expect(f.positives).toEqual({ dropped: 1, judged: 1, kept: 1 });
    expect(f.negatives).toEqual({ dropped: 2, judged: 1, kept: 1 });
    expect(f.recall).toBeCloseTo(2 / 3);
    expect(f.precision).toBeCloseTo(2 / 4);
    expect(f.negativesDropped).toBeCloseTo(2 / 4);
    expect(f.decidedLocally).toBeCloseTo(5 / 7);
    expect(formatCascade(f)).toContain('recall 67% (positives not dropped)');
  });

  it('is defined on empty classes and edges: low is judged, high is kept', () => {
    const f = cascadeFigures([0.15, 0.8], [false, false], 0.15, 0.8);
    expect(f.negatives).toEqual({ dropped: 0, judged: 1, kept: 1 });
    expect(f.recall).toBe(1);
    expect(cascadeFigures([], [], 0.2, 0.8).decidedLocally).toBe(0);
  });
});

describe('heuristic scorer', () => {
  it('separates procedures from plays and news', () => {
    expect(heuristicScore(PROCEDURE)).toBeGreaterThan(0.8);
    expect(heuristicScore(PLAY)).toBeLessThan(0.2);
    expect(heuristicScore(NEWS)).toBeLessThan(0.2);
    const e = explainHeuristic(PROCEDURE);
    expect(e.counts.numbered).toBe(5);
    expect(e.counts.imperatives).toBeGreaterThanOrEqual(4);
    expect(explainHeuristic(PLAY).counts.speakerTags).toBe(3);
  });

  it('is bounded and handles edge cases', () => {
    for (const t of ['', ' ', '1.', '\n\n\n', 'ü'.repeat(1000), 'x'.repeat(100000)]) {
      const s = heuristicScore(t);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
  });
});

describe('judge', () => {
  it('sends a strict-compatible schema with the taxonomies, at temperature 0', async () => {
    const llm = new FakeLlm();
    const result = await judgeSegment(PROCEDURE, llm);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.keep).toBe(true);
      expect(result.labels).toEqual({ summary: ANSWER.summary, platform: 'computer', domain: 'internet_and_telecom', task_category: 'website_control' });
      expect(result.usage.prompt_tokens).toBe(100);
    }
    const request = llm.calls[0]!;
    expect(request.stage).toBe('filter');
    expect(request.temperature).toBe(0);
    expect(request.schemaName).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    const json = z.toJSONSchema(FilterAnswerSchema) as { properties: Record<string, { enum?: string[] }>; required: string[]; additionalProperties: boolean };
    expect(json.additionalProperties).toBe(false);
    expect([...json.required].sort()).toEqual(Object.keys(json.properties).sort());
    expect(json.properties.platform!.enum).toEqual([...PLATFORMS]);
    expect(json.properties.domain!.enum).toHaveLength(26);
    expect(json.properties.task_category!.enum).toHaveLength(38);
    expect(FilterAnswerSchema.safeParse({ ...ANSWER, domain: 'cooking' }).success).toBe(false);
  });

  it('asks the paper question and carries the passage', () => {
    expect(FILTER_PROMPT_VERSION).toBe('filter-v2');
    const messages = buildFilterMessages(PROCEDURE);
    const all = messages.map((m) => m.content).join('\n');
    expect(messages[0]!.role).toBe('system');
    for (const word of ['multi-step', 'app', 'website', 'computer', 'machine', 'robot', 'elevator', 'operator', 'phone']) expect(all).toContain(word);
    expect(messages[1]!.content).toContain(PROCEDURE);
  });

  it('returns an error for an unusable answer', async () => {
    const result = await judgeSegment(PROCEDURE, new FakeLlm('bad'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('keep');
  });
});

describe('cascade routing', () => {
  it('decides clear cases locally and judges the band, counting calls', async () => {
    const llm = new FakeLlm();
    const opts = { mode: 'cascade' as const, scorer: 'heuristic', low: 0.2, high: 0.8 };
    const clearKeep = await filterSegment({ text: PROCEDURE }, opts, llm);
    expect(clearKeep).toMatchObject({ keep: true, by: 'cascade-high' });
    const clearDrop = await filterSegment({ text: PLAY }, opts, llm);
    expect(clearDrop).toMatchObject({ keep: false, by: 'cascade-low' });
    expect(llm.calls).toHaveLength(0);
    const band = await filterSegment({ text: 'middle' }, { ...opts, scorer: fixedScorer(0.5) }, llm);
    expect(band).toMatchObject({ keep: true, by: 'llm', labels: { platform: 'computer' }, local_score: 0.5 });
    expect(band.score).toBeCloseTo(0.9);
    expect(llm.calls).toHaveLength(1);
    const counters = countFilterOutcomes([clearKeep, clearDrop, band]);
    expect(counters).toMatchObject({ segments: 3, kept: 2, dropped: 1, cascadeHigh: 1, cascadeLow: 1, llmCalls: 1, llmKept: 1, llmSaved: 2 });
    expect(counters.usage).toEqual({ prompt_tokens: 100, completion_tokens: 20 });
  });

  it('routes the band edges: low is judged, high is kept', async () => {
    const llm = new FakeLlm();
    expect((await filterSegment({ text: 'x' }, { scorer: fixedScorer(0.2), low: 0.2, high: 0.8 }, llm)).by).toBe('llm');
    expect((await filterSegment({ text: 'x' }, { scorer: fixedScorer(0.8), low: 0.2, high: 0.8 }, llm)).by).toBe('cascade-high');
    expect((await filterSegment({ text: 'x' }, { scorer: fixedScorer(0.1999), low: 0.2, high: 0.8 }, llm)).by).toBe('cascade-low');
    expect(llm.calls).toHaveLength(1);
  });

  it('local mode never calls; llm mode always does', async () => {
    const llm = new FakeLlm();
    const local = await filterSegment({ text: PROCEDURE }, { mode: 'local' }, llm);
    expect(local).toMatchObject({ keep: true, by: 'heuristic' });
    expect((await filterSegment({ text: PLAY }, { mode: 'local', threshold: 0.5 })).keep).toBe(false);
    expect(llm.calls).toHaveLength(0);
    const f = createSegmentFilter({ mode: 'llm' }, llm);
    const outcomes = [await f.filter({ text: PROCEDURE }), await f.filter({ text: PLAY })];
    expect(llm.calls).toHaveLength(2);
    expect(countFilterOutcomes(outcomes)).toMatchObject({ llmCalls: 2, llmSaved: 0, segments: 2 });
  });

  it('marks unusable judge answers as errors and needs a client for the band', async () => {
    const d = await filterSegment({ text: 'x' }, { scorer: fixedScorer(0.5) }, new FakeLlm('bad'));
    expect(d).toMatchObject({ by: 'error', keep: false });
    expect(countFilterOutcomes([d]).llmErrors).toBe(1);
    await expect(filterSegment({ text: 'x' }, { scorer: fixedScorer(0.5) })).rejects.toThrow(/LLM client/);
    await expect(filterSegment({ text: 'x' }, { low: 0.9, high: 0.1 })).rejects.toThrow(/low/);
  });
});

describe('trainable model', () => {
  const positives = [
    'Open the app, tap Settings, then select Account and enter your password.',
    'Click Download, run the installer, then restart your computer.',
    'Log in to the portal, choose Billing, and submit the payment form.',
    'Press the power button, wait for the light, then insert the card.',
    'Go to the website, sign in, and upload your documents.',
    'Install the package with pip, then run the command in a terminal.',
  ];
  const negatives = [
    'The king rode through the valley as the sun set over the hills.',
    'Yesterday the minister said the economy had grown faster than expected.',
    'She remembered the summer they spent by the sea, long ago.',
    'The council announced that the festival was a great success.',
    'Poetry is the spontaneous overflow of powerful feelings.',
    'Historians argue that the empire declined for many reasons.',
  ];
  const examples = [...positives.map((text) => ({ text, label: true })), ...negatives.map((text) => ({ text, label: false }))];

  it('trains deterministically, learns a separable set, and round-trips through a file', () => {
    const a = trainModel(examples, { epochs: 30, seed: 7 });
    const b = trainModel(examples, { epochs: 30, seed: 7 });
    expect(Buffer.from(a.weights.buffer).equals(Buffer.from(b.weights.buffer))).toBe(true);
    const scores = examples.map((e) => scoreWithModel(a, e.text));
    expect(evaluate(scores, examples.map((e) => e.label)).rocAuc).toBe(1);
    expect(scoreWithModel(a, 'Tap Settings, then select Account and log in.')).toBeGreaterThan(scoreWithModel(a, 'The minister said the king had ridden away.'));

    const dir = mkdtempSync(join(tmpdir(), 'gemtraj-model-'));
    const file = join(dir, 'model.json');
    saveModel(a, file);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { format: string; index_deltas: number[] };
    expect(json.format).toBe('gemtraj-filter-model');
    expect(json.index_deltas.length).toBeLessThan(1 << 18);
    const loaded = loadModel(file);
    for (const e of examples) expect(scoreWithModel(loaded, e.text)).toBeCloseTo(scoreWithModel(a, e.text), 3);
    const scorer = createScorer(`model:${file}`);
    expect(scorer.kind).toBe('model');
    expect(scorer.score(positives[0]!)).toBeCloseTo(scoreWithModel(a, positives[0]!), 3);
  });

  it('rejects bad specs and files', () => {
    expect(() => createScorer('nope')).toThrow(/unknown scorer/);
    const dir = mkdtempSync(join(tmpdir(), 'gemtraj-model-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"format":"other"}');
    expect(() => createScorer(`model:${file}`)).toThrow(/bad\.json/);
    expect(() => trainModel([])).toThrow(/no examples/);
  });
});

describe('label files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-labels-'));
  it('reads text labels, id labels joined with --input, and llm lines of segments.jsonl', () => {
    const input = join(dir, 'passages.jsonl');
    writeFileSync(input, '{"id":"a","text":"alpha"}\n{"id":"b","text":"beta"}\n');
    const labels = join(dir, 'labels.jsonl');
    writeFileSync(labels, '{"id":"a","procedural":true}\n\n{"text":"gamma","label":0}\n{"text":"delta","keep":true,"by":"llm"}\n{"text":"eps","keep":true,"by":"cascade-high"}\n');
    const { examples, stats } = readLabelledExamples(labels, input);
    expect(examples.map((e) => [e.text, e.label])).toEqual([['alpha', true], ['gamma', false], ['delta', true]]);
    expect(stats).toEqual({ used: 3, skippedNotLlm: 1 });
  });

  it('names file and line in errors', () => {
    const labels = join(dir, 'bad.jsonl');
    writeFileSync(labels, '{"text":"a","label":true}\n{"text":"b"}\n');
    expect(() => readLabelledExamples(labels)).toThrow(`${labels}:2`);
    writeFileSync(labels, '{"id":"zz","procedural":true}\n');
    expect(() => readLabelledExamples(labels)).toThrow(/--input/);
    writeFileSync(labels, 'not json\n');
    expect(() => readLabelledExamples(labels)).toThrow(`${labels}:1`);
  });
});

/**
 * `--estimate` is derived from the step list: steps that need no model run for real
 * (segmenting, the local scorer), the rest contribute their expected calls and outputs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config.js';
import { computeFunnel } from '../src/pipeline/counts.js';
import { estimateRun, formatEstimate } from '../src/pipeline/estimate.js';
import { PROCEDURE, runCli } from './helpers/cli.js';

const STORY = 'The old lighthouse keeper walked along the shore every evening and remembered the storms of his youth. '.repeat(6);

describe('estimateRun', () => {
  let dir: string;
  let corpus: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-estimate-'));
    corpus = join(dir, 'corpus.jsonl');
    const docs = [
      { id: 'a', text: PROCEDURE },
      { id: 'b', text: `${PROCEDURE}\n\nAlso: to change the delivery address, open the order, click "Edit address", enter the new address and save.` },
      { id: 'c', text: STORY },
    ];
    writeFileSync(corpus, `${docs.map((d) => JSON.stringify(d)).join('\n')}\n{"broken": \n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('with the local filter, the segments the scorer keeps are exactly those a local filter run keeps', async () => {
    const config = ConfigSchema.parse({ filter: { mode: 'local' } });
    const est = await estimateRun(corpus, config, 'run');
    expect(est.documents).toBe(3);
    expect(est.input_rejected).toBe(1);
    expect(Object.keys(est.steps)).toEqual(['segment', 'dedup', 'filter', 'extract', 'workflows', 'generate', 'refine', 'validate', 'judge']);
    expect(est.steps.filter?.calls).toBe(0);

    const res = await runCli(['filter', corpus, '--out', join(dir, 'filter'), '--filter', 'local', '--quiet']);
    expect(res.code).toBe(0);
    const funnel = await computeFunnel(join(dir, 'filter'), 'filter');
    expect(est.steps.filter?.records).toBe(funnel.steps.find((s) => s.step === 'filter')?.in);
    expect(est.steps.dedup?.records).toBe(funnel.segments);
    expect(est.steps.extract?.records).toBe(funnel.kept);
    expect(funnel.kept).toBeGreaterThan(0);
    // One extract call per kept segment (plus re-asks); generation, refinement, judging follow.
    expect(est.steps.extract?.calls).toBe(Math.round(funnel.kept * 1.1));
    expect(est.steps.generate?.calls).toBeGreaterThan(0);
    expect(est.steps.judge?.calls).toBe(est.steps.generate?.calls);
    expect(est.total.calls).toBe(Object.values(est.steps).reduce((n, s) => n + s.calls, 0));
    expect(est.cost_usd).toBeUndefined();
    expect(formatEstimate(est)).toContain('add `prices`');
  });

  it('follows the step list of the mode and the switches: no refine, no judge, synthesize', async () => {
    const base = { filter: { mode: 'local' as const } };
    const noRefine = await estimateRun(corpus, ConfigSchema.parse({ ...base, refine: false, judge: false }), 'run');
    expect(Object.keys(noRefine.steps)).toEqual(['segment', 'dedup', 'filter', 'extract', 'workflows', 'generate', 'validate']);
    const synth = await estimateRun(corpus, ConfigSchema.parse(base), 'synthesize');
    expect(Object.keys(synth.steps)).toEqual(['segment', 'dedup', 'filter', 'synthesize', 'validate', 'judge']);
    expect(synth.steps.synthesize?.records).toBe(noRefine.steps.extract?.records);
  });

  it('prices the calls when the config has prices for the model', async () => {
    const config = ConfigSchema.parse({ filter: { mode: 'cascade' }, model: 'm', prices: { m: { prompt_per_million: 1, completion_per_million: 2 } } });
    const est = await estimateRun(corpus, config, 'run');
    const expected = (est.total.prompt_tokens * 1 + est.total.completion_tokens * 2) / 1e6;
    expect(est.cost_usd).toBeCloseTo(expected, 6);
    expect(formatEstimate(est)).toContain('estimated cost: $');
    // The Batch API's price beside it (half by default).
    expect(est.batch_cost_usd).toBeCloseTo(expected * 0.5, 6);
    expect(formatEstimate(est)).toContain(`$${(expected * 0.5).toFixed(2)} with --batch`);
  });
});

/**
 * Per-stage completion caps, the messages about answers cut off at them, and prompt set v1
 * (requests exactly as gemtraj 0.2 sent them).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../src/config.js';
import { buildStructuredRequest, toJsonSchema } from '../src/llm/structured.js';
import type { LlmClient, StructuredRequest, StructuredResult } from '../src/llm/types.js';
import type { Funnel } from '../src/pipeline/counts.js';
import { stageMaxTokens, stepOptions } from '../src/pipeline/steps/options.js';
import { truncationSummary } from '../src/pipeline/truncation.js';
import { runFingerprint } from '../src/pipeline/run-json.js';
import { promptVersions } from '../src/prompts/versions.js';
import { generateTrajectory } from '../src/stages/generate.js';
import { structuredFailure } from '../src/stages/types.js';

const config = (flags: Record<string, unknown> = {}) => loadConfig({ env: {}, flags });

describe('completion caps', () => {
  it('every stage has its own default cap; --max-tokens sets all; --stage-max-tokens one', () => {
    const options = stepOptions(config());
    expect(options.filter.maxTokens).toBe(4096);
    expect(options.extract.maxTokens).toBe(12_288);
    expect(options.generate.maxTokens).toBe(16_384);
    expect(options.refine.maxTokens).toBe(20_480);
    expect(options.judge.maxTokens).toBe(8192);
    expect(options.synthesize.maxTokens).toBe(16_384);
    expect(stepOptions(config({ max_tokens: 30_000 })).judge.maxTokens).toBe(30_000);
    expect(stepOptions(config({ stage_max_tokens: { generate: 32_768 } })).generate.maxTokens).toBe(32_768);
    expect(stepOptions(config({ stage_max_tokens: { generate: 32_768 } })).refine.maxTokens).toBe(20_480);
  });

  it('a cut-off answer is rejected naming the stage, the cap and the flag that raises it', async () => {
    const cutOff: LlmClient = {
      complete: () => Promise.reject(new Error('unused')),
      modelFor: () => 'm',
      structured: <T>(_request: StructuredRequest<T>): Promise<StructuredResult<T>> =>
        Promise.resolve({
          ok: false,
          error: 'the answer is not valid JSON; the answer was cut off at the token limit (finish_reason "length")',
          raw: '{"turns": [',
          model: 'm',
          usage: { prompt_tokens: 1, completion_tokens: 16_384 },
          attempts: 1,
        }),
    };
    const extraction = {
      id: 's1',
      source: { doc_id: 'd', segment_id: 's1' },
      domain: 'shopping',
      rules: [],
      tools: [],
      workflows: [{ name: 'w', description: 'd', intents: [], steps: [], rules: [] }],
    } as unknown as Parameters<typeof generateTrajectory>[0]['extraction'];
    const outcome = await generateTrajectory({ extraction, workflowIndex: 0, sourceText: 't' }, { temperature: 0.7, maxTokens: 16_384 }, cutOff);
    expect(outcome.ok).toBe(false);
    const reason = outcome.ok ? undefined : outcome.reasons[0];
    expect(reason?.check).toBe('generate_truncated');
    expect(reason?.message).toContain('the generate completion cap is 16384 tokens');
    expect(reason?.message).toContain('--stage-max-tokens generate=32768');
    // With no cap sent, the endpoint's default is named instead.
    expect(structuredFailure('judge', 'x (finish_reason "length")', '{').message).toContain("endpoint's default completion cap");
  });

  it('the end-of-run summary names the stage, the cap and the flag, refinement fallbacks included', () => {
    const funnel = {
      rejections: { generate: { generate_truncated: 3, generate_unparseable: 1 } },
      steps: [{ step: 'refine', tally: { fallback: 2, truncated: 2, refined: 5 } }],
    } as unknown as Funnel;
    const lines = truncationSummary(funnel, config({ stage_max_tokens: { refine: 9000 } }));
    expect(lines).toEqual([
      'generate: 3 answer(s) cut off and rejected at the completion cap; the generate completion cap is 16384 tokens: raise it with --stage-max-tokens generate=32768 (config stage_max_tokens.generate; --max-tokens sets every stage)',
      'refine: 2 rewrite(s) cut off (the unrefined conversation was kept) at the completion cap; the refine completion cap is 9000 tokens: raise it with --stage-max-tokens refine=18000 (config stage_max_tokens.refine; --max-tokens sets every stage)',
    ]);
  });
});

describe('prompt set v1', () => {
  const Schema = z.object({ depends_on: z.array(z.number().int().min(0).max(100)).describe('0-based indexes') }).strict();
  const messages = [
    { role: 'system' as const, content: 'S' },
    { role: 'user' as const, content: 'U' },
  ];

  it('sends the request exactly as gemtraj 0.2 did: no guide, bounds in the schema, no caps', () => {
    const v1 = buildStructuredRequest('json_schema', messages, Schema, 'a', { fieldGuide: false });
    expect(v1.messages).toEqual(messages);
    expect(v1.responseFormat).toEqual({ type: 'json_schema', json_schema: { name: 'a', schema: toJsonSchema(Schema).schema, strict: true } });
    expect(JSON.stringify(v1.responseFormat)).toContain('"maximum":100');
    const v2 = buildStructuredRequest('json_schema', messages, Schema, 'a');
    expect(v2.messages[0]?.content).toContain('- depends_on (list of integer, 0 to 100): 0-based indexes');
    expect(JSON.stringify(v2.responseFormat)).not.toContain('maximum');
    expect(stageMaxTokens(config({ prompts: 'v1' }), 'generate')).toBeUndefined();
    expect(stepOptions(config({ prompts: 'v1' })).judge).toMatchObject({ maxTokens: undefined, promptSet: 'v1' });
  });

  it("keeps a 0.2 run's fingerprint, so the run resumes on its cache", () => {
    const v1 = runFingerprint('run', config({ prompts: 'v1' }), promptVersions('v1'));
    expect(v1.prompts).toEqual({ filter: 'filter-v1', extract: 'extract-v1', generate: 'generate-v1', refine: 'refine-v1', judge: 'judge-v1', synthesize: 'synthesize-v1' });
    expect(Object.keys(v1)).not.toContain('stage_max_tokens');
    expect(Object.keys(v1)).not.toContain('reasoning_effort');
    expect(runFingerprint('run', config(), promptVersions('v2')).stage_max_tokens).toEqual(config().stage_max_tokens);
  });
});

/**
 * Every step that calls the model hands it the engine's abort signal, so that a stop (Ctrl-C,
 * then the grace period) ends a call that would otherwise wait for its answer: a batch can take
 * 24 hours, a slow endpoint its whole request timeout. The model here never answers; it only
 * gives up when the request's signal aborts.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config.js';
import type { CompletionRequest, CompletionResult, LlmClient, StructuredRequest, StructuredResult } from '../src/llm/types.js';
import { buildPipeline } from '../src/pipeline/pipelines.js';
import type { Step } from '../src/pipeline/step.js';
import type { WorkflowTask } from '../src/pipeline/steps/workflows.js';
import type { Extraction, Segment } from '../src/records.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';

/** A model that answers only by giving up when the request is aborted (never, without a signal). */
class SilentLlm implements LlmClient {
  signals: Array<AbortSignal | undefined> = [];
  private wait(request: CompletionRequest): Promise<never> {
    this.signals.push(request.signal);
    return new Promise((_, reject) => {
      request.signal?.addEventListener('abort', () => reject(request.signal?.reason as Error), { once: true });
    });
  }
  complete(request: CompletionRequest): Promise<CompletionResult> {
    return this.wait(request);
  }
  structured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    return this.wait(request);
  }
  modelFor(): string {
    return 'silent';
  }
}

const segment: Segment = {
  id: 'd1#0',
  doc_id: 'd1',
  index: 0,
  start: 0,
  end: 60,
  text: 'To claim a refund, look up the order, check the return window, then issue the refund.',
  score: 1,
  keep: true,
  by: 'heuristic',
};

const trajectory = makeValidTrajectory();
const extraction: Extraction = {
  id: segment.id,
  source: { doc_id: segment.doc_id, segment_id: segment.id },
  domain: 'ecommerce',
  platform: 'web',
  task_category: 'refund',
  rules: ['Refunds only within 30 days.'],
  workflows: [
    {
      name: 'refund',
      description: 'Refund an order.',
      intents: ['get my money back'],
      steps: trajectory.tools.slice(0, 2).map((tool, i) => ({ action: `step ${i}`, tool: tool.function.name, depends_on: i === 0 ? [] : [i - 1] })),
      execution_graph: trajectory.tools.slice(0, 2).map((tool) => `(${tool.function.name})`).join('->'),
      rules: [],
    },
  ],
  tools: trajectory.tools,
};

/** The inputs each model step takes here. */
const inputs: Record<string, unknown> = {
  extract: segment,
  generate: { id: 'd1#0#w0', extraction, workflowIndex: 0 } satisfies WorkflowTask,
  refine: trajectory,
  judge: trajectory,
  synthesize: segment,
};

describe('model steps and the stop signal', () => {
  const config = ConfigSchema.parse({});
  const llm = new SilentLlm();
  const steps = [...buildPipeline('run', { config, llm }), ...buildPipeline('synthesize', { config, llm })];
  it.each(Object.keys(inputs))('%s passes the engine signal to its call, which then ends', async (name) => {
    const step = steps.find((s) => s.name === name) as Step | undefined;
    expect(step, name).toBeDefined();
    const stop = new AbortController();
    const before = llm.signals.length;
    const running = Promise.resolve((step as Step).run(inputs[name] as never, { sourceText: segment.text, signal: stop.signal }));
    // Settled one way or the other: a step may turn the aborted call into a rejection or rethrow it.
    const settled = running.then(
      () => 'settled',
      () => 'settled',
    );
    while (llm.signals.length === before) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(llm.signals[llm.signals.length - 1]).toBe(stop.signal);
    stop.abort(new Error('stopped'));
    await expect(settled).resolves.toBe('settled');
  });
});

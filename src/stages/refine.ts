/**
 * Stage 4: complexity refinement. Returns the rewritten trajectory, or a rejection whose
 * reasons say why; the pipeline then keeps the original (GEM: keep the pre-refinement
 * trajectory when the rewrite fails).
 */
import type { Reason, Trajectory } from '../records.js';
import type { LlmClient } from '../llm/types.js';
import { buildRefineMessages, REFINE_SCHEMA_NAME, refineAnswerSchema } from '../prompts/refine.js';
import { assembleMessages } from './conversation.js';
import { compileToolSchemas } from './schema-check.js';
import { checkToolSpecs, specToTool } from './tool-spec.js';
import { addUsage, structuredFailure, type StageOutcome } from './types.js';
import { promptVersion, usesFieldGuide, type PromptSet } from '../prompts/versions.js';
import { asNow } from '../prompts/now.js';
import { nowFor, withNow } from './generate.js';

export interface RefineOptions {
  /** Sampling temperature of the rewrite, 0–2 (config `temperature`). */
  temperature: number;
  maxTokens?: number | undefined;
  /** Prompt set (config `prompts`): v1 sends the answer format as gemtraj 0.2 did. @default 'v2' */
  promptSet?: PromptSet | undefined;
  /** v2: one call per assistant turn (`forbid`) or several (`allow`), config `parallel_calls`. @default 'forbid' */
  parallelCalls?: 'allow' | 'forbid' | undefined;
  /** v2: the dates a "now" is drawn from when the trajectory has no `meta.now` (config `now`). @default {@link DEFAULT_NOW} */
  now?: string | undefined;
  /** Aborts the call (the engine's stop: Ctrl-C, then its grace period). */
  signal?: AbortSignal | undefined;
}

/** The trajectory's own "now" (`meta.now`), else (v2) the one generation would have drawn for its id. */
function nowOf(trajectory: Trajectory, options: RefineOptions): string | undefined {
  if (options.promptSet === 'v1') return undefined;
  return asNow(trajectory.meta?.now) ?? nowFor(trajectory.id, options);
}

function personaOf(trajectory: Trajectory): string | undefined {
  const persona: unknown = trajectory.meta?.persona;
  return typeof persona === 'string' && persona !== '' ? persona : undefined;
}

export async function refineTrajectory(
  trajectory: Trajectory,
  sourceText: string,
  options: RefineOptions,
  llm: LlmClient,
): Promise<StageOutcome<Trajectory>> {
  const now = nowOf(trajectory, options);
  const result = await llm.structured({
    stage: 'refine',
    schema: refineAnswerSchema(options.promptSet),
    schemaName: REFINE_SCHEMA_NAME,
    messages: buildRefineMessages({ sourceText, tools: trajectory.tools, messages: trajectory.messages, promptSet: options.promptSet, parallelCalls: options.parallelCalls, persona: personaOf(trajectory), now }),
    temperature: options.temperature,
    max_tokens: options.maxTokens,
    fieldGuide: usesFieldGuide(options.promptSet),
    signal: options.signal,
  });
  if (!result.ok) {
    return { ok: false, reasons: [structuredFailure('refine', result.error, result.raw, options.maxTokens)], raw: result.raw, usage: result.usage };
  }
  const answer = result.value;
  const specErrors = checkToolSpecs(answer.tools);
  if (specErrors.length > 0) return { ok: false, reasons: specErrors, usage: result.usage };
  const tools = answer.tools.map(specToTool);
  const schemaErrors = compileToolSchemas(tools);
  if (schemaErrors.length > 0) return { ok: false, reasons: schemaErrors, usage: result.usage };
  if (answer.turns.length === 0) {
    return { ok: false, reasons: [{ check: 'refine_empty', message: 'the rewrite returned no turns' }], usage: result.usage };
  }
  return {
    ok: true,
    value: {
      ...trajectory,
      tools,
      messages: assembleMessages(withNow(answer.system_prompt, now), answer.turns),
      meta: {
        ...trajectory.meta,
        stage: 'refined',
        model: result.model,
        prompt_version: promptVersion('refine', options.promptSet),
        usage: addUsage(trajectory.meta?.usage, result.usage),
        patterns: answer.patterns,
        pitfalls: answer.pitfalls,
        // v2: the persona of the refined user, not the pre-refinement one.
        ...('user_persona' in answer ? { persona: answer.user_persona } : {}),
        ...(now === undefined ? {} : { now }),
      },
    },
    warnings: [],
  };
}

/**
 * The trajectory to keep after refinement: the rewrite when it succeeded and passes the rule
 * checks, otherwise the original with `meta.refine_fallback` holding why (GEM keeps the
 * pre-refinement trajectory when the rewrite fails).
 */
export function chooseRefined(
  original: Trajectory,
  refined: StageOutcome<Trajectory>,
  validate: (t: Trajectory) => { errors: Reason[] },
): Trajectory {
  const why = refined.ok ? validate(refined.value).errors : refined.reasons;
  if (refined.ok && why.length === 0) return refined.value;
  return { ...original, meta: { ...original.meta, refine_fallback: why.slice(0, 20) } };
}

/**
 * Stage 3: one multi-turn trajectory per workflow, in a single teacher call.
 * The teacher answers in the simple turn schema; ids and links are assigned in code.
 */
import { trajectoryId, type Extraction, type Trajectory } from '../records.js';
import type { LlmClient } from '../llm/types.js';
import {
  buildGenerateMessages,
  GENERATE_PROMPT_VERSION,
  GENERATE_SCHEMA_NAME,
  GeneratedTrajectorySchema,
} from '../prompts/generate.js';
import { assembleMessages } from './conversation.js';
import { structuredFailure, type StageOutcome } from './types.js';
import { promptVersion, usesFieldGuide, type PromptSet } from '../prompts/versions.js';
import { DEFAULT_NOW, nowLine, statesNow, trajectoryNow } from '../prompts/now.js';

export interface GenerateOptions {
  /** Sampling temperature of the teacher, 0–2 (config `temperature`). */
  temperature: number;
  maxTokens?: number | undefined;
  /** Prompt set (config `prompts`): v1 sends the answer format as gemtraj 0.2 did. @default 'v2' */
  promptSet?: PromptSet | undefined;
  /** v2: one call per assistant turn (`forbid`) or several (`allow`), config `parallel_calls`. @default 'forbid' */
  parallelCalls?: 'allow' | 'forbid' | undefined;
  /** v2: the dates a conversation's "now" is drawn from (config `now`, see prompts/now.ts). @default {@link DEFAULT_NOW} */
  now?: string | undefined;
  /** Aborts the call (the engine's stop: Ctrl-C, then its grace period). */
  signal?: AbortSignal | undefined;
}

/** The fixed "now" of trajectory `id` in prompt set v2; v1 has none. */
export function nowFor(id: string, options: { promptSet?: PromptSet | undefined; now?: string | undefined }): string | undefined {
  return options.promptSet === 'v1' ? undefined : trajectoryNow(id, options.now ?? DEFAULT_NOW);
}

/** The system prompt with the now line, added when the teacher did not state the date. */
export function withNow(systemPrompt: string, now: string | undefined): string {
  if (now === undefined || statesNow(systemPrompt, now)) return systemPrompt;
  return `${systemPrompt.trimEnd()}\n\n${nowLine(now)}`;
}

export async function generateTrajectory(
  input: { extraction: Extraction; workflowIndex: number; sourceText: string },
  options: GenerateOptions,
  llm: LlmClient,
): Promise<StageOutcome<Trajectory>> {
  const { extraction, workflowIndex } = input;
  const workflow = extraction.workflows[workflowIndex];
  if (workflow === undefined) {
    return { ok: false, reasons: [{ check: 'generate_no_workflow', message: `extraction has no workflow ${workflowIndex}` }] };
  }
  const segmentId = extraction.source.segment_id ?? extraction.id;
  const id = trajectoryId(segmentId, workflowIndex);
  const now = nowFor(id, options);
  const result = await llm.structured({
    stage: 'generate',
    schema: GeneratedTrajectorySchema,
    schemaName: GENERATE_SCHEMA_NAME,
    messages: buildGenerateMessages({
      sourceText: input.sourceText,
      domain: extraction.domain,
      rules: extraction.rules,
      workflow,
      tools: extraction.tools,
      promptSet: options.promptSet,
      parallelCalls: options.parallelCalls,
      now,
    }),
    temperature: options.temperature,
    max_tokens: options.maxTokens,
    fieldGuide: usesFieldGuide(options.promptSet),
    signal: options.signal,
  });
  if (!result.ok) {
    return { ok: false, reasons: [structuredFailure('generate', result.error, result.raw, options.maxTokens)], raw: result.raw, usage: result.usage };
  }
  const answer = result.value;
  if (answer.turns.length === 0) {
    return { ok: false, reasons: [{ check: 'generate_empty', message: 'the teacher returned no turns' }], usage: result.usage };
  }
  return {
    ok: true,
    value: {
      id,
      source: { doc_id: extraction.source.doc_id, segment_id: segmentId, workflow_index: workflowIndex },
      domain: extraction.domain,
      tools: extraction.tools,
      messages: assembleMessages(withNow(answer.system_prompt, now), answer.turns),
      meta: {
        stage: 'generated',
        model: result.model,
        prompt_version: promptVersion('generate', options.promptSet),
        usage: result.usage,
        workflow: workflow.name,
        persona: answer.user_persona,
        patterns: answer.patterns,
        ...(now === undefined ? {} : { now }),
      },
    },
    warnings: [],
  };
}

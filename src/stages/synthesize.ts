/**
 * Synthesize mode: one call to a fine-tuned Trajectory Synthesizer turns a segment into tools
 * plus a multi-turn trajectory (the paper's distilled Qwen3-8B). The model was trained on
 * `gemtraj export --format sft-pairs`, so its answer is in that text format (defined with its
 * tolerant parser in src/prompts/synthesize.ts).
 *
 * Call ids and links are re-assigned in code, exactly as for the teacher pipeline.
 */
import { trajectoryId, type Segment, type Trajectory } from '../records.js';
import type { LlmClient } from '../llm/types.js';
import { buildSynthesizePrompt, parseSynthesizerOutput, SYNTHESIZE_PROMPT_VERSION } from '../prompts/synthesize.js';
import { assembleMessages, messagesToTurns } from './conversation.js';
import type { StageOutcome } from './types.js';
import { capAdvice, looksLikeRefusal } from './types.js';

export interface SynthesizeOptions {
  /** Sampling temperature of the synthesizer, 0–2 (config `temperature`). */
  temperature: number;
  /** Completion cap; a trajectory of 46 messages needs about 10k tokens. */
  maxTokens?: number | undefined;
  /** Instruction the synthesizer was trained with. @default SYNTHESIZER_INSTRUCTION */
  instruction?: string | undefined;
}

export async function synthesizeTrajectory(segment: Segment, options: SynthesizeOptions, llm: LlmClient): Promise<StageOutcome<Trajectory>> {
  const result = await llm.complete({
    stage: 'synthesize',
    messages: [{ role: 'user', content: buildSynthesizePrompt(segment.text, options.instruction) }],
    temperature: options.temperature,
    max_tokens: options.maxTokens,
  });
  const parsed = parseSynthesizerOutput(result.text);
  if ('error' in parsed) {
    const check = looksLikeRefusal(result.text) ? 'synthesize_refusal' : result.finishReason === 'length' ? 'synthesize_truncated' : 'synthesize_unparseable';
    const message = check === 'synthesize_truncated' ? `${parsed.error}; ${capAdvice('synthesize', options.maxTokens)}` : parsed.error;
    return { ok: false, reasons: [{ check, message }], raw: result.text.slice(0, 20_000), usage: result.usage };
  }
  // Rebuild links in code: the model's own call ids are not trusted.
  const { systemPrompt, turns } = messagesToTurns(parsed.messages);
  const messages = assembleMessages(systemPrompt, turns);
  return {
    ok: true,
    value: {
      id: trajectoryId(segment.id, 0),
      source: { doc_id: segment.doc_id, segment_id: segment.id },
      domain: segment.labels?.domain,
      tools: parsed.tools,
      messages,
      meta: {
        stage: 'synthesized',
        model: result.model,
        prompt_version: SYNTHESIZE_PROMPT_VERSION,
        usage: result.usage,
        ...(parsed.warnings.length > 0 ? { parse_warnings: parsed.warnings } : {}),
      },
    },
    warnings: [],
  };
}

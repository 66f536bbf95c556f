/**
 * Synthesize mode: one call to a fine-tuned Trajectory Synthesizer turns a segment into tools
 * plus a multi-turn trajectory (the paper's distilled Qwen3-8B). The model was trained on
 * `gemtraj export --format sft-pairs`, so its answer is in that text format (defined with its
 * tolerant parser in src/prompts/synthesize.ts).
 *
 * Call ids and links are re-assigned in code, exactly as for the teacher pipeline. Two rules
 * keep what the model did not write out of the dataset: an answer cut at the token limit is
 * rejected whatever the parser could make of it (the tolerant parser would close its tags and
 * complete a cut call), and every slip the parser repaired is a warning in `meta.warnings`
 * (or, with `repairedCalls: 'reject'`, a repaired call rejects the trajectory).
 */
import { trajectoryId, type Message, type Reason, type Segment, type Trajectory } from '../records.js';
import type { LlmClient } from '../llm/types.js';
import { buildSynthesizePrompt, parseSynthesizerOutput, SYNTHESIZE_PROMPT_VERSION, SYNTHESIZER_CHECKS } from '../prompts/synthesize.js';
import { assembleMessages, messagesToTurns } from './conversation.js';
import type { StageOutcome } from './types.js';
import { capAdvice, looksLikeRefusal } from './types.js';

/** What to do with a trajectory whose tool-call JSON the parser had to repair. */
export type RepairedCallsPolicy = 'warn' | 'reject';

export interface SynthesizeOptions {
  /** Sampling temperature of the synthesizer, 0–2 (config `temperature`). */
  temperature: number;
  /** Completion cap; a trajectory of 46 messages needs about 10k tokens. */
  maxTokens?: number | undefined;
  /** Instruction the synthesizer was trained with. @default SYNTHESIZER_INSTRUCTION */
  instruction?: string | undefined;
  /**
   * A `<tool_call>` whose JSON was repaired (unquoted value, single quotes, missing bracket…):
   * `warn` keeps the trajectory with a `synthesizer_call_repaired` warning, `reject` rejects it
   * (check `synthesize_repaired_call`). Config `synthesize.repaired_calls`. @default 'warn'
   */
  repairedCalls?: RepairedCallsPolicy | undefined;
  /** Aborts the call (the engine's stop: Ctrl-C, then its grace period). */
  signal?: AbortSignal | undefined;
}

/** Longest raw answer kept in a rejection record, in characters. */
const RAW_CHARS = 20_000;

/**
 * Index in the assembled conversation of each parsed message: system messages are merged
 * into the first one, the others keep their order after it.
 */
function assembledIndexes(parsed: readonly Message[], assembled: readonly Message[]): number[] {
  let next = assembled[0]?.role === 'system' ? 1 : 0;
  return parsed.map((m) => (m.role === 'system' ? 0 : next++));
}

/** The parser's warnings with their `messages[i]` paths moved to the assembled conversation. */
function remapPaths(warnings: readonly Reason[], indexes: readonly number[]): Reason[] {
  return warnings.map((w) =>
    w.path === undefined ? w : { ...w, path: w.path.replace(/^messages\[(\d+)\]/, (all, i: string) => (indexes[Number(i)] === undefined ? all : `messages[${indexes[Number(i)]}]`)) },
  );
}

export async function synthesizeTrajectory(segment: Segment, options: SynthesizeOptions, llm: LlmClient): Promise<StageOutcome<Trajectory>> {
  const result = await llm.complete({
    stage: 'synthesize',
    messages: [{ role: 'user', content: buildSynthesizePrompt(segment.text, options.instruction) }],
    temperature: options.temperature,
    max_tokens: options.maxTokens,
    signal: options.signal,
  });
  const raw = result.text.slice(0, RAW_CHARS);
  if (result.finishReason === 'length') {
    // Checked before parsing: a cut answer can parse cleanly (cut between turns) or be
    // "completed" by the repairs into values the model never wrote.
    return {
      ok: false,
      reasons: [
        {
          check: 'synthesize_truncated',
          message: `answer cut at the token limit (finish_reason "length", ${result.usage.completion_tokens} completion tokens); ${capAdvice('synthesize', options.maxTokens)}, or lower segment.max_chars`,
        },
      ],
      raw,
      usage: result.usage,
    };
  }
  const parsed = parseSynthesizerOutput(result.text);
  if ('error' in parsed) {
    const check = looksLikeRefusal(result.text) ? 'synthesize_refusal' : 'synthesize_unparseable';
    return { ok: false, reasons: [{ check, message: parsed.error }], raw, usage: result.usage };
  }
  // Rebuild links in code: the model's own call ids are not trusted.
  const { systemPrompt, turns } = messagesToTurns(parsed.messages);
  const messages = assembleMessages(systemPrompt, turns);
  const warnings = remapPaths(parsed.warnings, assembledIndexes(parsed.messages, messages));
  const repaired = warnings.filter((w) => w.check === SYNTHESIZER_CHECKS.callRepaired);
  if (repaired.length > 0 && options.repairedCalls === 'reject') {
    return { ok: false, reasons: repaired.map((w) => ({ ...w, check: 'synthesize_repaired_call' })), raw, usage: result.usage };
  }
  const taskCategory = segment.labels?.task_category;
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
        // The filter's label, as extraction gives it in run mode: stats groups by it.
        ...(taskCategory !== undefined && taskCategory !== '' ? { task_category: taskCategory } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
      },
    },
    // Already on the trajectory (meta.warnings): the one place they are kept.
    warnings,
  };
}

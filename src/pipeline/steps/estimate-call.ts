/** How the step files size one model call for `--estimate`. */
import type { EstimateItem, StepEstimate } from '../step.js';
import { tokensOf } from './common.js';

/** Share of calls re-asked after an invalid answer. */
export const REASK_RATE = 0.1;

/**
 * One call per record: the fixed prompt of the stage's instructions, plus the source text and
 * the record when the prompt carries them, and a typical completion.
 */
export function oneCall(
  item: EstimateItem,
  sizes: {
    /** Tokens of the stage's own instructions. */
    prompt: number;
    /** Typical completion tokens (from the paper's trajectory sizes). */
    completion: number;
    /** Whether the prompt carries the source text. @default true */
    withText?: boolean;
  },
  out: number | unknown[],
  outTokens?: number,
): StepEstimate {
  const calls = 1 + REASK_RATE;
  const prompt = sizes.prompt + (sizes.withText === false ? 0 : tokensOf(item.textChars)) + item.recordTokens;
  return { calls, prompt_tokens: calls * prompt, completion_tokens: calls * sizes.completion, out, outTokens };
}

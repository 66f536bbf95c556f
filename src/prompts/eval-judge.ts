/**
 * The optional judge of `gemtraj eval --judge-model`: on a turn where the reference asks the
 * user for missing information, does the evaluated model's reply ask for the same thing? The
 * rule-based check only sees that a question is asked; the judge sees *what* is asked.
 */
import { z } from 'zod';
import type { Message } from '../records.js';

export const EVAL_JUDGE_PROMPT_VERSION = 'eval-judge-v1';
export const EVAL_JUDGE_SCHEMA_NAME = 'ask_verdict';

export const EvalJudgeAnswerSchema = z
  .object({
    reason: z.string().describe('what the reference asks for and what the reply asks for, in a sentence'),
    asks: z.boolean().describe('true if the reply asks the user for the information the reference asks for'),
  })
  .strict();
export type EvalJudgeAnswer = z.infer<typeof EvalJudgeAnswerSchema>;

/** The last user message before the turn, for context. */
function lastUser(prefix: readonly Message[]): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const m = prefix[i];
    if (m?.role === 'user') return m.content;
  }
  return '';
}

export function buildEvalJudgeMessages(prefix: readonly Message[], reference: string, reply: string): Message[] {
  return [
    {
      role: 'system',
      content:
        'You compare two replies of a tool-using assistant at the same point of a conversation. The reference reply asks the user for information the assistant needs before it can act. Decide whether the candidate reply also asks the user for that information (in any words; asking for more is fine, asking for something else instead is not, and answering or acting without asking fails). Answer with a JSON object {"reason": string, "asks": boolean}.',
    },
    {
      role: 'user',
      content: `Last user message:\n${lastUser(prefix)}\n\nReference reply:\n${reference}\n\nCandidate reply:\n${reply}`,
    },
  ];
}

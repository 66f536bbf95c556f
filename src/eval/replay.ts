/**
 * One turn replayed: the reference prefix and its tools go to the evaluated model (native
 * `tools` parameter), the answer is read (native calls or Hermes text) and scored. On an ask
 * turn the optional judge decides whether the reply asks for what the reference asks for.
 * Endpoint failures propagate (the engine marks the turn retryable or refused).
 */
import type { LlmClient } from '../llm/types.js';
import { EVAL_JUDGE_SCHEMA_NAME, EvalJudgeAnswerSchema, buildEvalJudgeMessages } from '../prompts/eval-judge.js';
import { readModelTurn } from './answer.js';
import type { StringMode } from './ast-match.js';
import { scoreTurn, type AskVerdict, type TurnScore } from './score.js';
import type { EvalTurn } from './turns.js';

export interface ReplayOptions {
  /** Sampling temperature of the evaluated model. @default 0 */
  temperature?: number | undefined;
  /** Completion token cap per turn. @default the endpoint's own */
  maxTokens?: number | undefined;
  /** How argument strings compare (see ast-match.ts). @default 'bfcl' */
  strings?: StringMode | undefined;
  /** Judge of ask turns; absent = the rule-based check. */
  judge?: LlmClient | undefined;
  signal?: AbortSignal | undefined;
}

export async function replayTurn(turn: EvalTurn, llm: LlmClient, options: ReplayOptions = {}): Promise<TurnScore> {
  const answer = await llm.complete({
    stage: 'eval',
    messages: turn.prefix,
    tools: turn.tools,
    temperature: options.temperature ?? 0,
    max_tokens: options.maxTokens,
    signal: options.signal,
  });
  const model = readModelTurn(answer.text, answer.toolCalls);
  let verdict: AskVerdict | undefined;
  if (options.judge !== undefined && turn.kind === 'ask' && model.calls.length === 0) {
    const judged = await options.judge.structured({
      stage: 'eval_judge',
      messages: buildEvalJudgeMessages(turn.prefix, turn.reference.content ?? '', model.text),
      schema: EvalJudgeAnswerSchema,
      schemaName: EVAL_JUDGE_SCHEMA_NAME,
      temperature: 0,
      signal: options.signal,
    });
    // An unreadable verdict falls back to the rule, and says so.
    verdict = judged.ok ? { asks: judged.value.asks, reason: judged.value.reason } : undefined;
  }
  return scoreTurn(turn, model, { strings: options.strings, verdict });
}

/**
 * Step `eval`: one reference turn replayed on the evaluated model and scored (gemtraj eval).
 * A turn the endpoint refuses (prompt too long for the model's context, content policy) is
 * scored wrong with the reason rather than dropped, so two models are always compared on the
 * same turns; an endpoint failure is retryable and a rerun scores it.
 */
import { refusedTurn, type TurnScore } from '../../eval/score.js';
import { replayTurn, type ReplayOptions } from '../../eval/replay.js';
import type { EvalTurn } from '../../eval/turns.js';
import type { LlmClient } from '../../llm/types.js';
import type { Step } from '../step.js';
import { needLlm } from './common.js';

export function evalTurnStep(options: Omit<ReplayOptions, 'signal'>, llm: LlmClient | undefined): Step<EvalTurn, TurnScore> {
  return {
    name: 'eval',
    input: 'eval_turn',
    output: 'turn_score',
    keyOf: (turn) => turn.id,
    sourceOf: (turn) => turn.source,
    async run(turn, context) {
      return { kind: 'out', records: [await replayTurn(turn, needLlm(llm, 'eval'), { ...options, signal: context.signal })] };
    },
    onRefused: (turn, reason) => ({ kind: 'out', records: [refusedTurn(turn, reason.message)] }),
    tally: (score) => [score.correct ? 'right' : 'wrong'],
  };
}

/** The `complexity` check: configurable minimum sizes (all off by default). */
import type { Reason } from '../../records.js';
import type { ValidateContext } from '../context.js';

/** Size measures of a trajectory, as counted by the `complexity` check. */
export interface TrajectorySize {
  messages: number;
  userTurns: number;
  toolCalls: number;
  distinctTools: number;
}

/** Counts the measures `complexity` compares (0s when the messages did not parse). */
export function measureTrajectory(ctx: ValidateContext): TrajectorySize {
  const messages = ctx.messages ?? [];
  let userTurns = 0;
  for (const m of messages) if (m.role === 'user') userTurns += 1;
  const names = new Set<string>();
  for (const c of ctx.calls) names.add(c.call.function.name);
  return { messages: messages.length, userTurns, toolCalls: ctx.calls.length, distinctTools: names.size };
}

/** `complexity`: the trajectory reaches every configured minimum. */
export function checkComplexity(ctx: ValidateContext): Reason[] {
  const min = ctx.options.complexity;
  if (ctx.messages === undefined) return [];
  if (min.minDistinctTools <= 0 && min.minToolCalls <= 0 && min.minMessages <= 0 && min.minUserTurns <= 0) return [];
  const size = measureTrajectory(ctx);
  const reasons: Reason[] = [];
  const need = (have: number, want: number, what: string): void => {
    if (want > 0 && have < want) {
      reasons.push({ check: 'complexity', path: 'messages', message: `${have} ${what}, at least ${want} required` });
    }
  };
  need(size.distinctTools, min.minDistinctTools, 'distinct tools called');
  need(size.toolCalls, min.minToolCalls, 'tool calls');
  need(size.messages, min.minMessages, 'messages');
  need(size.userTurns, min.minUserTurns, 'user turns');
  return reasons;
}

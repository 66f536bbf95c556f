/**
 * The turns of a reference trajectory that an evaluated model must reproduce: every assistant
 * message, with the conversation before it (teacher forcing: the model sees the reference's
 * own earlier calls and results, never its own), the tools offered, and what kind of turn it is.
 */
import type { AssistantMessage, Message, Source, Tool, Trajectory } from '../records.js';
import { asksUser } from './ask.js';

/** `call`: one tool call; `parallel`: several in one turn; `ask`: text asking the user; `answer`: any other text. */
export const TURN_KINDS = ['call', 'parallel', 'ask', 'answer'] as const;
export type TurnKind = (typeof TURN_KINDS)[number];

/** Label of trajectories that declare no domain or no interaction pattern. */
export const NONE_LABEL = '(none)';

export interface EvalTurn {
  /** `<trajectory id>#<message index>`: the unit of resume. */
  id: string;
  trajectory_id: string;
  /** Provenance of the trajectory, for rejections. */
  source: Source;
  /** Index of the reference assistant message in the trajectory's messages. */
  index: number;
  kind: TurnKind;
  domain: string;
  /** Interaction patterns the trajectory declares (`meta.patterns`), or `[(none)]`. */
  patterns: string[];
  tools: Tool[];
  /** The messages before the turn, sent as they are. */
  prefix: Message[];
  reference: AssistantMessage;
}

export function turnKindOf(message: AssistantMessage): TurnKind {
  const calls = message.tool_calls?.length ?? 0;
  if (calls > 1) return 'parallel';
  if (calls === 1) return 'call';
  return asksUser(message.content ?? '') ? 'ask' : 'answer';
}

function patternsOf(t: Trajectory): string[] {
  const declared = t.meta?.patterns;
  const names = Array.isArray(declared) ? [...new Set(declared.filter((p): p is string => typeof p === 'string' && p !== ''))] : [];
  return names.length > 0 ? names : [NONE_LABEL];
}

/** Every assistant turn of `trajectory`, in order. */
export function turnsOf(trajectory: Trajectory): EvalTurn[] {
  const domain = trajectory.domain !== undefined && trajectory.domain !== '' ? trajectory.domain : NONE_LABEL;
  const patterns = patternsOf(trajectory);
  const turns: EvalTurn[] = [];
  trajectory.messages.forEach((message, index) => {
    if (message.role !== 'assistant') return;
    turns.push({
      id: `${trajectory.id}#${index}`,
      trajectory_id: trajectory.id,
      source: trajectory.source,
      index,
      kind: turnKindOf(message),
      domain,
      patterns,
      tools: trajectory.tools,
      prefix: trajectory.messages.slice(0, index),
      reference: message,
    });
  });
  return turns;
}

/**
 * Scores a model's turn against the reference turn (one line of `turns.jsonl`):
 *
 * - decision: a call where the reference calls, text where it answers or asks;
 * - names (call turns): the multiset of function names, order-independent;
 * - call (call turns): names and arguments by the AST match of `ast-match.ts`, parallel calls
 *   in any order;
 * - ask (ask turns): the model's text asks the user too (rule-based, or the judge's verdict);
 * - correct: the call for call turns, the ask for ask turns, the decision for answer turns.
 */
import type { JsonSchemaObject } from '../records.js';
import { asksUser } from './ask.js';
import { callsMatch, namesMatch, type MatchOptions, type ParsedCall } from './ast-match.js';
import { parseWireCalls, type ModelTurn } from './answer.js';
import type { EvalTurn, TurnKind } from './turns.js';

/** A verdict on an ask turn from the LLM judge. */
export interface AskVerdict {
  asks: boolean;
  reason: string;
}

export interface TurnScore {
  id: string;
  trajectory_id: string;
  index: number;
  kind: TurnKind;
  domain: string;
  patterns: string[];
  /** What the model did. */
  answered: 'call' | 'text';
  decision_ok: boolean;
  /** Call turns only (`null` otherwise). */
  name_ok: boolean | null;
  /** Call turns only: names and arguments right. */
  call_ok: boolean | null;
  /** Ask turns only: the model asks as well. */
  ask_ok: boolean | null;
  correct: boolean;
  /** Why the turn is wrong, in a sentence; absent when it is right. */
  problem?: string | undefined;
  /** How the ask was decided, on ask turns. */
  ask_by?: 'rule' | 'judge' | undefined;
  /** The judge's reason, when it decided. */
  judge_reason?: string | undefined;
  expected: { calls: ParsedCall[]; text: string | null };
  got: { calls: ParsedCall[]; text: string; via: ModelTurn['via']; problems?: string[] | undefined };
}

/** Argument schema of each tool of the turn, by name. */
function schemas(turn: EvalTurn): (name: string) => JsonSchemaObject | undefined {
  const byName = new Map(turn.tools.map((t) => [t.function.name, t.function.parameters]));
  return (name) => byName.get(name);
}

export function scoreTurn(turn: EvalTurn, model: ModelTurn, options: MatchOptions & { verdict?: AskVerdict | undefined } = {}): TurnScore {
  const expectedCalls = parseWireCalls(turn.reference.tool_calls ?? []);
  const answered = model.calls.length > 0 ? 'call' : 'text';
  const isCallTurn = turn.kind === 'call' || turn.kind === 'parallel';
  const decisionOk = isCallTurn ? answered === 'call' : answered === 'text';
  let nameOk: boolean | null = null;
  let callOk: boolean | null = null;
  let askOk: boolean | null = null;
  let problem: string | undefined;
  let askBy: TurnScore['ask_by'];
  if (!decisionOk) {
    problem = isCallTurn ? 'answered in text where the reference calls a tool' : `called ${model.calls.map((c) => c.name).join(', ')} where the reference ${turn.kind === 'ask' ? 'asks the user' : 'answers'}`;
  }
  if (isCallTurn) {
    nameOk = decisionOk && namesMatch(expectedCalls.map((c) => c.name), model.calls.map((c) => c.name));
    if (decisionOk && !nameOk) {
      problem = `called ${model.calls.map((c) => c.name).join(', ')}, expected ${expectedCalls.map((c) => c.name).join(', ')}`;
    }
    if (nameOk) {
      const match = callsMatch(expectedCalls, model.calls, schemas(turn), options);
      callOk = match.ok;
      if (!match.ok) problem = match.problem;
    } else callOk = false;
  } else if (turn.kind === 'ask') {
    askBy = options.verdict !== undefined ? 'judge' : 'rule';
    const asks = options.verdict?.asks ?? asksUser(model.text);
    askOk = decisionOk && asks;
    if (decisionOk && !asks) problem = 'does not ask the user where the reference asks';
  }
  const correct = isCallTurn ? callOk === true : turn.kind === 'ask' ? askOk === true : decisionOk;
  return {
    ...turnIdentity(turn),
    answered,
    decision_ok: decisionOk,
    name_ok: nameOk,
    call_ok: callOk,
    ask_ok: askOk,
    correct,
    ...(problem !== undefined && !correct ? { problem } : {}),
    ...(askBy !== undefined ? { ask_by: askBy } : {}),
    ...(options.verdict !== undefined && turn.kind === 'ask' ? { judge_reason: options.verdict.reason } : {}),
    expected: { calls: expectedCalls, text: isCallTurn ? null : turn.reference.content ?? '' },
    got: { calls: model.calls, text: model.text, via: model.via, ...(model.problems.length > 0 ? { problems: model.problems } : {}) },
  };
}

/** The fields that say which turn a score is for, the same in every score. */
function turnIdentity(turn: EvalTurn): Pick<TurnScore, 'id' | 'trajectory_id' | 'index' | 'kind' | 'domain' | 'patterns'> {
  return { id: turn.id, trajectory_id: turn.trajectory_id, index: turn.index, kind: turn.kind, domain: turn.domain, patterns: turn.patterns };
}

/** A turn the endpoint refused to answer (prompt too long, content policy): wrong on every count. */
export function refusedTurn(turn: EvalTurn, reason: string): TurnScore {
  const isCallTurn = turn.kind === 'call' || turn.kind === 'parallel';
  return {
    ...turnIdentity(turn),
    answered: 'text',
    decision_ok: false,
    name_ok: isCallTurn ? false : null,
    call_ok: isCallTurn ? false : null,
    ask_ok: turn.kind === 'ask' ? false : null,
    correct: false,
    problem: `the endpoint refused the request: ${reason}`,
    expected: { calls: parseWireCalls(turn.reference.tool_calls ?? []), text: isCallTurn ? null : turn.reference.content ?? '' },
    got: { calls: [], text: '', via: 'none' },
  };
}

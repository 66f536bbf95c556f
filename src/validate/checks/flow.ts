/**
 * Conversation-structure checks: role order, the linking of tool results to tool calls,
 * call ids, empty messages and the final answer.
 *
 * Linking rule: a tool message answers a call of the nearest assistant message before it,
 * and the results of an assistant message's calls come right after it, before anything else.
 * One walk over the messages classifies every problem once, so a single defect yields a
 * single reason: a result that arrives late is `role_order` (not also `missing_tool_result`);
 * `missing_tool_result` means no tool message answers the call, neither in place nor late.
 * Call ids may repeat across assistant messages (tau-bench logs do): linking is by position.
 */
import type { Message, Reason } from '../../records.js';
import type { ValidateContext } from '../context.js';

interface FlowFindings {
  role_order: Reason[];
  final_answer: Reason[];
  missing_tool_result: Reason[];
  orphan_tool_result: Reason[];
}

const flowMemo = new WeakMap<ValidateContext, FlowFindings>();

function isBlank(text: string | null | undefined): boolean {
  return text === null || text === undefined || text.trim() === '';
}

function analyseFlow(ctx: ValidateContext): FlowFindings {
  const memo = flowMemo.get(ctx);
  if (memo !== undefined) return memo;
  const found: FlowFindings = { role_order: [], final_answer: [], missing_tool_result: [], orphan_tool_result: [] };
  const messages = ctx.messages;
  if (messages === undefined) {
    flowMemo.set(ctx, found);
    return found;
  }

  // Every call, whether a result answered it; ids may repeat across assistant messages.
  interface CallState {
    path: string;
    id: string;
    answered: boolean;
  }
  const states: CallState[] = [];
  const latest = new Map<string, CallState>(); // id → most recent call made so far
  const laterSite = new Map<string, string>(); // id → first call site (to explain early results)
  for (const c of ctx.calls) if (!laterSite.has(c.call.id)) laterSite.set(c.call.id, c.path);

  // The open block: calls of the last assistant message, by id.
  let block = new Map<string, CallState[]>();
  let users = 0;
  let prev: Message | undefined;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const path = `messages[${i}]`;
    if (m.role === 'tool') {
      const id = m.tool_call_id;
      const mine = block.get(id);
      const own = mine?.find((state) => !state.answered);
      const earlier = latest.get(id);
      if (own !== undefined) {
        own.answered = true;
      } else if (mine === undefined && earlier !== undefined && !earlier.answered) {
        earlier.answered = true; // counted as answered so it is not also missing_tool_result
        found.role_order.push({
          check: 'role_order',
          path,
          message: `tool result for call ${JSON.stringify(id)} (${earlier.path}) is not directly after the assistant message that made it`,
        });
      } else if (mine !== undefined || earlier !== undefined) {
        found.orphan_tool_result.push({
          check: 'orphan_tool_result',
          path,
          message: `second tool result for call ${JSON.stringify(id)}`,
        });
      } else {
        const site = laterSite.get(id);
        found[site === undefined ? 'orphan_tool_result' : 'role_order'].push({
          check: site === undefined ? 'orphan_tool_result' : 'role_order',
          path,
          message:
            site === undefined
              ? `tool result answers ${JSON.stringify(id)}, but no tool call has that id`
              : `tool result comes before its call ${JSON.stringify(id)} (${site})`,
        });
      }
    } else {
      if (block.size > 0) block = new Map();
      if (m.role === 'system' && i > 0) {
        found.role_order.push({ check: 'role_order', path, message: 'a system message may only come first' });
      }
      if (m.role === 'user') {
        users += 1;
        if (prev?.role === 'tool') {
          found.role_order.push({
            check: 'role_order',
            path,
            message: 'user message directly after a tool result (the assistant must respond to tool results first)',
          });
        }
      }
      if (m.role === 'assistant' && m.tool_calls !== undefined) {
        m.tool_calls.forEach((call, k) => {
          const state: CallState = { path: `messages[${i}].tool_calls[${k}]`, id: call.id, answered: false };
          states.push(state);
          latest.set(call.id, state);
          const same = block.get(call.id);
          if (same === undefined) block.set(call.id, [state]);
          else same.push(state);
        });
      }
    }
    prev = m;
  }
  for (const state of states) {
    if (!state.answered) {
      found.missing_tool_result.push({
        check: 'missing_tool_result',
        path: state.path,
        message: `tool call ${JSON.stringify(state.id)} has no tool result`,
      });
    }
  }

  if (users === 0) {
    found.role_order.push({ check: 'role_order', path: 'messages', message: 'the conversation has no user message' });
  }
  const last = messages[messages.length - 1];
  if (last === undefined) {
    found.final_answer.push({ check: 'final_answer', path: 'messages', message: 'the conversation is empty' });
  } else if (last.role !== 'assistant' || isBlank(last.content)) {
    found.final_answer.push({
      check: 'final_answer',
      path: `messages[${messages.length - 1}]`,
      message: `the conversation must end with an assistant text answer, not ${
        last.role === 'assistant' ? 'tool calls without text' : `a ${last.role} message`
      }`,
    });
  } else if (last.tool_calls !== undefined && last.tool_calls.length > 0) {
    found.final_answer.push({
      check: 'final_answer',
      path: `messages[${messages.length - 1}]`,
      message: 'the conversation ends with tool calls that are never answered',
    });
  }
  flowMemo.set(ctx, found);
  return found;
}

/**
 * `role_order`: a system message only first; results of an assistant message's calls right
 * after it; tool messages answer calls of the assistant message before them; no user message
 * directly after a tool message; at least one user message.
 */
export function checkRoleOrder(ctx: ValidateContext): Reason[] {
  return analyseFlow(ctx).role_order;
}

/** `final_answer`: the conversation ends with an assistant message that has text. */
export function checkFinalAnswer(ctx: ValidateContext): Reason[] {
  return analyseFlow(ctx).final_answer;
}

/** `missing_tool_result`: every tool call has a tool message with its id. */
export function checkMissingToolResult(ctx: ValidateContext): Reason[] {
  return analyseFlow(ctx).missing_tool_result;
}

/** `orphan_tool_result`: every tool message answers a call, and only once. */
export function checkOrphanToolResult(ctx: ValidateContext): Reason[] {
  return analyseFlow(ctx).orphan_tool_result;
}

/** `duplicate_call_id`: call ids are unique (in the trajectory or per message: `callIdScope`). */
export function checkDuplicateCallId(ctx: ValidateContext): Reason[] {
  const reasons: Reason[] = [];
  const perTrajectory = ctx.options.callIdScope === 'trajectory';
  let seen = new Map<string, string>();
  let lastMsg = -1;
  for (const c of ctx.calls) {
    if (!perTrajectory && c.msg !== lastMsg) seen = new Map();
    lastMsg = c.msg;
    const first = seen.get(c.call.id);
    if (first === undefined) seen.set(c.call.id, c.path);
    else {
      reasons.push({
        check: 'duplicate_call_id',
        path: c.path,
        message: `tool call id ${JSON.stringify(c.call.id)} is already used by ${first}`,
      });
    }
  }
  return reasons;
}

/**
 * `empty_message`: user and system messages have text; an assistant message has text or
 * tool calls. (Empty tool results are `empty_tool_result`.)
 */
export function checkEmptyMessage(ctx: ValidateContext): Reason[] {
  const reasons: Reason[] = [];
  ctx.messages?.forEach((m, i) => {
    let empty = false;
    if (m.role === 'user' || m.role === 'system') empty = isBlank(m.content);
    else if (m.role === 'assistant') empty = isBlank(m.content) && (m.tool_calls === undefined || m.tool_calls.length === 0);
    if (empty) {
      reasons.push({
        check: 'empty_message',
        path: `messages[${i}]`,
        message: m.role === 'assistant' ? 'assistant message has neither text nor tool calls' : `${m.role} message is empty`,
      });
    }
  });
  return reasons;
}

/** `empty_tool_result`: tool results have content (warning by default: some tools return nothing). */
export function checkEmptyToolResult(ctx: ValidateContext): Reason[] {
  const reasons: Reason[] = [];
  ctx.messages?.forEach((m, i) => {
    if (m.role === 'tool' && isBlank(m.content)) {
      reasons.push({ check: 'empty_tool_result', path: `messages[${i}]`, message: 'tool result is empty' });
    }
  });
  return reasons;
}

/**
 * `parallel_calls`: an assistant turn that calls more than one tool, where the run asked for
 * one call per turn (config `parallel_calls: forbid`). Off unless the options turn it on.
 */
export function checkParallelCalls(ctx: ValidateContext): Reason[] {
  const out: Reason[] = [];
  (ctx.messages ?? []).forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const n = m.tool_calls?.length ?? 0;
    if (n > 1) {
      out.push({
        check: 'parallel_calls',
        path: `messages[${i}].tool_calls`,
        message: `the assistant turn calls ${n} tools at once; this run allows one call per assistant turn (parallel_calls: forbid)`,
      });
    }
  });
  return out;
}

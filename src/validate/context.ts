/**
 * The per-trajectory context every check reads: the parsed record (or the parts of it that
 * parse), tool lookup, and every tool call with its arguments parsed exactly once.
 */
import { z } from 'zod';
import {
  MessageSchema,
  ToolSchema,
  TrajectorySchema,
  formatPath,
  type Message,
  type Reason,
  type Tool,
  type ToolCall,
} from '../records.js';
import type { ResolvedValidateOptions } from './options.js';

/** One tool call of the trajectory, located and with its arguments parsed. */
export interface CallRef {
  /** Index of the assistant message in `messages`. */
  readonly msg: number;
  /** Index of the call in that message's `tool_calls`. */
  readonly index: number;
  /** `messages[3].tool_calls[0]`. */
  readonly path: string;
  readonly call: ToolCall;
  /** The arguments when they parse to a JSON object; otherwise undefined. */
  readonly args: Record<string, unknown> | undefined;
  /** Why `args` is undefined (not JSON, or not an object). */
  readonly argsError: string | undefined;
}

export interface ValidateContext {
  readonly options: ResolvedValidateOptions;
  /** Problems with the record's shape (check `record_shape`); empty when it parsed. */
  readonly shapeErrors: readonly Reason[];
  /** The tools, when the `tools` array has the right shape; checks needing it skip otherwise. */
  readonly tools: readonly Tool[] | undefined;
  /** The messages, when the `messages` array has the right shape. */
  readonly messages: readonly Message[] | undefined;
  /** First tool of each name (only when `tools` parsed). */
  readonly toolsByName: ReadonlyMap<string, Tool>;
  /** Every tool call in message order (empty when `messages` did not parse). */
  readonly calls: readonly CallRef[];
}

/** Most `record_shape` reasons reported for one record; a garbage record has thousands. */
export const MAX_SHAPE_REASONS = 50;

const ToolsSchema = z.array(ToolSchema);
const MessagesSchema = z.array(MessageSchema);

function shapeReasons(error: z.ZodError): Reason[] {
  const reasons: Reason[] = [];
  for (const issue of error.issues) {
    if (reasons.length === MAX_SHAPE_REASONS) {
      reasons.push({
        check: 'record_shape',
        message: `... and ${error.issues.length - MAX_SHAPE_REASONS} more shape problems`,
      });
      break;
    }
    reasons.push({ check: 'record_shape', path: formatPath(issue.path), message: issue.message });
  }
  return reasons;
}

/** Parses a call's arguments string; the error says what it got instead of an object. */
export function parseArguments(text: string): { args: Record<string, unknown> } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { error: text.trim() === '' ? 'arguments are empty (expected a JSON object, e.g. "{}")' : `arguments are not valid JSON: ${detail}` };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return { args: value as Record<string, unknown> };
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  const hint = typeof value === 'string' ? ' (double-encoded JSON?)' : '';
  return { error: `arguments must be a JSON object, got ${kind}${hint}` };
}

/**
 * Builds the context. When the whole record does not parse, `tools` and `messages` are parsed
 * on their own so that the checks which only need one of them still run.
 */
export function buildContext(raw: unknown, options: ResolvedValidateOptions): ValidateContext {
  let tools: Tool[] | undefined;
  let messages: Message[] | undefined;
  let shapeErrors: Reason[] = [];
  const parsed = TrajectorySchema.safeParse(raw);
  if (parsed.success) {
    tools = parsed.data.tools;
    messages = parsed.data.messages;
  } else {
    shapeErrors = shapeReasons(parsed.error);
    if (raw !== null && typeof raw === 'object') {
      const record = raw as Record<string, unknown>;
      const t = ToolsSchema.safeParse(record['tools']);
      if (t.success) tools = t.data;
      const m = MessagesSchema.safeParse(record['messages']);
      if (m.success) messages = m.data;
    }
  }

  const toolsByName = new Map<string, Tool>();
  for (const tool of tools ?? []) {
    if (!toolsByName.has(tool.function.name)) toolsByName.set(tool.function.name, tool);
  }

  const calls: CallRef[] = [];
  if (messages !== undefined) {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.role !== 'assistant' || m.tool_calls === undefined) continue;
      for (let k = 0; k < m.tool_calls.length; k++) {
        const call = m.tool_calls[k]!;
        const result = parseArguments(call.function.arguments);
        calls.push({
          msg: i,
          index: k,
          path: `messages[${i}].tool_calls[${k}]`,
          call,
          args: 'args' in result ? result.args : undefined,
          argsError: 'error' in result ? result.error : undefined,
        });
      }
    }
  }
  return { options, shapeErrors, tools, messages, toolsByName, calls };
}

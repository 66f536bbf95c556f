/**
 * Stage 4 prompt: complexity refinement (GEM §A.4). The model rewrites a valid trajectory to
 * be harder and more realistic and returns the whole tool set (it may add or change tools),
 * a system prompt with a database-like schema, and the new conversation.
 */
import { z } from 'zod';
import type { Message, Tool } from '../records.js';
import { TurnSchema } from './conversation.js';
import { ToolSpecSchema, ToolSpecV2Schema } from './tool-spec.js';
import { CONVERSATION_RULES, conversationRules, INTERACTION_PATTERNS } from './generate.js';
import { timeRules } from './now.js';
import { parallelCallsRule, renderConversation, renderTools, TOOL_SPEC_GUIDE, TOOL_SPEC_GUIDE_V2, type ParallelCalls } from './shared.js';
import { promptVersion, type PromptSet } from './versions.js';

/** Version of this prompt in the default prompt set (versions.ts). */
export const REFINE_PROMPT_VERSION = promptVersion('refine');
export const REFINE_SCHEMA_NAME = 'refined_trajectory';

export const REFINE_PATTERNS = [
  ...INTERACTION_PATTERNS,
  'long_context',
  'identify_limitation',
  'guide_physical_operation',
] as const;

export const RefinedTrajectorySchema = z
  .object({
    tools: z.array(ToolSpecSchema).describe('the full tool set after refinement: kept, changed and new tools'),
    system_prompt: z.string().describe('structured rules plus the data schema that tool results follow'),
    patterns: z.array(z.enum(REFINE_PATTERNS)),
    pitfalls: z.array(z.string()).describe('the 1-2 traps in this conversation the assistant must notice'),
    turns: z.array(TurnSchema),
  })
  .strict();
export type RefinedTrajectory = z.infer<typeof RefinedTrajectorySchema>;

/**
 * v2 answer: the user's persona as it is after the rewrite comes back too, so the stored
 * persona describes the refined user (who may have gained a new trip or constraint).
 */
export const RefinedTrajectoryV2Schema = z
  .object({
    user_persona: z.string().describe("the user's persona after the rewrite: who they are, their situation and what they want, as the new conversation shows it"),
    ...RefinedTrajectorySchema.shape,
    tools: z.array(ToolSpecV2Schema).describe('the full tool set after refinement: kept, changed and new tools'),
  })
  .strict();

/** The answer schema of refinement in a prompt set. */
export type RefinedAnswer = RefinedTrajectory | z.infer<typeof RefinedTrajectoryV2Schema>;

export function refineAnswerSchema(set: PromptSet | undefined): z.ZodType<RefinedAnswer> {
  return set === 'v1' ? RefinedTrajectorySchema : RefinedTrajectoryV2Schema;
}

const SYSTEM = `You make tool-use training conversations harder and more realistic without making them wrong. You receive a source text, the tools of its environment and a correct conversation. Rewrite the conversation; keep what is good.

Make it richer:
- Tools: use more of the environment. You may add tools, but only for operations the source text supports; you may fix a tool's parameters. Return the complete tool set (every tool the conversation calls must be in it).
- System prompt: organise the rules as a structured list (preconditions, limits, permissions, confirmation duties), and add a short data schema (the entities, their fields and id formats) that every tool result must follow. Keep every rule faithful to the source text.
- User: keep a persistent profile; make requests more ambiguous and more complex. Include at least one user turn that carries several explicit and implicit constraints at once.
- Long context: at least one point where the assistant must reason across several earlier tool results that hold a lot of realistic but irrelevant data.
- Pitfalls: plant one or two traps the assistant must identify (a rule the user's request breaks, an item not eligible, a mismatch between what the user says and what a tool returned). List them.
- Patterns: error recovery, long context, clarification (sometimes the answer can be inferred from the system prompt or earlier results and must not be asked; sometimes it must be asked), identifying a limitation, guiding a physical operation where the domain has one.
- Realism: no placeholders ("<id>", "XXX", "example.com" stand-ins), realistic non-trivial errors, no redundant or repeated calls, at most one tool call per assistant turn, and fix any rule violation of the original.

${TOOL_SPEC_GUIDE}

${CONVERSATION_RULES}`;

/** v2: the parallel-call rule in the shared wording, in place of v1's "at most one tool call per assistant turn". */
function systemV2(parallel: ParallelCalls, now: string | undefined): string {
  return SYSTEM.replace(TOOL_SPEC_GUIDE, TOOL_SPEC_GUIDE_V2).replace('no redundant or repeated calls, at most one tool call per assistant turn, and fix', 'no redundant or repeated calls, and fix').replace(
    CONVERSATION_RULES,
    `${now === undefined ? '' : `${timeRules(now)} Keep the times the current conversation already has where they fit this.\n\n`}${conversationRules('v2')}\n${parallelCallsRule(parallel)}`,
  );
}

const V1_TARGET = 'Target size: 30 to 60 turns, at least 6 distinct tools, at least 10 tool calls.';

/**
 * v2 target, relative to the conversation received: longer and using more of the environment
 * where the workflow allows, never padded with an unrelated task to reach a number.
 */
export function refineTarget(messages: readonly Message[], toolCount: number): string {
  const turns = messages.filter((m) => m.role !== 'system').length;
  const calls = messages.reduce((n, m) => n + (m.role === 'assistant' ? (m.tool_calls?.length ?? 0) : 0), 0);
  const used = new Set(messages.flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []).map((c) => c.function.name) : []))).size;
  const distinct = Math.min(toolCount, used + 2);
  return `Target size, relative to the current conversation (${turns} turns, ${calls} tool calls, ${used} distinct tools; tool turns count): about ${Math.max(turns, Math.round(turns * 1.3))} to ${Math.round(turns * 1.7) + 4} turns, at least ${calls + 2} tool calls, and up to ${distinct} distinct tools where the same user's situation needs them. Grow the conversation the user is already having (deeper checks, a complication, a follow-up about the same matter); never add an unrelated task or booking just to reach these numbers.`;
}

export interface RefinePromptInput {
  sourceText: string;
  tools: Tool[];
  messages: Message[];
  /** v2: targets relative to the conversation; v1: absolute targets, as gemtraj 0.2. @default 'v2' */
  promptSet?: PromptSet | undefined;
  /** v2: the parallel-call rule. @default 'forbid' */
  parallelCalls?: ParallelCalls | undefined;
  /** The user's persona before the rewrite (generation's `meta.persona`); v2 shows it and asks for the updated one. */
  persona?: string | undefined;
  /** v2: the conversation's current date and time (`meta.now`), kept through the rewrite. */
  now?: string | undefined;
}

export function buildRefineMessages(input: RefinePromptInput): Message[] {
  const user = `Source text:
<<<TEXT
${input.sourceText}
TEXT>>>

Current tools:
${renderTools(input.tools)}

Current conversation:
${renderConversation(input.messages)}
${input.promptSet === 'v1' ? '' : `\nCurrent user persona: ${input.persona ?? '(not recorded; infer it from the conversation)'}\n`}
Rewrite it following the instructions. Return the complete tool set and the complete new conversation${input.promptSet === 'v1' ? '' : ', and the user persona as it is after your rewrite'}.`;
  return [
    { role: 'system', content: input.promptSet === 'v1' ? `${SYSTEM}\n\n${V1_TARGET}` : `${systemV2(input.parallelCalls ?? 'forbid', input.now)}\n\n${refineTarget(input.messages, input.tools.length)}` },
    { role: 'user', content: user },
  ];
}

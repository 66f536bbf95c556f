/**
 * Stage 3 prompt: one whole multi-turn trajectory in a single teacher call (GEM §A.3).
 *
 * Departures from the paper, on purpose:
 * - The answer is JSON in a simple turn schema, not tagged text: ids and links are assigned in
 *   code (see stages/conversation.ts), so the model cannot break them.
 * - The model declares which interaction patterns it used; stats and the judge can check them.
 * - The system prompt must restate rules from the given list only, so R4 (rule faithfulness)
 *   can be judged against the source text.
 */
import { z } from 'zod';
import type { Message, Tool, Workflow } from '../records.js';
import { TurnSchema } from './conversation.js';
import { parallelCallsRule, renderTools, type ParallelCalls } from './shared.js';
import { dedupeRules } from './rules.js';
import { promptVersion, type PromptSet } from './versions.js';
import { timeRules } from './now.js';

/** Version of this prompt in the default prompt set (versions.ts). */
export const GENERATE_PROMPT_VERSION = promptVersion('generate');
export const GENERATE_SCHEMA_NAME = 'trajectory';

export const INTERACTION_PATTERNS = [
  'rule_vs_need_conflict',
  'error_recovery',
  'clarification',
  'multi_hop_reasoning',
  'rule_awareness',
] as const;

export const GeneratedTrajectorySchema = z
  .object({
    user_persona: z.string().describe('who the user is and what they want, kept consistent across turns'),
    system_prompt: z.string().describe('the assistant system prompt: role, and every domain rule the assistant must follow'),
    patterns: z.array(z.enum(INTERACTION_PATTERNS)).describe('interaction patterns this conversation exercises'),
    turns: z.array(TurnSchema),
  })
  .strict();
export type GeneratedTrajectory = z.infer<typeof GeneratedTrajectorySchema>;

/** Turn-order and behaviour rules shared by generation and refinement. */
export const CONVERSATION_RULES = `Conversation rules (they are checked by a program; a violation discards the whole conversation):
- Order: the first turn is the user's. After a user turn or tool results comes an assistant turn. An assistant turn with tool_calls is followed by exactly one tool turn per call, in the same order, and nothing else in between. An assistant turn without tool_calls is followed by a user turn, or ends the conversation. A tool turn is never followed directly by a user turn. The last turn is an assistant turn with text and no tool_calls.
- Tool calls use only tools from the list, with their exact names. Arguments are a JSON object in a string, with every required parameter, correct types, only listed parameters, and enum values as listed.
- Every argument value must come from somewhere visible: the user said it, the system prompt states it, or an earlier tool result returned it. Never invent an id, a date, an amount or an email: ask the user instead.
- Every call itself is well-formed: it matches the tool's schema exactly. Failures come from the state of the environment or its rules — not found, not eligible, wrong status, limit reached, not permitted — and get an error result such as {"error": "Reservation ABC123 cannot be cancelled: the flight has already departed"}, with no hint about how to fix it. Never stage an error with a malformed call.
- Tool results (tool turns) are the environment's answers: complete, realistic JSON with stable ids, statuses, timestamps and the fields a real backend returns; the same entity keeps the same values across turns.
- An assistant turn with tool_calls may carry one short sentence of plan in content ("Let me check the order status first."), or "". Tool turns and user turns have tool_calls [].`;

const PROVENANCE_V1 = `- Every argument value must come from somewhere visible: the user said it, the system prompt states it, or an earlier tool result returned it. Never invent an id, a date, an amount or an email: ask the user instead.`;
/**
 * v2: plain derivations and documented defaults are legitimate (the validator's provenance
 * check and the judge's R1 credit them), so the teacher need not avoid them or pad the user's
 * words with the converted value.
 */
const PROVENANCE_V2 = `- Every argument value must come from somewhere visible: the user said it, the system prompt states it, an earlier tool result returned it, or it follows plainly from those — a unit conversion ("the last 12 hours" sent as window_minutes 720, "15%" as 0.15), a date worked out from the current date ("next Friday"), a total of listed prices. When the assistant derives a value, its calling turn says so in a few words ("12 hours is 720 minutes"). An optional parameter may be left out or set to the default its description documents. Never invent an id, a date, an amount or an email: ask the user instead. An id comes only from the user, the system prompt or a tool result, never from the assistant's own words.`;

/** The conversation rules of a prompt set (v2: derivations and defaults allowed in arguments). */
export function conversationRules(set: PromptSet | undefined): string {
  return set === 'v1' ? CONVERSATION_RULES : CONVERSATION_RULES.replace(PROVENANCE_V1, PROVENANCE_V2);
}

/**
 * v2 length target, scaled to the work: each step is a call and its result, the required
 * patterns and clarifications add turns, and tool turns count. A 12-step workflow honestly
 * takes 50-odd turns; a 3-step one about 20.
 */
export function lengthTarget(steps: number, toolCount: number): string {
  const low = Math.max(16, 3 * steps + 10);
  const high = low + Math.max(14, 2 * steps);
  const calls = Math.max(4, steps);
  const distinct = Math.min(Math.max(3, Math.ceil(steps / 2)), toolCount);
  return `Length: about ${low} to ${high} turns in all (user, assistant and tool turns all count), at least ${calls} tool calls over at least ${distinct} different tool${distinct === 1 ? '' : 's'}, only from the list. The workflow sets the length: do not pad it with unrelated requests.`;
}

/** The system prompt, with targets that the given environment can meet. */
function systemPrompt(toolCount: number, hasRules: boolean, length?: string, parallel?: ParallelCalls, now?: string): string {
  const distinct = Math.min(3, toolCount);
  const patterns = hasRules ? INTERACTION_PATTERNS : INTERACTION_PATTERNS.filter((p) => p !== 'rule_vs_need_conflict');
  const ruleBreak = hasRules
    ? 'and at least once ask for something the rules forbid without saying so'
    : 'and at least once ask for something the tools cannot do (the assistant must say so)';
  return `You write realistic training conversations between a user, an AI assistant and the tools of an environment. The assistant is the agent being trained: its behaviour must be exemplary, the user's need not be.

System prompt you write for the assistant: state its role and, as a clear list, every domain rule given to you (preconditions, limits, conditional permissions, confirmation duties). Use only the given rules and facts from the text; do not add limits or numbers of your own.

The user: a consistent persona with a believable situation. Users speak naturally, are sometimes vague or incomplete (the assistant must ask), sometimes give several constraints at once, ${ruleBreak}. Include at least one very complex request that needs several tools in sequence. Use several user turns, not one.

The assistant: plans before acting; checks preconditions (identity, ownership, status) with read tools before writing; follows every rule and explains a refusal by the rule; never fabricates ids or values (asks instead); before any irreversible change (cancel, delete, pay, submit) it summarises the action and waits for the user's explicit yes; states clearly what it cannot do; recovers from tool errors sensibly (re-checks, asks, or explains) rather than retrying blindly.

Use at least three different interaction patterns among: ${patterns.map((p) => PATTERN_HELP[p]).join('; ')}. Use each at most twice, and list the ones you used.

Write in English. ${length ?? `Length: about 20 to 40 turns, at least 4 tool calls over at least ${distinct} different tool${distinct === 1 ? '' : 's'}, only from the list.`}
${now === undefined ? '' : `\n${timeRules(now)}\n`}
${parallel === undefined ? CONVERSATION_RULES : `${conversationRules('v2')}\n${parallelCallsRule(parallel)}`}`;
}

const PATTERN_HELP: Record<(typeof INTERACTION_PATTERNS)[number], string> = {
  rule_vs_need_conflict: 'rule_vs_need_conflict (the user wants what a rule forbids)',
  error_recovery: 'error_recovery (a tool call fails because of the environment and the assistant recovers)',
  clarification: 'clarification (missing or ambiguous information must be asked for)',
  multi_hop_reasoning: 'multi_hop_reasoning (an answer needs several tool results combined)',
  rule_awareness: 'rule_awareness (the assistant applies a rule the user did not mention)',
};

export interface GeneratePromptInput {
  sourceText: string;
  domain: string;
  rules: string[];
  workflow: Workflow;
  tools: Tool[];
  /** v2: rules once, length scaled to the workflow; v1: as gemtraj 0.2. @default 'v2' */
  promptSet?: PromptSet | undefined;
  /** v2: the parallel-call rule. @default 'forbid' */
  parallelCalls?: ParallelCalls | undefined;
  /** v2: the conversation's current date and time (`2025-03-14T10:37`, see now.ts); none: no time rules. */
  now?: string | undefined;
}

export function buildGenerateMessages(input: GeneratePromptInput): Message[] {
  const wf = input.workflow;
  const steps = wf.steps
    .map((s, i) => `${i}. ${s.action} [tool: ${s.tool}]${s.depends_on.length > 0 ? ` (after ${s.depends_on.join(', ')})` : ''}${s.condition ? ` (if: ${s.condition})` : ''}`)
    .join('\n');
  const v1 = input.promptSet === 'v1';
  const rules = v1 ? [...input.rules, ...wf.rules] : dedupeRules([...input.rules, ...wf.rules]);
  const user = `Domain: ${input.domain}

Workflow "${wf.name}": ${wf.description}
User intents: ${wf.intents.join('; ') || '(derive from the workflow)'}
Steps:
${steps}
Execution graph: ${wf.execution_graph}

Domain rules (from the text):
${rules.length > 0 ? rules.map((r) => `- ${r}`).join('\n') : '- (none stated; use only what the text implies)'}

Tools (JSON Schema parameters):
${renderTools(input.tools)}

Source text the environment is based on:
<<<TEXT
${input.sourceText}
TEXT>>>

Write one complete conversation that exercises this workflow.`;
  return [
    {
      role: 'system',
      content: v1
        ? systemPrompt(input.tools.length, rules.length > 0)
        : systemPrompt(input.tools.length, rules.length > 0, lengthTarget(wf.steps.length, input.tools.length), input.parallelCalls ?? 'forbid', input.now),
    },
    { role: 'user', content: user },
  ];
}

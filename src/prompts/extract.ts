/**
 * Stage 2 prompt: workflow and tool extraction (GEM §A.2, restated and tightened).
 *
 * What we ask beyond the paper: rules as a separate list (they feed the system prompt of the
 * trajectory), an explicit `depends_on` per step instead of a free-text execution graph (the
 * graph is derived in code), read/write labels so that paired tools are visible, and typed
 * parameter lists instead of JSON Schema so that strict structured output can express them.
 */
import { z } from 'zod';
import type { Message } from '../records.js';
import { TOOL_SPEC_GUIDE, TOOL_SPEC_GUIDE_V2 } from './shared.js';
import { ToolSpecSchema, ToolSpecV2Schema, type AnyToolSpec } from './tool-spec.js';
import { DOMAINS, PLATFORMS, TASK_CATEGORIES } from '../taxonomy.js';
import { promptVersion, type PromptSet } from './versions.js';

/** Version of this prompt in the default prompt set (versions.ts). */
export const EXTRACT_PROMPT_VERSION = promptVersion('extract');
export const EXTRACT_SCHEMA_NAME = 'workflow_extraction';

export const ExtractedStepSchema = z
  .object({
    action: z.string().describe('what this step does, in one sentence'),
    tool: z.string().describe('name of the tool this step calls; must be defined in tools'),
    depends_on: z.array(z.number().int().min(0).max(100)).describe('0-based indexes of earlier steps that must finish first'),
    condition: z.string().nullable().describe('when the step applies or branches; null if always'),
  })
  .strict();

export const ExtractedWorkflowSchema = z
  .object({
    name: z.string().describe('snake_case name of the workflow'),
    description: z.string(),
    intents: z.array(z.string()).describe('what a user who needs this workflow would ask for'),
    steps: z.array(ExtractedStepSchema),
    rules: z.array(z.string()).describe('dependencies, conditions, uniqueness or limits that govern this workflow'),
  })
  .strict();

export const ExtractionAnswerSchema = z
  .object({
    procedural: z.boolean().describe('false when the text holds no multi-step operation a system could carry out'),
    domain: z.enum(DOMAINS),
    platform: z.enum(PLATFORMS),
    task_category: z.enum(TASK_CATEGORIES),
    rules: z.array(z.string()).describe('every rule, policy, limit or precondition the text states, one per item'),
    tools: z.array(ToolSpecSchema),
    workflows: z.array(ExtractedWorkflowSchema),
  })
  .strict();
/** v2 answer: tools whose object parameters declare their fields (tool-spec.ts). */
export const ExtractionAnswerV2Schema = z
  .object({
    ...ExtractionAnswerSchema.shape,
    tools: z.array(ToolSpecV2Schema),
  })
  .strict();
/** An extraction answer of either prompt set. */
export type ExtractionAnswer = Omit<z.infer<typeof ExtractionAnswerSchema>, 'tools'> & { tools: AnyToolSpec[] };

/** The answer schema of extraction in a prompt set. */
export function extractAnswerSchema(set: PromptSet | undefined): z.ZodType<ExtractionAnswer> {
  return set === 'v1' ? ExtractionAnswerSchema : ExtractionAnswerV2Schema;
}

function system(guide: string, steps: string): string {
  return `You turn procedural text into an agent environment: the workflows the text describes and the tools (functions) an assistant would need to carry them out for a user.

Work in this order:
1. Find every workflow: a goal a user could ask for that takes several steps with some system (an app, website, computer, service desk, machine). Ignore steps done purely by hand with no system involved, unless a machine or device carries them out.
${steps}
3. Collect the rules the text states or clearly implies: preconditions (identity verified first), dependencies (X before Y), uniqueness and limits (one active request per account, at most 3 changes, only the account holder may ...), conditional permissions (members of type X cannot do Y), deadlines and amounts. Quote numbers and limits exactly as the text gives them. Do not invent rules the text does not support.
4. Design the tools.

${guide}

Workflows must only use tools you define, by their exact names. Aim for 3 to 10 tools and workflows of 3 or more steps; prefer one rich workflow over many trivial ones. When the text holds no multi-step operation with a system (an essay, a story, news, a definition), answer with procedural=false and empty lists.

Classify the text: domain (topic of the text), platform (where the operations happen: operator = a human agent or service desk, computer, phone, machine = a physical device or robot, other), task_category (kind of tool work).`;
}

const STEPS_V1 = `2. For each workflow, list its steps in order. Each step is one tool call. Record which earlier steps it depends on (you must look up an order before you can cancel it) and the condition under which it applies ("only if the order is still pending").`;
/** v2: a step that needs an id comes after the step that returns it (checked: extraction warns). */
const STEPS_V2 = `${STEPS_V1} Order the steps so that every id or value a step needs is available when it runs: the user gives it, or an earlier step returns it (search for the order before cancelling it by its order_id), never a later step.`;

const SYSTEM = system(TOOL_SPEC_GUIDE, STEPS_V1);
const SYSTEM_V2 = system(TOOL_SPEC_GUIDE_V2, STEPS_V2);

export interface ExtractPromptInput {
  text: string;
  /** Nearest heading above the segment, when known: helps name the domain. */
  heading?: string | undefined;
  /** Summary from the relevance judge, when it ran. */
  summary?: string | undefined;
  maxWorkflows: number;
  /** v2: nested parameters and step order asked for; v1: as gemtraj 0.2. @default 'v2' */
  promptSet?: PromptSet | undefined;
}

export function buildExtractMessages(input: ExtractPromptInput): Message[] {
  const context = [
    input.heading !== undefined ? `Section heading: ${input.heading}` : undefined,
    input.summary !== undefined ? `A reader summarised the task as: ${input.summary}` : undefined,
  ].filter((s): s is string => s !== undefined);
  const user = `${context.length > 0 ? `${context.join('\n')}\n\n` : ''}Extract at most ${input.maxWorkflows} workflow(s) and the tools they need from the text between the markers.

<<<TEXT
${input.text}
TEXT>>>`;
  return [
    { role: 'system', content: input.promptSet === 'v1' ? SYSTEM : SYSTEM_V2 },
    { role: 'user', content: user },
  ];
}

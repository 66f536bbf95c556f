/**
 * Stage 1 prompt: relevance judge (GEM §A.1, restated in our words and made sharper).
 *
 * The paper's question is whether a passage contains multi-step operations carried out with an
 * app, a website, a computer or a machine. We keep that question and add what a judge needs to
 * be consistent: what counts (procedures, troubleshooting flows, agent policies that prescribe
 * ordered actions with conditions) and what does not (narrative, news, opinion, definitions,
 * lists of attributes, purely manual crafts with no device), plus a reason written before the
 * verdict so the verdict follows from it. All fields are always present so the schema works
 * in strict `json_schema` mode.
 */
import { z } from 'zod';
import type { Message } from '../records.js';
import { DOMAINS, PLATFORMS, TASK_CATEGORIES } from '../taxonomy.js';
import { promptVersion } from './versions.js';

/** Version of this prompt in the default prompt set (versions.ts). */
export const FILTER_PROMPT_VERSION = promptVersion('filter');
export const FILTER_SCHEMA_NAME = 'relevance_judgement';

/** Longest passage sent to the judge, in characters; longer text is cut (head kept). */
export const FILTER_MAX_INPUT_CHARS = 12_000;

export const FilterAnswerSchema = z
  .object({
    reason: z
      .string()
      .describe('one or two sentences: which operations the text describes (or why there are none), and with what system'),
    keep: z
      .boolean()
      .describe('true only if the text describes a multi-step operation carried out with an app, website, computer, phone or machine'),
    confidence: z.number().describe('how sure you are of keep, from 0.0 (a guess) to 1.0 (certain)'),
    summary: z
      .string()
      .describe('one sentence naming the task a user would want done, e.g. "Reset a forgotten online banking password"; empty string when keep is false'),
    platform: z.enum(PLATFORMS).describe('where the operations happen; "other" when keep is false and nothing fits'),
    domain: z.enum(DOMAINS).describe('subject area of the text'),
    task_category: z.enum(TASK_CATEGORIES).describe('kind of tool-use task the operations belong to; the closest fit'),
  })
  .strict();
export type FilterAnswer = z.infer<typeof FilterAnswerSchema>;

const SYSTEM = `You screen passages of web text for a dataset of tool-using AI agents. An agent can only learn from a passage that shows how to get something done by operating a system step by step. Your job is to decide whether a passage does.

Keep the passage (keep=true) when it describes, or clearly prescribes, an operation of two or more steps performed with an app, a website, an online service, a computer program or command line, a phone, or a machine or device (a robot, an elevator, a vending machine, a car's controls, a smart-home device). Typical cases:
- how-to instructions and tutorials ("open Settings, tap Wi-Fi, then choose your network");
- troubleshooting flows with checks and branches ("if the light is red, restart the router; otherwise ...");
- policies or playbooks that tell an operator or support agent which actions to take, in which order and under which conditions (verify the customer's identity, look up the order, then issue the refund only if ...);
- installation, configuration, deployment and account procedures, including command sequences.

Drop the passage (keep=false) when:
- it tells a story, reports news or events, gives a speech, an opinion or an argument;
- it defines or explains concepts, compares options, or lists attributes or features, without saying what to do step by step;
- the steps need no app, computer, phone or machine at all (a recipe by hand, a workout, a craft);
- it has a single action rather than a sequence, or only mentions that a procedure exists.
Judge the passage as it is: do not imagine steps it does not contain. A passage can be short and still qualify; a passage in any language qualifies on the same terms.

Labels, always filled in:
- summary: one sentence naming the task a user would want done; an empty string when keep is false.
- platform: "operator" (a human agent or staff member operates a system on someone's behalf, e.g. a support desk), "computer" (desktop software, web, command line), "phone" (mobile apps or phone settings), "machine" (robots, vehicles, appliances, elevators and other devices), or "other".
- domain: the subject area, from the allowed list.
- task_category: the closest kind of tool-use task, from the allowed list.
- confidence: 0.0 to 1.0, how sure you are of keep.
Write reason first, then decide keep so that it follows from the reason.`;

/** Messages for one judgement. */
export function buildFilterMessages(text: string): Message[] {
  const passage = text.length > FILTER_MAX_INPUT_CHARS ? `${text.slice(0, FILTER_MAX_INPUT_CHARS)}\n[...cut]` : text;
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Does this passage describe a multi-step operation with an app, website, computer, phone or machine? Answer in JSON.\n\n<passage>\n${passage}\n</passage>`,
    },
  ];
}

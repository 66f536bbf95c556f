import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Message, Tool, Workflow } from '../src/records.js';
import { isStrictCompatible, toJsonSchema } from '../src/llm/structured.js';
import {
  buildExtractMessages,
  EXTRACT_PROMPT_VERSION,
  EXTRACT_SCHEMA_NAME,
  ExtractionAnswerSchema,
} from '../src/prompts/extract.js';
import {
  buildGenerateMessages,
  CONVERSATION_RULES,
  conversationRules,
  GENERATE_PROMPT_VERSION,
  GENERATE_SCHEMA_NAME,
  GeneratedTrajectorySchema,
  INTERACTION_PATTERNS,
} from '../src/prompts/generate.js';
import { buildRefineMessages, REFINE_PATTERNS, REFINE_PROMPT_VERSION, REFINE_SCHEMA_NAME, RefinedTrajectorySchema } from '../src/prompts/refine.js';
import { renderConversation, renderTools, TOOL_SPEC_GUIDE } from '../src/prompts/shared.js';
import { DOMAINS, PLATFORMS, TASK_CATEGORIES } from '../src/taxonomy.js';

const SOURCE = `To cancel a reservation, open My Trips and sign in with your member number.
Select the booking, check its status, and press Cancel. Basic economy fares cannot be cancelled
after 24 hours. A refund goes to the original payment method within 7 days.`;

const TOOLS: Tool[] = [
  {
    type: 'function',
    function: {
      name: 'get_reservation_details',
      description: 'Reservation by id.',
      parameters: { type: 'object', properties: { reservation_id: { type: 'string', description: 'six characters' } }, required: ['reservation_id'], additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'cancel_reservation',
      description: 'Cancels a reservation.',
      parameters: { type: 'object', properties: { reservation_id: { type: 'string' } }, required: ['reservation_id'], additionalProperties: false },
    },
  },
  { type: 'function', function: { name: 'list_all_airports' } },
];

const WORKFLOW: Workflow = {
  name: 'cancel_reservation',
  description: 'Cancel a booked trip and get a refund.',
  intents: ['cancel my trip', 'get my money back'],
  steps: [
    { action: 'Sign the member in', tool: 'get_user_details', depends_on: [] },
    { action: 'Look up the booking', tool: 'get_reservation_details', depends_on: [0] },
    { action: 'Cancel it', tool: 'cancel_reservation', depends_on: [0, 1], condition: 'only within 24 hours for basic economy' },
  ],
  execution_graph: '(get_user_details)->(get_reservation_details)->(cancel_reservation)',
  rules: ['Refunds go to the original payment method.'],
};

const CONVERSATION: Message[] = [
  { role: 'system', content: 'You are the Acme Air agent.' },
  { role: 'user', content: 'Cancel ABC123 please.' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_reservation_details', arguments: '{"reservation_id":"ABC123"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', name: 'get_reservation_details', content: '{"status":"confirmed"}' },
  { role: 'assistant', content: 'It is confirmed. Cancel it?' },
];

function content(messages: Message[], role: 'system' | 'user'): string {
  const m = messages.find((x) => x.role === role);
  if (m === undefined || typeof m.content !== 'string') throw new Error(`no ${role} message`);
  return m.content;
}

/** The text between the <<<TEXT and TEXT>>> markers, or undefined. */
function between(text: string): string | undefined {
  const m = /<<<TEXT\n([\s\S]*?)\nTEXT>>>/.exec(text);
  return m?.[1];
}

/** Every object node of a JSON Schema, with its path. */
function objectNodes(node: unknown, path = '$'): Array<[string, Record<string, unknown>]> {
  if (node === null || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n, i) => objectNodes(n, `${path}[${i}]`));
  const rec = node as Record<string, unknown>;
  const here: Array<[string, Record<string, unknown>]> = rec.type === 'object' || 'properties' in rec ? [[path, rec]] : [];
  return [...here, ...Object.entries(rec).flatMap(([k, v]) => objectNodes(v, `${path}.${k}`))];
}

// ---------------------------------------------------------------------------------------------
describe('prompt versions', () => {
  it('every stage has a version constant and a schema name', () => {
    expect(EXTRACT_PROMPT_VERSION).toMatch(/^extract-v\d+$/);
    expect(GENERATE_PROMPT_VERSION).toMatch(/^generate-v\d+$/);
    expect(REFINE_PROMPT_VERSION).toMatch(/^refine-v\d+$/);
    for (const name of [EXTRACT_SCHEMA_NAME, GENERATE_SCHEMA_NAME, REFINE_SCHEMA_NAME]) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(new Set([EXTRACT_SCHEMA_NAME, GENERATE_SCHEMA_NAME, REFINE_SCHEMA_NAME]).size).toBe(3);
  });
});

// ---------------------------------------------------------------------------------------------
describe('answer schemas are strict-compatible', () => {
  const cases = [
    ['ExtractionAnswerSchema', ExtractionAnswerSchema, ['procedural', 'domain', 'platform', 'task_category', 'rules', 'tools', 'workflows']],
    ['GeneratedTrajectorySchema', GeneratedTrajectorySchema, ['user_persona', 'system_prompt', 'patterns', 'turns']],
    ['RefinedTrajectorySchema', RefinedTrajectorySchema, ['tools', 'system_prompt', 'patterns', 'pitfalls', 'turns']],
  ] as const;

  it.each(cases)('%s: every object closes additionalProperties and requires all its properties', (_name, schema, top) => {
    const json = z.toJSONSchema(schema) as Record<string, unknown>;
    expect(json.type).toBe('object');
    expect(Object.keys(json.properties as object)).toEqual([...top]);
    expect(json.required).toEqual([...top]);
    const objects = objectNodes(json);
    expect(objects.length).toBeGreaterThan(1);
    for (const [path, node] of objects) {
      expect(node.additionalProperties, path).toBe(false);
      expect([...((node.required as string[]) ?? [])].sort(), path).toEqual(Object.keys((node.properties as object) ?? {}).sort());
    }
    expect(isStrictCompatible(json)).toBe(true);
    const sent = toJsonSchema(schema);
    expect(sent.strict).toBe(true);
    expect(sent.schema).not.toHaveProperty('$schema');
  });

  it('isStrictCompatible really catches an open object (sanity check of the checker)', () => {
    const open = z.object({ a: z.string(), b: z.string().optional() });
    expect(isStrictCompatible(z.toJSONSchema(open))).toBe(false);
    expect(isStrictCompatible(z.toJSONSchema(z.object({ a: z.string() }).strict()))).toBe(true);
  });

  it('the extraction schema lists the taxonomies and typed tool parameters', () => {
    const json = z.toJSONSchema(ExtractionAnswerSchema) as unknown as {
      properties: Record<string, { enum?: string[]; items?: { properties: Record<string, { items?: { properties: Record<string, { enum?: string[] }> } }> } }>;
    };
    expect(json.properties.domain?.enum).toEqual([...DOMAINS]);
    expect(json.properties.platform?.enum).toEqual([...PLATFORMS]);
    expect(json.properties.task_category?.enum).toEqual([...TASK_CATEGORIES]);
    const paramProps = json.properties.tools?.items?.properties.parameters?.items?.properties;
    expect(Object.keys(paramProps ?? {})).toEqual(['name', 'type', 'description', 'required', 'enum', 'format']);
    expect(paramProps?.type?.enum).toContain('object_array');
    const stepProps = (json.properties.workflows?.items?.properties.steps?.items?.properties ?? {}) as Record<string, unknown>;
    expect(Object.keys(stepProps)).toEqual(['action', 'tool', 'depends_on', 'condition']);
  });

  it('pattern enums: generation has the five paper patterns, refinement adds three', () => {
    expect([...INTERACTION_PATTERNS]).toEqual(['rule_vs_need_conflict', 'error_recovery', 'clarification', 'multi_hop_reasoning', 'rule_awareness']);
    expect([...REFINE_PATTERNS]).toEqual([...INTERACTION_PATTERNS, 'long_context', 'identify_limitation', 'guide_physical_operation']);
    const gen = z.toJSONSchema(GeneratedTrajectorySchema) as unknown as { properties: { patterns: { items: { enum: string[] } } } };
    expect(gen.properties.patterns.items.enum).toEqual([...INTERACTION_PATTERNS]);
    const ref = z.toJSONSchema(RefinedTrajectorySchema) as unknown as { properties: { patterns: { items: { enum: string[] } } } };
    expect(ref.properties.patterns.items.enum).toEqual([...REFINE_PATTERNS]);
  });

  it('parses a well-formed answer of each schema and refuses extra keys', () => {
    const turns = [
      { role: 'user', content: 'hi', tool_calls: [] },
      { role: 'assistant', content: '', tool_calls: [{ name: 'f', arguments: '{}' }] },
      { role: 'tool', content: '{}', tool_calls: [] },
      { role: 'assistant', content: 'done', tool_calls: [] },
    ];
    const gen = { user_persona: 'p', system_prompt: 's', patterns: ['clarification'], turns };
    expect(GeneratedTrajectorySchema.safeParse(gen).success).toBe(true);
    expect(GeneratedTrajectorySchema.safeParse({ ...gen, patterns: ['long_context'] }).success).toBe(false);
    expect(GeneratedTrajectorySchema.safeParse({ ...gen, tools: [] }).success).toBe(false);
    const ref = { tools: [], system_prompt: 's', patterns: ['long_context'], pitfalls: ['x'], turns };
    expect(RefinedTrajectorySchema.safeParse(ref).success).toBe(true);
    expect(RefinedTrajectorySchema.safeParse({ ...ref, user_persona: 'p' }).success).toBe(false);
    const ext = { procedural: false, domain: 'news', platform: 'other', task_category: 'search', rules: [], tools: [], workflows: [] };
    expect(ExtractionAnswerSchema.safeParse(ext).success).toBe(true);
    expect(ExtractionAnswerSchema.safeParse({ ...ext, domain: 'cooking' }).success).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
describe('extract prompt', () => {
  const msgs = buildExtractMessages({ text: SOURCE, heading: 'Managing trips', summary: 'Cancel a flight booking online', maxWorkflows: 2 });
  const system = content(msgs, 'system');
  const user = content(msgs, 'user');

  it('is a system and a user message', () => {
    expect(msgs.map((m) => m.role)).toEqual(['system', 'user']);
  });


  it('puts the source text, verbatim, between the markers', () => {
    expect(between(user)).toBe(SOURCE);
    expect(user.indexOf('<<<TEXT')).toBeGreaterThan(user.indexOf('Extract at most'));
    expect(user.trimEnd().endsWith('TEXT>>>')).toBe(true);
  });

  it('states the workflow limit, the heading and the summary when given', () => {
    expect(user).toContain('Extract at most 2 workflow(s)');
    expect(user).toContain('Section heading: Managing trips');
    expect(user).toContain('A reader summarised the task as: Cancel a flight booking online');
  });

  it('leaves out heading and summary when absent', () => {
    const plain = content(buildExtractMessages({ text: 'x', maxWorkflows: 3 }), 'user');
    expect(plain).not.toContain('Section heading');
    expect(plain).not.toContain('summarised');
    expect(plain.startsWith('Extract at most 3 workflow(s)')).toBe(true);
  });

  it('keeps a text that itself contains markers and braces intact', () => {
    const tricky = 'Type {"a": 1} into the box.\nThen press ${ENTER}.';
    expect(between(content(buildExtractMessages({ text: tricky, maxWorkflows: 1 }), 'user'))).toBe(tricky);
  });

  it('asks for workflows, dependencies, conditions, rules and tools by the tool-design rules', () => {
    expect(system).toContain(TOOL_SPEC_GUIDE);
    expect(system).toMatch(/depends on/i);
    expect(system).toMatch(/condition/i);
    expect(system).toMatch(/uniqueness and limits/i);
    expect(system).toMatch(/Do not invent rules/);
    expect(system).toMatch(/exact names/);
    expect(system).toContain('procedural=false');
    expect(system).toMatch(/domain/);
    expect(system).toMatch(/platform \(.*operator.*computer.*phone.*machine.*other/s);
  });

  it('the tool-design guide carries the paper rules', () => {
    expect(TOOL_SPEC_GUIDE).toMatch(/One coherent capability per tool/);
    expect(TOOL_SPEC_GUIDE).toMatch(/snake_case/);
    expect(TOOL_SPEC_GUIDE).toMatch(/Pair reads with writes/);
    expect(TOOL_SPEC_GUIDE).toMatch(/required mirrors real logic/);
    expect(TOOL_SPEC_GUIDE).toMatch(/enum/);
    expect(TOOL_SPEC_GUIDE).toMatch(/date \/ date-time \/ email \/ uri/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('generate prompt', () => {
  const msgs = buildGenerateMessages({
    sourceText: SOURCE,
    domain: 'travel_and_transportation',
    rules: ['Basic economy fares cannot be cancelled after 24 hours.', 'Sign in with the member number first.'],
    workflow: WORKFLOW,
    tools: TOOLS,
  });
  const system = content(msgs, 'system');
  const user = content(msgs, 'user');

  it('is a system and a user message', () => {
    expect(msgs.map((m) => m.role)).toEqual(['system', 'user']);
  });

  it('sets targets the environment can meet', () => {
    expect(system).toMatch(/at least 3 different tools/);
    expect(system).toMatch(/rule_vs_need_conflict/);
    const small = content(
      buildGenerateMessages({ sourceText: 'x', domain: 'd', rules: [], workflow: { ...WORKFLOW, rules: [] }, tools: TOOLS.slice(0, 2) }),
      'system',
    );
    expect(small).toMatch(/at least 2 different tools/);
    // No rules in the text: no rule to break, so no rule-conflict pattern is asked for.
    expect(small).not.toMatch(/rule_vs_need_conflict/);
    expect(small).toMatch(/something the tools cannot do/);
  });

  it('carries the source text between markers', () => {
    expect(between(user)).toBe(SOURCE);
  });

  it('lists the domain and every rule: the text rules, then the workflow rules', () => {
    expect(user).toContain('Domain: travel_and_transportation');
    const rules = [
      '- Basic economy fares cannot be cancelled after 24 hours.',
      '- Sign in with the member number first.',
      '- Refunds go to the original payment method.',
    ];
    const positions = rules.map((r) => user.indexOf(r));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('says when no rule was stated', () => {
    const none = content(buildGenerateMessages({ sourceText: 'x', domain: 'd', rules: [], workflow: { ...WORKFLOW, rules: [] }, tools: [] }), 'user');
    expect(none).toContain('- (none stated; use only what the text implies)');
  });

  it('lists the workflow: name, description, intents, numbered steps with tools, dependencies and conditions, graph', () => {
    expect(user).toContain('Workflow "cancel_reservation": Cancel a booked trip and get a refund.');
    expect(user).toContain('User intents: cancel my trip; get my money back');
    expect(user).toContain('0. Sign the member in [tool: get_user_details]\n');
    expect(user).toContain('1. Look up the booking [tool: get_reservation_details] (after 0)');
    expect(user).toContain('2. Cancel it [tool: cancel_reservation] (after 0, 1) (if: only within 24 hours for basic economy)');
    expect(user).toContain('Execution graph: (get_user_details)->(get_reservation_details)->(cancel_reservation)');
  });

  it('without intents asks the model to derive them', () => {
    const u = content(buildGenerateMessages({ sourceText: 'x', domain: 'd', rules: [], workflow: { ...WORKFLOW, intents: [] }, tools: [] }), 'user');
    expect(u).toContain('User intents: (derive from the workflow)');
  });

  it('renders every tool with its schema', () => {
    const rendered = renderTools(TOOLS);
    expect(user).toContain(rendered);
    const lines = rendered.split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { name: 'get_reservation_details', description: 'Reservation by id.', parameters: TOOLS[0]!.function.parameters },
      { name: 'cancel_reservation', description: 'Cancels a reservation.', parameters: TOOLS[1]!.function.parameters },
      { name: 'list_all_airports', description: '', parameters: {} },
    ]);
  });

  it('the system prompt states the assistant behaviour the paper asks for', () => {
    expect(system).toMatch(/never fabricates ids or values \(asks instead\)/);
    expect(system).toMatch(/irreversible change[\s\S]*explicit yes/);
    expect(system).toMatch(/checks preconditions/);
    expect(system).toMatch(/states clearly what it cannot do/);
    expect(system).toMatch(/every domain rule/);
    expect(system).toMatch(/do not add limits or numbers of your own/);
    expect(system).toMatch(/English/);
    for (const pattern of INTERACTION_PATTERNS) expect(system).toContain(pattern);
    expect(system).toMatch(/at least three different interaction patterns/);
    expect(system).toMatch(/each at most twice/i);
    expect(system).toContain(conversationRules('v2')); // v2 (default): derivations and defaults allowed in arguments (issue 12, B8);
  });

  it('the conversation rules fix the turn order, call/result pairing, grounding and error results', () => {
    expect(CONVERSATION_RULES).toMatch(/first turn is the user's/);
    expect(CONVERSATION_RULES).toMatch(/followed by exactly one tool turn per call, in the same order/);
    expect(CONVERSATION_RULES).toMatch(/A tool turn is never followed directly by a user turn/);
    expect(CONVERSATION_RULES).toMatch(/An assistant turn without tool_calls is followed by a user turn/);
    expect(CONVERSATION_RULES).toMatch(/last turn is an assistant turn/);
    expect(CONVERSATION_RULES).toMatch(/Never invent an id, a date, an amount or an email: ask the user instead/);
    expect(CONVERSATION_RULES).toMatch(/error result[\s\S]*with no hint about how to fix it/);
    expect(CONVERSATION_RULES).toMatch(/Never stage an error with a malformed call/);
    expect(CONVERSATION_RULES).toMatch(/matches the tool's schema exactly/);
    expect(CONVERSATION_RULES).toMatch(/exact names/);
    expect(CONVERSATION_RULES).toMatch(/one short sentence of plan in content .*, or ""/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('refine prompt', () => {
  const msgs = buildRefineMessages({ sourceText: SOURCE, tools: TOOLS, messages: CONVERSATION });
  const system = content(msgs, 'system');
  const user = content(msgs, 'user');

  it('is a system and a user message with the text, the tools and the conversation', () => {
    expect(msgs.map((m) => m.role)).toEqual(['system', 'user']);
    expect(between(user)).toBe(SOURCE);
    expect(user).toContain(`Current tools:\n${renderTools(TOOLS)}`);
    expect(user).toContain(`Current conversation:\n${renderConversation(CONVERSATION)}`);
    expect(user).toMatch(/Return the complete tool set and the complete new conversation/);
  });

  it('asks for the paper refinements', () => {
    expect(system).toContain(TOOL_SPEC_GUIDE);
    expect(system).toContain(conversationRules('v2')); // v2 (default): derivations and defaults allowed in arguments (issue 12, B8);
    expect(system).toMatch(/Return the complete tool set/);
    expect(system).toMatch(/data schema/);
    expect(system).toMatch(/faithful to the source text/);
    expect(system).toMatch(/persistent profile/);
    expect(system).toMatch(/several explicit and implicit constraints/);
    expect(system).toMatch(/Long context/);
    expect(system).toMatch(/Pitfalls: plant one or two traps/);
    expect(system).toMatch(/no placeholders/);
    // v2 states the parallel-call rule in the shared wording (one call per assistant turn by default).
    expect(system).toMatch(/One tool call per assistant turn/);
    expect(system).toMatch(/fix any rule violation/);
    expect(system).toMatch(/guiding a physical operation/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('renderConversation', () => {
  it('numbers messages and shows calls with ids and results with their call and tool', () => {
    expect(renderConversation(CONVERSATION)).toBe(
      [
        '[0] system: You are the Acme Air agent.',
        '[1] user: Cancel ABC123 please.',
        '[2] assistant:',
        '  -> call get_reservation_details({"reservation_id":"ABC123"}) [call_1]',
        '[3] tool result for call_1 (get_reservation_details): {"status":"confirmed"}',
        '[4] assistant: It is confirmed. Cancel it?',
      ].join('\n'),
    );
  });

  it('a result without a tool name and parallel calls', () => {
    const text = renderConversation([
      {
        role: 'assistant',
        content: 'Both.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'call_2', type: 'function', function: { name: 'b', arguments: '{"x":1}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'unlinked_1', content: 'x' },
    ]);
    expect(text).toBe(['[0] assistant: Both.', '  -> call a({}) [call_1]', '  -> call b({"x":1}) [call_2]', '[1] tool result for unlinked_1: x'].join('\n'));
  });
});

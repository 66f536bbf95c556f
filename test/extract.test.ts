import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExtractionSchema, ToolSchema, type Reason, type Workflow } from '../src/records.js';
import { ExtractionAnswerSchema, type ExtractionAnswer } from '../src/prompts/extract.js';
import { checkExtraction, executionGraph } from '../src/stages/extract.js';
import { PARAM_TYPES, type ToolParamSpec, type ToolSpec } from '../src/prompts/tool-spec.js';
import { checkToolSpecs, specToTool } from '../src/stages/tool-spec.js';
import { compileToolSchemas } from '../src/stages/schema-check.js';
import { SchemaCache } from '../src/validate/schema-cache.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const OPTIONS = { minTools: 2, minSteps: 2, maxWorkflows: 3 };

type Step = ExtractionAnswer['workflows'][number]['steps'][number];
type AnswerWorkflow = ExtractionAnswer['workflows'][number];

function p(name: string, type: ToolParamSpec['type'] = 'string', extra: Partial<ToolParamSpec> = {}): ToolParamSpec {
  return { name, type, description: `The ${name.replace(/_/g, ' ')}.`, required: true, enum: [], format: 'none', ...extra };
}
function tool(name: string, params: ToolParamSpec[] = [], access: ToolSpec['access'] = 'read', description = `${name} in the system.`): ToolSpec {
  return { name, description, access, parameters: params };
}
function step(tool: string, depends_on: number[] = [], condition: string | null = null): Step {
  return { action: `call ${tool}`, tool, depends_on, condition };
}
function workflow(name: string, steps: Step[], rules: string[] = []): AnswerWorkflow {
  return { name, description: `The ${name} workflow.`, intents: [`I want to ${name.replace(/_/g, ' ')}`], steps, rules };
}
function answer(tools: ToolSpec[], workflows: AnswerWorkflow[], extra: Partial<ExtractionAnswer> = {}): ExtractionAnswer {
  const a: ExtractionAnswer = {
    procedural: true,
    domain: 'shopping',
    platform: 'computer',
    task_category: 'ecommerce_and_retail',
    rules: ['Orders can be cancelled only while pending.'],
    tools,
    workflows,
    ...extra,
  };
  // Every fixture is a shape the model could really send.
  expect(ExtractionAnswerSchema.safeParse(a).success).toBe(true);
  return a;
}

const STORE_TOOLS = [
  tool('find_user', [p('email', 'string', { format: 'email' })]),
  tool('get_order', [p('order_id')]),
  tool('cancel_order', [p('order_id'), p('reason', 'string', { enum: ['no longer needed', 'ordered by mistake'] })], 'write'),
];
const CANCEL = workflow('cancel_order', [step('find_user'), step('get_order', [0]), step('cancel_order', [1], 'only if the order is pending')], [
  'Only pending orders can be cancelled.',
  '  ',
]);

function ok<T>(outcome: { ok: true; value: T; warnings: Reason[] } | { ok: false; reasons: Reason[] }): { value: T; warnings: Reason[] } {
  if (!outcome.ok) throw new Error(`expected ok, got ${JSON.stringify(outcome.reasons)}`);
  return outcome;
}
function rejected(outcome: { ok: true } | { ok: false; reasons: Reason[] }): Reason[] {
  if (outcome.ok) throw new Error('expected a rejection, got ok');
  return outcome.reasons;
}

// ---------------------------------------------------------------------------------------------
describe('checkExtraction', () => {
  it('accepts a valid answer: OpenAI tools, derived execution graph, no warnings', () => {
    const { value, warnings } = ok(checkExtraction(answer(STORE_TOOLS, [CANCEL]), OPTIONS));
    expect(warnings).toEqual([]);
    expect(value.tools).toEqual(STORE_TOOLS.map(specToTool));
    for (const t of value.tools) expect(ToolSchema.safeParse(t).success).toBe(true);
    expect(compileToolSchemas(value.tools)).toEqual([]);
    expect(value.workflows).toEqual([
      {
        name: 'cancel_order',
        description: 'The cancel_order workflow.',
        intents: ['I want to cancel order'],
        steps: [
          { action: 'call find_user', tool: 'find_user', depends_on: [], condition: null },
          { action: 'call get_order', tool: 'get_order', depends_on: [0], condition: null },
          { action: 'call cancel_order', tool: 'cancel_order', depends_on: [1], condition: 'only if the order is pending' },
        ],
        execution_graph: '(find_user)->(get_order)->(cancel_order)',
        rules: ['Only pending orders can be cancelled.'],
      },
    ] satisfies Workflow[]);
  });

  it('a duplicate tool: the first definition is kept, the second dropped with a warning', () => {
    const dup = tool('get_order', [p('order_id'), p('verbose', 'boolean')], 'read', 'Second definition.');
    const { value, warnings } = ok(checkExtraction(answer([...STORE_TOOLS, dup], [CANCEL]), OPTIONS));
    expect(warnings).toEqual([{ check: 'duplicate_tool', path: 'tools[3]', message: 'second definition of "get_order" dropped' }]);
    expect(value.tools.map((t) => t.function.name)).toEqual(['find_user', 'get_order', 'cancel_order']);
    expect(value.tools[1]?.function.description).toBe('get_order in the system.');
  });

  it('an invalid tool name rejects the answer with the path of the tool', () => {
    const reasons = rejected(checkExtraction(answer([...STORE_TOOLS, tool('Look Up Order!', [])], [CANCEL]), OPTIONS));
    expect(reasons).toEqual([{ check: 'tool_name', path: 'tools[3]', message: 'tool name "Look Up Order!" must match ^[a-zA-Z0-9_-]{1,64}$' }]);
  });

  it('bad parameters reject the answer', () => {
    const badParams = [
      tool('get_order', [p('order id')]),
      tool('cancel_order', [p('order_id'), p('qty', 'integer', { enum: ['1', '2'] })]),
      tool('find_user', [p('email'), p('email')]),
    ];
    const reasons = rejected(checkExtraction(answer(badParams, [CANCEL]), OPTIONS));
    expect(reasons.map((r) => [r.check, r.path])).toEqual([
      ['parameter_name', 'tools[0].parameters[0]'],
      ['parameter_enum', 'tools[1].parameters[1]'],
      ['parameter_name', 'tools[2].parameters[1]'],
    ]);
  });

  it('a tool without a description rejects the answer', () => {
    const reasons = rejected(checkExtraction(answer([...STORE_TOOLS.slice(0, 2), { ...STORE_TOOLS[2]!, description: '' }], [CANCEL]), OPTIONS));
    expect(reasons).toEqual([{ check: 'tool_description', path: 'tools[2]', message: 'tool "cancel_order" has no description' }]);
  });

  it('a workflow with a step naming an undefined tool is dropped with a warning; the others are kept', () => {
    const broken = workflow('refund', [step('get_order'), step('issue_refund', [0]), step('notify', [1])]);
    const { value, warnings } = ok(checkExtraction(answer(STORE_TOOLS, [broken, CANCEL]), OPTIONS));
    expect(value.workflows.map((w) => w.name)).toEqual(['cancel_order']);
    expect(warnings).toEqual([
      { check: 'workflow_unknown_tool', path: 'workflows[0]', message: 'workflow "refund" dropped: steps name undefined tools issue_refund, notify' },
    ]);
  });

  it('when every workflow names an undefined tool, the answer is rejected with those reasons', () => {
    const broken = workflow('refund', [step('get_order'), step('issue_refund', [0]), step('issue_refund', [1])]);
    const reasons = rejected(checkExtraction(answer(STORE_TOOLS, [broken]), OPTIONS));
    expect(reasons).toEqual([
      { check: 'workflow_unknown_tool', path: 'workflows[0]', message: 'workflow "refund" dropped: steps name undefined tools issue_refund' },
    ]);
  });

  it('a step naming a tool that differs only in case is undefined', () => {
    const wf = workflow('w', [step('find_user'), step('Get_Order', [0])]);
    expect(rejected(checkExtraction(answer(STORE_TOOLS, [wf]), OPTIONS))[0]?.check).toBe('workflow_unknown_tool');
  });

  it('forward, self and repeated dependencies are trimmed with a warning (negative ones fail the schema)', () => {
    const wf = workflow('w', [step('find_user', [2]), step('get_order', [0, 1]), step('cancel_order', [1, 1, 0])]);
    const { value, warnings } = ok(checkExtraction(answer(STORE_TOOLS, [wf]), OPTIONS));
    expect(value.workflows[0]?.steps.map((s) => s.depends_on)).toEqual([[], [0], [1, 0]]);
    expect(warnings).toEqual([
      { check: 'workflow_dependency', path: 'workflows[0].steps[0]', message: 'dependencies [2] must point to earlier steps; kept []' },
      { check: 'workflow_dependency', path: 'workflows[0].steps[1]', message: 'dependencies [0,1] must point to earlier steps; kept [0]' },
      { check: 'workflow_dependency', path: 'workflows[0].steps[2]', message: 'dependencies [1,1,0] must point to earlier steps; kept [1,0]' },
    ]);
    expect(value.workflows[0]?.execution_graph).toBe('(find_user)->(get_order)->(cancel_order)');
  });

  it('warns when a step needs an id that only a later step returns, with the step numbers (issue 12, B8)', () => {
    const tools = [
      tool('get_order', [p('order_id')], 'read', 'Get an order by order_id; returns its status.'),
      tool('search_orders', [p('email')], 'read', 'Search the orders of an email; returns their order IDs and statuses.'),
      tool('cancel_order', [p('order_id')], 'write', 'Cancel a pending order.'),
    ];
    const late = workflow('cancel_late', [step('get_order'), step('search_orders'), step('cancel_order', [0])]);
    const { warnings } = ok(checkExtraction(answer(tools, [late]), OPTIONS));
    expect(warnings).toEqual([
      { check: 'workflow_step_order', path: 'workflows[0].steps[0]', message: 'workflow "cancel_late": step 0 (get_order) needs order_id, which only later step 1 (search_orders) returns' },
    ]);
    // In order: no warning. No step returns the id at all: the user gives it, no warning.
    const inOrder = workflow('cancel', [step('search_orders'), step('get_order', [0]), step('cancel_order', [1])]);
    expect(ok(checkExtraction(answer(tools, [inOrder]), OPTIONS)).warnings).toEqual([]);
    expect(ok(checkExtraction(answer(STORE_TOOLS, [CANCEL]), OPTIONS)).warnings).toEqual([]);
  });

  it('too few tools → extract_too_few_tools', () => {
    const one = [tool('get_order', [p('order_id')])];
    const wf = workflow('w', [step('get_order'), step('get_order', [0])]);
    const reasons = rejected(checkExtraction(answer(one, [wf]), OPTIONS));
    expect(reasons).toEqual([{ check: 'extract_too_few_tools', message: '1 tool(s) defined, 1 used by workflows; at least 2 needed' }]);
    // the same answer passes with minTools 1
    expect(checkExtraction(answer(one, [wf]), { ...OPTIONS, minTools: 1 }).ok).toBe(true);
  });

  it('enough tools defined but only one used → extract_too_few_tools', () => {
    const wf = workflow('w', [step('get_order'), step('get_order', [0])]);
    const reasons = rejected(checkExtraction(answer(STORE_TOOLS, [wf]), OPTIONS));
    expect(reasons[0]?.check).toBe('extract_too_few_tools');
    expect(reasons[0]?.message).toBe('3 tool(s) defined, 1 used by workflows; at least 2 needed');
  });

  it('minTools above the tools defined → extract_too_few_tools', () => {
    expect(rejected(checkExtraction(answer(STORE_TOOLS, [CANCEL]), { ...OPTIONS, minTools: 4 }))[0]?.check).toBe('extract_too_few_tools');
  });

  it('not procedural → extract_not_procedural', () => {
    const reasons = rejected(checkExtraction(answer([], [], { procedural: false, rules: [] }), OPTIONS));
    expect(reasons).toEqual([{ check: 'extract_not_procedural', message: 'the model found no multi-step operation with a system in this text' }]);
  });

  it('procedural but no workflow → extract_no_workflow', () => {
    expect(rejected(checkExtraction(answer(STORE_TOOLS, []), OPTIONS))).toEqual([{ check: 'extract_no_workflow', message: 'the answer held no workflow' }]);
  });

  it('workflows shorter than minSteps are dropped with a warning', () => {
    const short = workflow('short', [step('get_order')]);
    const { value, warnings } = ok(checkExtraction(answer(STORE_TOOLS, [short, CANCEL]), OPTIONS));
    expect(value.workflows.map((w) => w.name)).toEqual(['cancel_order']);
    expect(warnings).toEqual([{ check: 'workflow_too_short', path: 'workflows[0]', message: 'workflow "short" dropped: 1 step(s), fewer than 2' }]);
    expect(rejected(checkExtraction(answer(STORE_TOOLS, [CANCEL]), { ...OPTIONS, minSteps: 4 }))[0]?.check).toBe('workflow_too_short');
  });

  it('keeps at most maxWorkflows, in order, with a warning', () => {
    const wfs = ['a', 'b', 'c', 'd'].map((n) => workflow(n, [step('find_user'), step('get_order', [0])]));
    const { value, warnings } = ok(checkExtraction(answer(STORE_TOOLS, wfs), { ...OPTIONS, maxWorkflows: 2 }));
    expect(value.workflows.map((w) => w.name)).toEqual(['a', 'b']);
    expect(warnings).toEqual([{ check: 'workflow_limit', message: '2 workflow(s) beyond the limit of 2 dropped' }]);
  });

  it('the result fits the Extraction record', () => {
    const { value } = ok(checkExtraction(answer(STORE_TOOLS, [CANCEL]), OPTIONS));
    const record = {
      id: 'doc#0',
      source: { doc_id: 'doc', segment_id: 'doc#0' },
      domain: 'shopping',
      platform: 'computer',
      task_category: 'ecommerce_and_retail',
      rules: [],
      ...value,
    };
    expect(ExtractionSchema.safeParse(record).success).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
describe('executionGraph', () => {
  const s = (tool: string, depends_on: number[] = []) => ({ action: tool, tool, depends_on });

  it('steps without dependencies are taken in the order listed', () => {
    expect(executionGraph([s('login'), s('search'), s('buy'), s('search')])).toBe('(login)->(search)->(buy)->(search)');
  });

  it('a chain', () => {
    expect(executionGraph([s('a'), s('b', [0]), s('c', [1])])).toBe('(a)->(b)->(c)');
  });

  it('parallel branches sharing a dependency are grouped', () => {
    expect(executionGraph([s('login'), s('get_a', [0]), s('get_b', [0]), s('merge', [1, 2])])).toBe('(login)->(get_a|get_b)->(merge)');
  });

  it('a step depends on its deepest dependency', () => {
    expect(executionGraph([s('a'), s('b', [0]), s('c', [1]), s('d', [0, 2])])).toBe('(a)->(b)->(c)->(d)');
  });

  it('the same tool at the same level is written once', () => {
    expect(executionGraph([s('a'), s('get', [0]), s('get', [0]), s('z', [1, 2])])).toBe('(a)->(get)->(z)');
  });

  it('an independent step joins the first level', () => {
    expect(executionGraph([s('a'), s('b', [0]), s('c')])).toBe('(a|c)->(b)');
  });

  it('empty', () => {
    expect(executionGraph([])).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// The real tool lists of tau2-bench (airline, retail, telecom), as an extraction would give them.

interface Tau2Param {
  name: string;
  type: string;
  required: boolean;
  description: string;
}
interface Tau2Tool {
  name: string;
  type: 'READ' | 'WRITE' | 'GENERIC';
  description: string;
  parameters: Tau2Param[];
  returns: string;
}
type Tau2File = Record<'airline' | 'retail' | 'telecom' | 'mock', { description: string; tools: Tau2Tool[] }>;

const TAU2 = JSON.parse(readFileSync(join(SHARED_DATA, 'tool-use', 'tau2-tools.json'), 'utf8')) as Tau2File;

/**
 * tau2 parameter types → our PARAM_TYPES. Every tau2 array is a list of objects (flights,
 * passengers, payment methods, items with quantities). A plain `object` has no PARAM_TYPE:
 * it is passed as a JSON-encoded string (see the note in the report).
 */
const TYPE_MAP: Record<string, ToolParamSpec['type']> = {
  string: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  array: 'object_array',
  object: 'string',
};

/** Enumerations the tau2 descriptions state in words. */
const ENUMS: Record<string, string[]> = {
  'book_reservation.flight_type': ['one_way', 'round_trip'],
  'book_reservation.cabin': ['basic_economy', 'economy', 'business'],
  'book_reservation.insurance': ['yes', 'no'],
  'cancel_order.reason': ['no longer needed', 'ordered by mistake'],
};

function tau2ToSpec(t: Tau2Tool): ToolSpec {
  return {
    name: t.name,
    description: `${t.description} Returns: ${t.returns}`,
    access: t.type === 'WRITE' ? 'write' : 'read',
    parameters: t.parameters.map((q) => {
      const type = TYPE_MAP[q.type];
      if (type === undefined) throw new Error(`unmapped tau2 type ${q.type} (${t.name}.${q.name})`);
      return {
        name: q.name,
        type,
        description: q.type === 'object' ? `${q.description} (a JSON object encoded as a string)` : q.description,
        required: q.required,
        enum: ENUMS[`${t.name}.${q.name}`] ?? [],
        format: q.name === 'date' ? 'date' : q.name === 'email' ? 'email' : 'none',
      };
    }),
  };
}

const TAU2_ANSWERS: Record<'airline' | 'retail' | 'telecom', Omit<ExtractionAnswer, 'tools' | 'procedural'>> = {
  airline: {
    domain: 'travel_and_transportation',
    platform: 'operator',
    task_category: 'travel_and_transportation',
    rules: ['The user must give their user id before any change.', 'Basic economy reservations cannot be modified.'],
    workflows: [
      workflow(
        'cancel_reservation',
        [
          step('get_user_details'),
          step('get_reservation_details', [0]),
          step('cancel_reservation', [1], 'only within 24 hours of booking or with insurance'),
          step('send_certificate', [0, 2], 'only if the flight was delayed'),
        ],
        ['Ask for explicit confirmation before cancelling.'],
      ),
      workflow('book_flight', [
        step('get_user_details'),
        step('search_direct_flight', [0]),
        step('search_onestop_flight', [0]),
        step('calculate', [1, 2]),
        step('book_reservation', [3]),
      ]),
    ],
  },
  retail: {
    domain: 'shopping',
    platform: 'computer',
    task_category: 'ecommerce_and_retail',
    rules: ['Authenticate the user by email or by name and zip code first.', 'Only delivered orders can be returned.'],
    workflows: [
      workflow('return_items', [step('authenticate_user'), step('get_user_orders', [0]), step('get_order_details', [1]), step('return_order', [2])]),
      workflow('exchange_items', [
        step('authenticate_user'),
        step('get_order_details', [0]),
        step('get_product_details', [1]),
        step('exchange_order', [1, 2], 'only if the new item is available'),
      ]),
      workflow('move_address', [step('authenticate_user'), step('get_user_profile', [0]), step('update_user_address', [1])]),
    ],
  },
  telecom: {
    domain: 'internet_and_telecom',
    platform: 'phone',
    task_category: 'customer_support',
    rules: ['A suspended line must be reactivated before a plan change.'],
    workflows: [
      workflow('fix_no_service', [
        step('search_customer'),
        step('get_customer_profile', [0]),
        step('get_line_details', [1]),
        step('check_service_status', [2]),
        step('toggle_airplane_mode', [3]),
        step('restart_network_service', [3]),
      ]),
      workflow('pay_overdue_bill', [step('get_customer_profile'), step('get_bill_details', [0]), step('process_payment', [1])]),
    ],
  },
};

function tau2Answer(domain: 'airline' | 'retail' | 'telecom', tools: ToolSpec[] = TAU2[domain].tools.map(tau2ToSpec)): ExtractionAnswer {
  const a: ExtractionAnswer = { procedural: true, tools, ...TAU2_ANSWERS[domain] };
  expect(ExtractionAnswerSchema.safeParse(a).success).toBe(true);
  return a;
}

describe('tau2-bench tool lists as extracted tools', () => {
  it('the file holds the three domains with READ/WRITE tools', () => {
    expect(TAU2.airline.tools.length).toBe(10);
    expect(TAU2.retail.tools.length).toBe(12);
    expect(TAU2.telecom.tools.length).toBe(17);
    const types = new Set(['airline', 'retail', 'telecom'].flatMap((d) => TAU2[d as 'airline'].tools.flatMap((t) => t.parameters.map((q) => q.type))));
    expect([...types].sort()).toEqual(['array', 'integer', 'number', 'object', 'string']);
    // a plain object parameter (retail update_user_address.address) has no PARAM_TYPE of its own
    expect((PARAM_TYPES as readonly string[]).includes('object')).toBe(false);
  });

  it.each(['airline', 'retail', 'telecom'] as const)('%s: checkExtraction accepts them and every tool compiles', (domain) => {
    const source = TAU2[domain].tools;
    const { value, warnings } = ok(checkExtraction(tau2Answer(domain), OPTIONS));
    expect(warnings).toEqual([]);
    expect(value.tools.map((t) => t.function.name)).toEqual(source.map((t) => t.name));
    expect(compileToolSchemas(value.tools)).toEqual([]);
    for (const [i, t] of value.tools.entries()) {
      expect(ToolSchema.safeParse(t).success).toBe(true);
      const params = t.function.parameters as { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
      const src = source[i]!;
      expect(Object.keys(params.properties)).toEqual(src.parameters.map((q) => q.name));
      expect(params.required).toEqual(src.parameters.filter((q) => q.required).map((q) => q.name));
      expect(params.additionalProperties).toBe(false);
    }
    expect(value.workflows.map((w) => w.name)).toEqual(TAU2_ANSWERS[domain].workflows.map((w) => w.name));
  });

  it('derives the execution graphs of the tau2 workflows', () => {
    const graphs = (d: 'airline' | 'retail' | 'telecom') => ok(checkExtraction(tau2Answer(d), OPTIONS)).value.workflows.map((w) => w.execution_graph);
    expect(graphs('airline')).toEqual([
      '(get_user_details)->(get_reservation_details)->(cancel_reservation)->(send_certificate)',
      '(get_user_details)->(search_direct_flight|search_onestop_flight)->(calculate)->(book_reservation)',
    ]);
    expect(graphs('telecom')[0]).toBe(
      '(search_customer)->(get_customer_profile)->(get_line_details)->(check_service_status)->(toggle_airplane_mode|restart_network_service)',
    );
  });

  it('the compiled airline schemas validate real-looking arguments', () => {
    const { value } = ok(checkExtraction(tau2Answer('airline'), OPTIONS));
    const cache = new SchemaCache();
    const validator = (name: string) => {
      const t = value.tools.find((x) => x.function.name === name);
      const compiled = cache.get(t?.function.parameters ?? {});
      if (!compiled.ok) throw new Error(compiled.error);
      return compiled.validate;
    };
    const book = validator('book_reservation');
    const good = {
      user_id: 'sara_doe_496',
      origin: 'SFO',
      destination: 'JFK',
      flight_type: 'one_way',
      cabin: 'economy',
      flights: [{ flight_number: 'HAT001', date: '2024-05-01' }],
      passengers: [{ first_name: 'Sara', last_name: 'Doe', dob: '1990-04-05' }],
      payment_methods: [{ payment_id: 'credit_card_7815826', amount: 320 }],
      total_baggages: 1,
      nonfree_baggages: 0,
      insurance: 'no',
    };
    expect(book(good)).toBe(true);
    expect(book({ ...good, cabin: 'first' })).toBe(false);
    expect(book({ ...good, total_baggages: '1' })).toBe(false);
    expect(book({ ...good, passengers: ['Sara Doe'] })).toBe(false);
    const { insurance: _i, ...missing } = good;
    expect(book(missing)).toBe(false);
    const search = validator('search_direct_flight');
    expect(search({ origin: 'JFK', destination: 'LAX', date: '2024-05-01' })).toBe(true);
    expect(search({ origin: 'JFK', destination: 'LAX', date: 'May 1st' })).toBe(false);
    expect(validator('list_all_airports')({})).toBe(true);
    expect(validator('list_all_airports')({ x: 1 })).toBe(false);
  });

  it('bad names are rejected', () => {
    const tools = TAU2.retail.tools.map(tau2ToSpec);
    tools[3] = { ...tools[3]!, name: 'get order details' };
    tools[5] = { ...tools[5]!, name: 'get_product_details.v2' };
    const reasons = rejected(checkExtraction(tau2Answer('retail', tools), OPTIONS));
    expect(reasons.map((r) => [r.check, r.path])).toEqual([
      ['tool_name', 'tools[3]'],
      ['tool_name', 'tools[5]'],
    ]);
    const badParam = TAU2.telecom.tools.map(tau2ToSpec);
    badParam[13] = { ...badParam[13]!, parameters: badParam[13]!.parameters.map((q) => (q.name === 'amount' ? { ...q, name: 'amount ($)' } : q)) };
    expect(rejected(checkExtraction(tau2Answer('telecom', badParam), OPTIONS))).toEqual([
      { check: 'parameter_name', path: 'tools[13].parameters[1]', message: 'parameter "amount ($)" of "process_payment" is not a valid identifier' },
    ]);
  });

  it('a duplicate tool is a warning in checkExtraction and an error for checkToolSpecs', () => {
    const tools = TAU2.airline.tools.map(tau2ToSpec);
    const dup = { ...tools[4]!, description: 'A second, different get_reservation_details.' };
    const withDup = [...tools, dup];
    expect(checkToolSpecs(withDup)).toEqual([{ check: 'duplicate_tool', path: 'tools[10]', message: 'tool "get_reservation_details" is defined twice' }]);
    const { value, warnings } = ok(checkExtraction(tau2Answer('airline', withDup), OPTIONS));
    expect(warnings).toEqual([{ check: 'duplicate_tool', path: 'tools[10]', message: 'second definition of "get_reservation_details" dropped' }]);
    expect(value.tools).toHaveLength(10);
    expect(value.tools[4]?.function.description).toBe(`${TAU2.airline.tools[4]!.description} Returns: ${TAU2.airline.tools[4]!.returns}`);
  });

  it('a duplicate parameter is rejected', () => {
    const tools = TAU2.airline.tools.map(tau2ToSpec);
    tools[0] = { ...tools[0]!, parameters: [...tools[0]!.parameters, tools[0]!.parameters[0]!] };
    expect(rejected(checkExtraction(tau2Answer('airline', tools), OPTIONS))).toEqual([
      { check: 'parameter_name', path: 'tools[0].parameters[3]', message: 'parameter "origin" of "search_direct_flight" is listed twice' },
    ]);
  });

  it('an enum on an integer parameter is rejected', () => {
    const tools = TAU2.airline.tools.map(tau2ToSpec);
    const i = tools.findIndex((t) => t.name === 'book_reservation');
    tools[i] = { ...tools[i]!, parameters: tools[i]!.parameters.map((q) => (q.name === 'total_baggages' ? { ...q, enum: ['0', '1', '2'] } : q)) };
    expect(rejected(checkExtraction(tau2Answer('airline', tools), OPTIONS))).toEqual([
      { check: 'parameter_enum', path: `tools[${i}].parameters[8]`, message: 'parameter "total_baggages" of "book_reservation" has an enum but type integer' },
    ]);
  });

  it('a workflow that names a tool of another domain is dropped', () => {
    const a = tau2Answer('retail');
    a.workflows = [...a.workflows, workflow('cancel_flight', [step('authenticate_user'), step('cancel_reservation', [0])])];
    const { value, warnings } = ok(checkExtraction(a, OPTIONS));
    expect(value.workflows.map((w) => w.name)).toEqual(['return_items', 'exchange_items', 'move_address']);
    expect(warnings.map((w) => [w.check, w.path])).toEqual([['workflow_unknown_tool', 'workflows[3]']]);
  });
});

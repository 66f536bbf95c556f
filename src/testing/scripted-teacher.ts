/**
 * A deterministic teacher for the mock server: answers every stage of the pipeline from the
 * request alone, so end-to-end tests, the kill-and-resume test and the benchmark can drive a
 * real `gemtraj run` without a model. Markers in the source text choose the path:
 *
 * | marker in the text        | what the teacher does                                        |
 * |---------------------------|--------------------------------------------------------------|
 * | (none)                    | a good extraction, trajectory, refinement and judge verdict  |
 * | `[[drop]]`                | the relevance judge says "not procedural"                    |
 * | `[[bad-args]]`            | a call whose arguments break the tool schema                 |
 * | `[[hallucinated-tool]]`   | a call to a tool that was never defined                      |
 * | `[[malformed]]`           | extraction answers that are never valid JSON                 |
 * | `[[refusal]]`             | extraction answers "I'm sorry, I can't help with that."      |
 * | `[[bad-refine]]`          | refinement breaks the turn order (the original is kept)      |
 * | `[[judge-fail]]`          | the judge fails rubric R1                                    |
 * | `[[slip-fence]]`          | synthesizer output wrapped in a code fence with prose around |
 * | `[[slip-think]]`          | synthesizer output after a `<think>` block                   |
 * | `[[slip-truncated]]`      | synthesizer output missing its final close tag               |
 * | `[[garbage]]`             | synthesizer output that is not the format at all             |
 *
 * The stage is recognised by the `response_format` schema name, or by the system prompt in
 * `json_object` and `prompt` modes.
 */
import { formatSynthesizerOutput } from '../formats/sft-pairs.js';
import type { Turn } from '../prompts/conversation.js';
import type { ToolSpec } from '../prompts/tool-spec.js';
import { assembleMessages } from '../stages/conversation.js';
import { specToTool } from '../stages/tool-spec.js';
import type { MockHandler, MockReply, MockRequest } from './mock-server.js';

type Stage = 'filter' | 'extract' | 'generate' | 'refine' | 'judge' | 'synthesize' | 'unknown';

const SCHEMA_STAGE: Record<string, Stage> = {
  relevance_judgement: 'filter',
  workflow_extraction: 'extract',
  trajectory: 'generate',
  refined_trajectory: 'refine',
  trajectory_judgment: 'judge',
};

/** Which pipeline stage a request serves. */
export function stageOf(request: MockRequest): Stage {
  const name = request.body.response_format?.json_schema?.name;
  if (name !== undefined) {
    if (SCHEMA_STAGE[name] !== undefined) return SCHEMA_STAGE[name];
    if (/judge|verdict|rubric/i.test(name)) return 'judge';
  }
  const system = String(request.body.messages?.[0]?.content ?? '');
  if (/Turn the following text into multi-turn tool-use trajectories/i.test(JSON.stringify(request.body.messages ?? []))) return 'synthesize';
  if (/You turn procedural text into an agent environment/.test(system)) return 'extract';
  if (/You make tool-use training conversations harder/.test(system)) return 'refine';
  if (/You write realistic training conversations/.test(system)) return 'generate';
  if (/R1|hallucination/i.test(system) && /judge|rubric|grade/i.test(system)) return 'judge';
  if (/multi-step|procedur/i.test(system)) return 'filter';
  return 'unknown';
}

/** All request text, for marker lookup (markers travel inside the source text). */
function allText(request: MockRequest): string {
  return (request.body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
}

const TOOLS = [
  {
    name: 'get_customer',
    description: 'Look up a customer account by email; returns the customer id and status.',
    access: 'read',
    parameters: [{ name: 'email', type: 'string', description: 'account email the user gives', required: true, enum: [], format: 'email' }],
  },
  {
    name: 'get_order',
    description: 'Get an order by id; returns items, status and customer id. Fails when not found.',
    access: 'read',
    parameters: [{ name: 'order_id', type: 'string', description: 'order number such as W1001', required: true, enum: [], format: 'none' }],
  },
  {
    name: 'cancel_order',
    description: 'Cancel a pending order; fails when it has shipped.',
    access: 'write',
    parameters: [
      { name: 'order_id', type: 'string', description: 'order number', required: true, enum: [], format: 'none' },
      { name: 'reason', type: 'string', description: 'why the user cancels', required: true, enum: ['no_longer_needed', 'ordered_by_mistake'], format: 'none' },
    ],
  },
];

const EXTRA_TOOL = {
  name: 'list_customer_orders',
  description: 'List the orders of a customer; returns order ids and statuses.',
  access: 'read',
  parameters: [{ name: 'customer_id', type: 'string', description: 'customer id from get_customer', required: true, enum: [], format: 'none' }],
};

/**
 * Tools in the shape the request's prompt set asks for: v2 parameters carry `properties`
 * (nested fields; [] for scalars), recognised by v2's tool design rules in the prompt.
 */
function toolsFor(text: string, tools: readonly Record<string, unknown>[]): unknown[] {
  if (!text.includes('Structured values:')) return [...tools];
  return tools.map((t) => ({ ...t, parameters: (t.parameters as Record<string, unknown>[]).map((p) => ({ ...p, properties: [] })) }));
}

function extraction(text: string): unknown {
  return {
    procedural: true,
    domain: 'shopping',
    platform: 'computer',
    task_category: 'ecommerce_and_retail',
    rules: ['Verify the customer by email before any change.', 'Only pending orders can be cancelled.', 'Confirm with the user before cancelling.'],
    tools: toolsFor(text, TOOLS),
    workflows: [
      {
        name: 'cancel_pending_order',
        description: 'Cancel an order that has not shipped yet.',
        intents: ['cancel my order'],
        steps: [
          { action: 'Verify the customer', tool: 'get_customer', depends_on: [], condition: null },
          { action: 'Check the order status', tool: 'get_order', depends_on: [0], condition: null },
          { action: 'Cancel the order', tool: 'cancel_order', depends_on: [1], condition: 'order is pending' },
        ],
        rules: ['Shipped orders cannot be cancelled.'],
      },
    ],
  };
}

function call(name: string, args: Record<string, unknown>): { name: string; arguments: string } {
  return { name, arguments: JSON.stringify(args) };
}

const user = (content: string) => ({ role: 'user', content, tool_calls: [] });
const assistant = (content: string, calls: Array<{ name: string; arguments: string }> = []) => ({ role: 'assistant', content, tool_calls: calls });
const tool = (value: unknown) => ({ role: 'tool', content: JSON.stringify(value), tool_calls: [] });

function conversation(text: string, refined: boolean): unknown[] {
  const cancelArgs = text.includes('[[bad-args]]') ? { order_id: 1001, reason: 'because' } : { order_id: 'W1001', reason: 'no_longer_needed' };
  const checkCall = text.includes('[[hallucinated-tool]]') ? call('refund_everything', { order_id: 'W1001' }) : call('get_order', { order_id: 'W1001' });
  const turns = [
    user('Hi, I need to cancel an order I placed yesterday.'),
    assistant('I can help. Please tell me the email on your account and the order number.'),
    user('Email is dana.reyes@mailbox.org and the order is W1001.'),
    // One call per assistant turn, as config `parallel_calls: forbid` (the default) asks.
    assistant('', [call('get_customer', { email: 'dana.reyes@mailbox.org' })]),
    tool({ customer_id: 'C-778', email: 'dana.reyes@mailbox.org', status: 'active' }),
    assistant('', [checkCall]),
    tool({ order_id: 'W1001', customer_id: 'C-778', status: 'pending', items: [{ sku: 'LAMP-2', qty: 1 }] }),
  ];
  if (refined) {
    turns.push(
      assistant('', [call('list_customer_orders', { customer_id: 'C-778' })]),
      tool({ orders: [{ order_id: 'W1001', status: 'pending' }, { order_id: 'W0950', status: 'shipped' }] }),
    );
  }
  turns.push(
    assistant('Order W1001 is still pending, so it can be cancelled. Shall I cancel it because you no longer need it?'),
    user('Yes, please cancel it.'),
    assistant('', [call('cancel_order', cancelArgs)]),
    tool({ order_id: 'W1001', status: 'cancelled', refund: 'issued to original payment' }),
    assistant('Order W1001 is cancelled and the refund goes back to your original payment method.'),
  );
  return turns;
}

function generation(text: string): unknown {
  return {
    user_persona: 'Dana, a busy customer who changed her mind about a purchase.',
    system_prompt: 'You are a store support agent. Rules:\n- Verify the customer by email before any change.\n- Only pending orders can be cancelled.\n- Confirm before cancelling.',
    patterns: ['clarification', 'rule_awareness', 'multi_hop_reasoning'],
    turns: conversation(text, false),
  };
}

/** The synthesizer's answer in the sft-pairs text format, with the slips markers ask for. */
function synthesis(text: string): string {
  const answer = generation(text) as { system_prompt: string; turns: Turn[] };
  const tools = (TOOLS as ToolSpec[]).map(specToTool);
  let out = formatSynthesizerOutput(tools, assembleMessages(answer.system_prompt, answer.turns));
  if (text.includes('[[garbage]]')) return 'Here are some thoughts about the text, but no trajectory.';
  if (text.includes('[[slip-truncated]]')) out = out.replace(/<\/assistant>\s*$/, '');
  if (text.includes('[[slip-fence]]')) out = `Sure! Here is the trajectory:\n\n\`\`\`xml\n${out}\n\`\`\`\nHope this helps.`;
  if (text.includes('[[slip-think]]')) out = `<think>The text is about cancelling orders; I will define three tools.</think>\n${out}`;
  return out;
}

function refinement(text: string): unknown {
  const turns = conversation(text, true);
  // A refinement that breaks the turn order: a user turn right after a tool result.
  if (text.includes('[[bad-refine]]')) turns.splice(5, 0, user('Also, hello?'));
  return {
    tools: toolsFor(text, [...TOOLS, EXTRA_TOOL]),
    system_prompt: 'You are a store support agent.\nRules:\n1. Verify the customer by email before any change.\n2. Only pending orders can be cancelled.\n3. Confirm before cancelling.\nData: customer {customer_id, email, status}; order {order_id, customer_id, status, items}.',
    patterns: ['clarification', 'rule_awareness', 'multi_hop_reasoning', 'long_context'],
    pitfalls: ['Order W0950 has shipped and cannot be cancelled.'],
    turns,
    // Prompt set v2 shows the persona and asks for the refined one; v1's schema has no such field.
    ...(text.includes('Current user persona:') ? { user_persona: 'Dana Reyes, a customer who wants one pending order cancelled and asks about a shipped one' } : {}),
  };
}

/**
 * Fills a JSON Schema with a passing answer: booleans true, numbers 1, strings "ok", enums
 * their first value, arrays empty. Used for the judge, whose schema other code owns.
 */
export function fillSchema(schema: unknown, failKeys: ReadonlySet<string> = new Set(), key = ''): unknown {
  if (schema === null || typeof schema !== 'object') return null;
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.anyOf)) return fillSchema(s.anyOf[0], failKeys, key);
  if (Array.isArray(s.enum)) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(props)) out[k] = fillSchema(v, failKeys, failKeys.has(k) ? 'FAIL' : key);
      return out;
    }
    case 'array':
      return [];
    case 'boolean':
      return key !== 'FAIL';
    case 'integer':
    case 'number':
      return key === 'FAIL' ? 0 : 1;
    case 'string':
      return key === 'FAIL' ? 'argument values were invented' : 'ok';
    default:
      return null;
  }
}

export interface ScriptedTeacherOptions {
  /** JSON Schema of the judge's answer, for modes that do not send one. */
  judgeSchema?: unknown;
}

/** The handler: route by stage, answer by markers. */
export function scriptedTeacher(options: ScriptedTeacherOptions = {}): MockHandler {
  return (request: MockRequest): MockReply => {
    const text = allText(request);
    const json = (value: unknown): MockReply => ({ kind: 'text', content: JSON.stringify(value) });
    switch (stageOf(request)) {
      case 'filter': {
        const keep = !text.includes('[[drop]]');
        return json({
          reason: keep ? 'Describes how to cancel an order in the web shop.' : 'Narrative text.',
          keep,
          confidence: 0.9,
          summary: keep ? 'Cancel an order' : '',
          platform: 'computer',
          domain: 'shopping',
          task_category: 'ecommerce_and_retail',
        });
      }
      case 'extract':
        if (text.includes('[[malformed]]')) return { kind: 'text', content: '{"procedural": true, "tools": [ {"name": "get_order", ' };
        if (text.includes('[[refusal]]')) return { kind: 'text', content: "I'm sorry, I can't help with that." };
        return json(extraction(text));
      case 'generate':
        return json(generation(text));
      case 'refine':
        return json(refinement(text));
      case 'synthesize':
        return { kind: 'text', content: synthesis(text) };
      case 'judge': {
        const schema = request.body.response_format?.json_schema?.schema ?? options.judgeSchema;
        const fail = text.includes('[[judge-fail]]') ? new Set(['R1']) : new Set<string>();
        return json(fillSchema(schema, fail));
      }
      default:
        return { kind: 'status', status: 400, body: { error: { message: 'scripted teacher: unknown stage', type: 'invalid_request_error' } } };
    }
  };
}

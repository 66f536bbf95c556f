/**
 * `gemtraj export --target <name>`: one export per model family (shaped for that model's own
 * chat template) and per trainer (shaped for that trainer's loader). Each choice below cites the
 * template line that forces it; the templates are the models' originals (kept by TRL in
 * trl/chat_templates and by vLLM in examples/). `lost` says in one line what the target cannot
 * carry, `rendersTextBesideCalls` whether the template shows assistant text written beside calls
 * (the template check counts text it drops as a failure only where this is true).
 */
import type { Trajectory } from '../../records.js';
import { toShareGPTWithNotes } from '../sharegpt.js';
import type { ExportOutcome } from '../types.js';
import { shapeMessages, type MessageShape } from './messages.js';
import { toMsSwift, toMsSwiftOpenAI } from './ms-swift.js';

export const TARGET_NAMES = [
  'qwen3',
  'qwen3-2507',
  'qwen3.6',
  'qwen2.5',
  'llama3.1',
  'deepseek-v3',
  'gpt-oss',
  'glm4',
  'hermes',
  'openai-ft',
  'trl',
  'axolotl',
  'llamafactory',
  'ms-swift',
  'ms-swift-openai',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export interface ExportTarget {
  name: TargetName;
  kind: 'model' | 'trainer';
  /** What the output is for, one line. */
  summary: string;
  /** The chat template it is shaped for and checked against (path under the shared chat-templates folder), if any. */
  template?: string;
  /** What the export cannot carry, one line ('' when nothing). */
  lost: string;
  /** Whether the template renders assistant text written beside tool calls. */
  rendersTextBesideCalls: boolean;
  /** Records are `{messages, tools}` handed to a chat template as they are (checkable with --check-template). */
  chatMessages: boolean;
  convert(trajectory: Trajectory): ExportOutcome<Record<string, unknown>>;
}

function shaped(shape: MessageShape): (t: Trajectory) => ExportOutcome<Record<string, unknown>> {
  return (t) => {
    const out = shapeMessages(t, shape);
    return { record: { messages: out.record.messages, tools: out.record.tools }, notes: out.notes };
  };
}

/** Qwen-family shape: objects (qwen3.jinja L63-66 writes a string raw, an object through tojson; Qwen3.6 iterates `arguments|items`, L120). */
const QWEN: MessageShape = { args: 'object', emptyCallContent: 'empty', parallel: 'keep', toolName: false, reasoning: 'keep', tools: 'list', ids: true };

const TARGETS: Record<TargetName, ExportTarget> = {
  qwen3: {
    name: 'qwen3',
    kind: 'model',
    summary: 'Qwen3 (hybrid thinking; the GEM paper\'s students): arguments as objects, reasoning_content kept',
    template: 'trl/qwen3.jinja',
    lost: '',
    rendersTextBesideCalls: true,
    chatMessages: true,
    convert: shaped(QWEN),
  },
  'qwen3-2507': {
    name: 'qwen3-2507',
    kind: 'model',
    summary: 'Qwen3-Instruct-2507: same shape as qwen3 (qwen3_instruct_2507.jinja L38-41)',
    template: 'trl/qwen3_instruct_2507.jinja',
    lost: 'reasoning_content (the instruct template has no thinking)',
    rendersTextBesideCalls: true,
    chatMessages: true,
    convert: shaped({ ...QWEN, reasoning: 'drop' }),
  },
  'qwen3.6': {
    name: 'qwen3.6',
    kind: 'model',
    summary: 'Qwen3.5/3.6 XML calls: arguments must be objects (qwen3_6.jinja L120 `arguments|items` raises on a string)',
    template: 'trl/qwen3_6.jinja',
    lost: '',
    rendersTextBesideCalls: true,
    chatMessages: true,
    convert: shaped(QWEN),
  },
  'qwen2.5': {
    name: 'qwen2.5',
    kind: 'model',
    summary: 'Qwen2.5: arguments as objects (qwen2_5.jinja L36 `arguments | tojson` double-encodes a string)',
    template: 'trl/qwen2_5.jinja',
    lost: 'reasoning_content (not rendered)',
    rendersTextBesideCalls: true,
    chatMessages: true,
    convert: shaped({ ...QWEN, reasoning: 'drop' }),
  },
  'llama3.1': {
    name: 'llama3.1',
    kind: 'model',
    // llama3_1.jinja L70-71 raises unless exactly one call per turn; L88 `arguments | tojson`;
    // L67/L69 test `'tool_calls' in message`, so text turns carry no tool_calls key.
    summary: 'Llama 3.1 JSON tool calls: one call per turn (parallel calls split, each followed by its result), arguments as objects',
    template: 'trl/llama3_1.jinja',
    lost: 'parallelism (split into consecutive turns); assistant text beside calls (L84-88 render only the call); reasoning_content',
    rendersTextBesideCalls: false,
    chatMessages: true,
    convert: shaped({ args: 'object', emptyCallContent: 'empty', parallel: 'split', toolName: true, reasoning: 'drop', tools: 'list', ids: true }),
  },
  'deepseek-v3': {
    name: 'deepseek-v3',
    kind: 'model',
    // deepseekv3.jinja concatenates `tool['function']['arguments']` into the text: a string is
    // required (an object raises); `message['content'] is none` selects the call-only form.
    summary: 'DeepSeek-V3: arguments as JSON strings (the template concatenates them), content null on call-only turns',
    template: 'trl/deepseekv3.jinja',
    // Its `ns.is_first` is set by the first call turn and never reset: later call turns render
    // without `<｜Assistant｜>` and without their text.
    lost: 'tools (not rendered: describe them in the system prompt); text beside calls after the first call turn (template bug); reasoning_content',
    rendersTextBesideCalls: false,
    chatMessages: true,
    convert: shaped({ args: 'string', emptyCallContent: 'null', parallel: 'keep', toolName: false, reasoning: 'drop', tools: 'list', ids: true }),
  },
  'gpt-oss': {
    name: 'gpt-oss',
    kind: 'model',
    // gptoss.jinja L285 renders only tool_calls[0] ("max 1 tool call per message"): split.
    // L264 `... in message.content` raises on null: omit content. L289-290 refuse content and
    // thinking beside a call; L292 shows call-side text as analysis only when no final answer follows.
    summary: 'gpt-oss (harmony): one call per turn, arguments as objects, no null content, reasoning as `thinking`',
    template: 'trl/gptoss.jinja',
    lost: 'parallelism (split); assistant text beside calls when a final answer follows (harmony drops that analysis); reasoning except on the last turn',
    rendersTextBesideCalls: false,
    chatMessages: true,
    convert: shaped({ args: 'object', emptyCallContent: 'omit', parallel: 'split', toolName: false, reasoning: 'thinking', tools: 'list', ids: true, callTextOrThinking: 'text' }),
  },
  glm4: {
    name: 'glm4',
    kind: 'model',
    // glm4moe.jinja L75 iterates `tc.arguments.items()` (raises on a string); L22-34 print
    // `None` for null content, so call-only turns get ''.
    summary: 'GLM-4.5/4.6 (the GEM paper\'s teacher family): arguments as objects, content "" (null renders as "None")',
    template: 'trl/glm4moe.jinja',
    lost: '',
    rendersTextBesideCalls: true,
    chatMessages: true,
    convert: shaped({ args: 'object', emptyCallContent: 'empty', parallel: 'keep', toolName: false, reasoning: 'keep', tools: 'list', ids: true }),
  },
  hermes: {
    name: 'hermes',
    kind: 'model',
    // vllm tool_chat_template_hermes.jinja L100 `arguments|tojson`; L110-111 raise without `name`
    // on tool messages; L88 `tool_calls is not defined` selects the text form; L44 reads
    // `tool.parameters.properties` (raises without parameters).
    summary: 'Hermes-style models through vLLM\'s Hermes template: arguments as objects, `name` on tool messages',
    template: 'vllm-tool_chat_template_hermes.jinja',
    lost: 'assistant text beside calls (L90-107 render only the calls); reasoning_content',
    rendersTextBesideCalls: false,
    chatMessages: true,
    convert: shaped({ args: 'object', emptyCallContent: 'empty', parallel: 'keep', toolName: true, reasoning: 'drop', tools: 'list', ids: true, fillParameters: true }),
  },
  'openai-ft': {
    name: 'openai-ft',
    kind: 'trainer',
    summary: 'OpenAI fine-tuning API: arguments as JSON strings, content null on call-only turns, only the keys the API accepts',
    lost: 'reasoning_content; tool message name',
    rendersTextBesideCalls: true,
    chatMessages: false,
    convert: shaped({ args: 'string', emptyCallContent: 'null', parallel: 'keep', toolName: false, reasoning: 'drop', tools: 'list', ids: true }),
  },
  trl: {
    name: 'trl',
    kind: 'trainer',
    // SFTTrainer hands `messages` and `tools` to tokenizer.apply_chat_template: objects are what
    // the templates expect (the transformers convention); `name` serves templates that need it.
    summary: 'TRL SFTTrainer (conversational with tools): messages and tools as apply_chat_template takes them, arguments as objects',
    template: 'trl/qwen3.jinja',
    lost: 'whatever the model\'s own template drops (check with --check-template)',
    rendersTextBesideCalls: true,
    chatMessages: true,
    convert: shaped({ args: 'object', emptyCallContent: 'empty', parallel: 'keep', toolName: true, reasoning: 'keep', tools: 'list', ids: true }),
  },
  axolotl: {
    name: 'axolotl',
    kind: 'trainer',
    summary: 'axolotl `type: chat_template` (field_messages: messages, tools column): arguments as objects, tool messages with name',
    template: 'trl/qwen3.jinja',
    lost: 'whatever the model\'s own template drops (check with --check-template)',
    rendersTextBesideCalls: true,
    chatMessages: true,
    convert: shaped({ args: 'object', emptyCallContent: 'empty', parallel: 'keep', toolName: true, reasoning: 'keep', tools: 'list', ids: true }),
  },
  llamafactory: {
    name: 'llamafactory',
    kind: 'trainer',
    summary: 'LLaMA-Factory ShareGPT (the GEM paper\'s trainer): text beside calls inline (≥ 0.9.4), one <tool_response> per parallel result, tools "" when none',
    lost: 'reasoning_content; call ids; consecutive user turns merged; trailing user/tool turns',
    rendersTextBesideCalls: true,
    chatMessages: false,
    convert: (t) => {
      const out = toShareGPTWithNotes(t, { textBesideCalls: 'inline', parallelResults: 'blocks', emptyTools: '' });
      return { record: { ...out.record }, notes: out.notes };
    },
  },
  'ms-swift': {
    name: 'ms-swift',
    kind: 'trainer',
    summary: 'ms-swift agent format (tool_call / tool_response messages, tools as a JSON string; pick the model with --agent_template)',
    lost: 'call ids (results matched by order)',
    rendersTextBesideCalls: true,
    chatMessages: false,
    convert: (t) => {
      const out = toMsSwift(t);
      return { record: { ...out.record }, notes: out.notes };
    },
  },
  'ms-swift-openai': {
    name: 'ms-swift-openai',
    kind: 'trainer',
    // ms-swift < 4.5 drops `tool_calls` silently (its preprocessor keeps role/content/loss only),
    // so `ms-swift` stays the agent format every version reads; see ms-swift.ts for the sources.
    summary: 'ms-swift ≥ 4.5 OpenAI format (assistant tool_calls with arguments as JSON text, tool messages with tool_call_id, tools as a JSON string)',
    lost: 'nothing in the file; ms-swift itself matches results to calls by order (written in call order)',
    rendersTextBesideCalls: true,
    chatMessages: false,
    convert: (t) => {
      const out = toMsSwiftOpenAI(t);
      return { record: { ...out.record }, notes: out.notes };
    },
  },
};

export function exportTarget(name: TargetName): ExportTarget {
  return TARGETS[name];
}

export function allTargets(): ExportTarget[] {
  return TARGET_NAMES.map((n) => TARGETS[n]);
}


/**
 * tau-bench trajectory logs (`historical_trajectories/*.json`): a JSON array of
 * `{task_id, reward, trial, info, traj}` with `traj` in OpenAI chat format. The logs carry no
 * tool schemas, so import infers minimal ones from the calls (name; parameters whose
 * properties are typed from the observed argument values; no `required`; an empty description)
 * and marks `meta.tools_inferred: true`.
 */
import type { JsonSchemaObject, Message, Reason, Tool, Trajectory } from '../records.js';
import { finishImport, importMeta, stableId } from './common.js';
import { isObject, type JsonObject } from '../parse/json.js';
import { normalizeOpenAIMessages } from './openai.js';
import type { ImportOptions, ImportResult } from './types.js';

/** One tau-bench log record. */
export interface TauBenchRecord {
  task_id?: number | string;
  reward?: number;
  trial?: number;
  info: JsonObject;
  traj: Message[];
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'object') return 'object';
  return typeof value; // string | boolean
}

/** Merges the schema observed for one more value into an inferred schema. */
function mergeInferred(schema: JsonSchemaObject | undefined, value: unknown): JsonSchemaObject {
  const t = jsonType(value);
  const out: JsonSchemaObject = schema === undefined ? {} : { ...schema };
  const types = new Set<string>(Array.isArray(out.type) ? (out.type as string[]) : typeof out.type === 'string' ? [out.type] : []);
  types.add(t);
  // An integer seen where numbers were seen is a number.
  if (types.has('number')) types.delete('integer');
  out.type = types.size === 1 ? [...types][0] : [...types].sort();
  if (t === 'array' && Array.isArray(value)) {
    let items = isObject(out.items) ? (out.items as JsonSchemaObject) : undefined;
    for (const v of value) items = mergeInferred(items, v);
    if (items !== undefined) out.items = items;
  }
  if (t === 'object' && isObject(value)) {
    const props: Record<string, JsonSchemaObject> = isObject(out.properties) ? { ...(out.properties as Record<string, JsonSchemaObject>) } : {};
    for (const [k, v] of Object.entries(value)) props[k] = mergeInferred(props[k], v);
    out.properties = props;
  }
  return out;
}

/** Minimal tool definitions inferred from the calls of a conversation (first-use order). */
export function inferTools(messages: readonly Message[]): Tool[] {
  const params = new Map<string, JsonSchemaObject>();
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const c of m.tool_calls ?? []) {
      let args: unknown;
      try {
        args = JSON.parse(c.function.arguments);
      } catch {
        args = {};
      }
      const prev = params.get(c.function.name);
      const merged = mergeInferred(prev ?? { type: 'object', properties: {} }, isObject(args) ? args : {});
      merged.type = 'object';
      params.set(c.function.name, merged);
    }
  }
  // An empty description, not none: Hermes-style templates concatenate it (`" - " + description`),
  // which fails on an undefined value in Jinja2 as well as in JS.
  return [...params].map(([name, parameters]) => ({ type: 'function', function: { name, description: '', parameters } }));
}

/** Imports one tau-bench log record. */
export function fromTauBench(record: unknown, options: ImportOptions = {}): ImportResult {
  if (!isObject(record)) return { ok: false, error: '(root): not an object' };
  const warnings: Reason[] = [];
  const msgs = normalizeOpenAIMessages(record.traj, warnings, 'traj', 'renumber');
  if (!msgs.ok) return { ok: false, error: msgs.error };
  // The user simulator ends every episode with a "###STOP###" turn: an artifact of the
  // harness, not part of the conversation, so it is dropped (with a note).
  const last = msgs.messages[msgs.messages.length - 1];
  if (last?.role === 'user' && last.content.includes('###STOP###')) {
    msgs.messages.pop();
    warnings.push({ check: 'simulator_stop', path: `traj[${msgs.messages.length}]`, message: 'trailing ###STOP### user turn of the tau-bench user simulator dropped' });
  }
  const taskId = typeof record.task_id === 'number' || typeof record.task_id === 'string' ? record.task_id : undefined;
  const trial = typeof record.trial === 'number' ? record.trial : undefined;
  const id = stableId(`taubench_${taskId ?? 'x'}_${trial ?? 0}`, record.traj);
  const first = msgs.messages[0];
  // "# Airline Agent Policy" → "airline": the only domain hint in a log.
  const domain = first?.role === 'system' ? /^#\s*(\w+)\s+Agent Policy/m.exec(first.content)?.[1]?.toLowerCase() : undefined;
  const extra: JsonObject = { tools_inferred: true };
  if (taskId !== undefined) extra.task_id = taskId;
  if (trial !== undefined) extra.trial = trial;
  if (typeof record.reward === 'number') extra.reward = record.reward;
  const draft: JsonObject = {
    id,
    source: { doc_id: options.docId ?? id },
    tools: inferTools(msgs.messages),
    messages: msgs.messages,
    meta: importMeta('taubench', warnings, extra),
  };
  if (domain !== undefined) draft.domain = domain;
  return finishImport(draft);
}

/** Exports a trajectory as a tau-bench-like log record (`info` holds provenance). */
export function toTauBench(trajectory: Trajectory): TauBenchRecord {
  const meta = trajectory.meta ?? {};
  const out: TauBenchRecord = { info: { id: trajectory.id, source: trajectory.source }, traj: trajectory.messages };
  if (typeof meta.task_id === 'number' || typeof meta.task_id === 'string') out.task_id = meta.task_id;
  if (typeof meta.reward === 'number') out.reward = meta.reward;
  if (typeof meta.trial === 'number') out.trial = meta.trial;
  return out;
}

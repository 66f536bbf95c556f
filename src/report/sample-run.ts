/**
 * A small hand-made run directory with known figures: used by the report tests, and handy
 * for trying `stats`, `report` and `view` without a model endpoint.
 *
 * variant 'run' — 3 documents → 4 segments (3 kept, 1 dropped) → 2 extractions (+1 extract
 * rejection) → 5 workflows → 4 generated (+1 generate rejection) → 3 refined + 1 refine
 * fallback → 3 passed + 1 judge rejection. Passed messages 10 / 5 / 13, distinct tools
 * 3 / 1 / 3, tool calls 3 / 1 / 4.
 * variant 'synthesize' — 3 kept segments → 3 synthesized → 2 passed + 1 validate rejection.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageFigures, UsageReport } from '../llm/usage.js';
import { RUN_FILES } from '../pipeline/run-dir.js';
import type { Extraction, Message, Rejection, Segment, Tool, Trajectory } from '../records.js';

export interface SampleRunOptions {
  variant?: 'run' | 'synthesize';
  /** Prepended to every document id (and so to every derived id): distinct shards. */
  prefix?: string;
  /** `config.shard` in run.json. */
  shard?: string;
  input?: string;
}

function tool(name: string): Tool {
  return {
    type: 'function',
    function: { name, description: `${name} tool`, parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
  };
}

let callSeq = 0;
/** An assistant turn calling `names` (in parallel when several), followed by their results. */
function calls(...names: string[]): Message[] {
  const ids = names.map(() => `call_${++callSeq}`);
  return [
    { role: 'assistant', content: null, tool_calls: names.map((n, i) => ({ id: ids[i]!, type: 'function' as const, function: { name: n, arguments: JSON.stringify({ id: 'A17' }) } })) },
    ...names.map((n, i): Message => ({ role: 'tool', tool_call_id: ids[i]!, name: n, content: JSON.stringify({ ok: true, tool: n }) })),
  ];
}

function figures(calls: number, cached: number, prompt: number, completion: number, cost: number): UsageFigures {
  return {
    calls,
    unconfirmed_calls: 0,
    cached_calls: cached,
    failed_calls: 0,
    retries: 0,
    prompt_tokens: prompt,
    completion_tokens: completion,
    unpriced_calls: 0,
    cost_usd: cost,
    saved_prompt_tokens: 0,
    saved_completion_tokens: 0,
    saved_cost_usd: 0,
    unpriced_cached_calls: 0,
  };
}

function jsonl(dir: string, file: string, records: readonly unknown[]): void {
  writeFileSync(join(dir, file), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** The user message of the first passed trajectory: it tests escaping in report and viewer. */
export const SAMPLE_HOSTILE_TEXT = 'Refund order A17 <script>alert("x")</script> & <img src=x onerror=alert(1)>';

export function writeSampleRun(dir: string, options: SampleRunOptions = {}): void {
  const p = options.prefix ?? '';
  const variant = options.variant ?? 'run';
  mkdirSync(dir, { recursive: true });
  const seg = (doc: string, index: number, keep: boolean, text: string): Segment => ({
    id: `${p}${doc}#${index}`,
    doc_id: `${p}${doc}`,
    index,
    text,
    start: 0,
    end: text.length,
    score: keep ? 0.9 : 0.1,
    keep,
    by: 'heuristic',
  });
  const segments: Segment[] =
    variant === 'run'
      ? [
          seg('d1', 0, true, 'To refund an order, log in, look up the order, then request the refund. Only delivered orders can be refunded.'),
          seg('d1', 1, false, 'Our company was founded in 1999.'),
          seg('d2', 0, true, 'Book a train: search connections, pick one, pay with a saved card.'),
          seg('d3', 0, true, 'Reset the thermostat by holding the button for five seconds.'),
        ]
      : [
          seg('d1', 0, true, 'To refund an order, log in, look up the order, then request the refund.'),
          seg('d2', 0, true, 'Book a train: search connections, pick one, pay with a saved card.'),
          seg('d3', 0, true, 'Reset the thermostat by holding the button for five seconds.'),
        ];
  const src = (doc: string, k?: number) => ({ doc_id: `${p}${doc}`, segment_id: `${p}${doc}#0`, ...(k === undefined ? {} : { workflow_index: k }) });
  const sys: Message = { role: 'system', content: 'You are the support agent of a store. Only delivered orders can be refunded.' };

  const trajA: Trajectory = {
    id: `${p}traj_a`,
    source: src('d1', 0),
    domain: 'shopping',
    tools: [tool('lookup_order'), tool('refund'), tool('get_user')],
    messages: [
      sys,
      { role: 'user', content: SAMPLE_HOSTILE_TEXT },
      ...calls('lookup_order'),
      ...calls('refund', 'get_user'),
      { role: 'assistant', content: 'The refund is on its way.' },
      { role: 'user', content: 'Thanks!' },
      { role: 'assistant', content: 'You are welcome.' },
    ],
    meta: {
      stage: 'refined',
      model: 'teacher',
      patterns: ['clarification', 'error_recovery'],
      warnings: [{ check: 'argument_provenance', path: 'messages[2].tool_calls[0]', message: 'id "A17" not found in the context' }],
      judge: { R1: 1, R2: 1, R3: 1 },
    },
  };
  const trajB: Trajectory = {
    id: `${p}traj_b`,
    source: src('d1', 1),
    domain: 'shopping',
    tools: [tool('lookup_order'), tool('get_user')],
    messages: [sys, { role: 'user', content: 'Where is my order A17?' }, ...calls('lookup_order'), { role: 'assistant', content: 'It shipped.' }],
    meta: {
      stage: 'generated',
      model: 'teacher',
      patterns: ['clarification'],
      judge: { R1: 1, R2: 1, R3: 1 },
      refine_fallback: [{ check: 'refine_empty', message: 'the rewrite returned no turns' }],
    },
  };
  const trajC: Trajectory = {
    id: `${p}traj_c`,
    source: src('d2', 0),
    domain: 'travel',
    tools: [tool('search_trains'), tool('book_train'), tool('pay'), tool('get_card')],
    messages: [
      { role: 'system', content: 'You book trains.' },
      { role: 'user', content: 'Book me the 9:00 train to Lyon.' },
      ...calls('search_trains'),
      ...calls('book_train'),
      ...calls('pay'),
      ...calls('search_trains'),
      { role: 'assistant', content: 'Booked.' },
      { role: 'user', content: 'And a return?' },
      { role: 'assistant', content: 'Which day?' },
    ],
    meta: { stage: 'refined', model: 'teacher', task_category: 'travel_and_transportation', patterns: ['multi_hop_reasoning'], judge: { R1: 1, R2: 1, R3: 1 } },
  };
  const trajE: Trajectory = {
    id: `${p}traj_e`,
    source: src('d2', 2),
    domain: 'travel',
    tools: [tool('search_trains')],
    messages: [{ role: 'system', content: 'You book trains.' }, { role: 'user', content: 'Cancel booking XYZ-UNSEEN.' }, ...calls('search_trains'), { role: 'assistant', content: 'Cancelled XYZ-UNSEEN.' }],
    meta: { stage: 'refined', model: 'teacher' },
  };
  const unrefined = (t: Trajectory, keep: number): Trajectory => ({ ...t, messages: t.messages.slice(0, keep), meta: { ...t.meta, stage: 'generated', judge: undefined } });

  const usage = (totals: UsageFigures, byStage: UsageReport['by_stage']): UsageReport => ({
    by_stage: byStage,
    by_model: { teacher: totals },
    totals,
    unpriced_models: [],
  });

  let raw: Trajectory[];
  let refined: Trajectory[] = [];
  let final: Trajectory[];
  let extractions: Extraction[] = [];
  let rejected: Rejection[];
  let runUsage: UsageReport;
  let duration: number;
  if (variant === 'run') {
    const workflow = (name: string) => ({
      name,
      description: `${name} workflow`,
      intents: [name],
      steps: [{ action: 'look up', tool: 'lookup_order', depends_on: [] }],
      execution_graph: '(lookup_order)',
      rules: ['only delivered orders can be refunded'],
    });
    extractions = [
      { id: `${p}d1#0`, source: { doc_id: `${p}d1`, segment_id: `${p}d1#0` }, domain: 'shopping', platform: 'computer', task_category: 'customer_support', rules: ['refund after delivery'], workflows: [workflow('refund'), workflow('track')], tools: trajA.tools },
      { id: `${p}d2#0`, source: { doc_id: `${p}d2`, segment_id: `${p}d2#0` }, domain: 'travel', platform: 'phone', task_category: 'travel_and_transportation', rules: [], workflows: [workflow('book'), workflow('pay'), workflow('cancel')], tools: trajC.tools },
    ];
    raw = [unrefined(trajA, 5), { ...trajB, meta: { ...trajB.meta, refine_fallback: undefined } }, unrefined(trajC, 7), unrefined(trajE, 5)];
    refined = [trajA, trajB, trajC, trajE];
    final = [trajA, trajB, trajC];
    rejected = [
      { stage: 'extract', id: `${p}d3#0`, source: { doc_id: `${p}d3`, segment_id: `${p}d3#0` }, reasons: [{ check: 'extract_no_workflow', message: 'no workflow in the text' }] },
      { stage: 'generate', id: `${p}traj_d`, source: src('d2', 1), reasons: [{ check: 'generate_empty', message: 'the teacher returned no turns' }], raw: '{"turns": []}' },
      { stage: 'judge', id: `${p}traj_e`, source: src('d2', 2), reasons: [{ check: 'judge_R1', message: 'booking id XYZ-UNSEEN is not given or derivable' }] },
    ];
    runUsage = usage(figures(12, 2, 6000, 3000, 0.06), {
      extract: { teacher: figures(3, 0, 1500, 600, 0.015) },
      generate: { teacher: figures(5, 1, 2500, 1500, 0.025) },
      refine: { teacher: figures(4, 1, 2000, 900, 0.02) },
    });
    duration = 30;
  } else {
    const s1: Trajectory = { ...trajA, id: `${p}synth_1`, source: src('d1', 0), meta: { stage: 'synthesized', model: 'synth', judge: { R1: 1, R2: 1, R3: 1 } } };
    const s2: Trajectory = { ...trajB, id: `${p}synth_2`, source: src('d2', 0), meta: { stage: 'synthesized', model: 'synth', judge: { R1: 1, R2: 1, R3: 1 } } };
    const s3: Trajectory = { ...trajE, id: `${p}synth_3`, source: src('d3', 0), meta: { stage: 'synthesized', model: 'synth' } };
    raw = [s1, s2, s3];
    final = [s1, s2];
    rejected = [{ stage: 'validate', id: `${p}synth_3`, source: src('d3', 0), reasons: [{ check: 'unknown_tool', path: 'messages[2].tool_calls[0]', message: 'search_trains is not defined' }] }];
    runUsage = usage(figures(5, 0, 2000, 1000, 0.01), {
      synthesize: { synth: figures(3, 0, 1500, 800, 0.0075) },
      judge: { synth: figures(2, 0, 500, 200, 0.0025) },
    });
    duration = 10;
  }

  jsonl(dir, RUN_FILES.segments, segments);
  if (extractions.length > 0) jsonl(dir, RUN_FILES.extractions, extractions);
  jsonl(dir, RUN_FILES.raw, raw);
  if (refined.length > 0) jsonl(dir, RUN_FILES.refined, refined);
  jsonl(dir, RUN_FILES.final, final);
  jsonl(dir, RUN_FILES.rejected, rejected);
  jsonl(dir, RUN_FILES.progress, ['d1', 'd2', 'd3'].map((d) => ({ id: `${p}${d}` })));
  const runJson = {
    gemtraj_version: '0.1.0',
    command: variant,
    input: options.input ?? 'corpus.jsonl',
    status: 'finished',
    config: { model: variant === 'run' ? 'teacher' : 'synth', ...(options.shard === undefined ? {} : { shard: options.shard }) },
    sessions: [{ started_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:00:30.000Z', duration_s: duration, status: 'finished', documents_seen: 3, documents_skipped: 0 }],
    duration_s: duration,
    counts: undefined,
    usage: runUsage,
    filter: { llm_calls_saved: 4 },
    versions: { gemtraj: '0.1.0', node: 'v20', prompts: {} },
  };
  writeFileSync(join(dir, RUN_FILES.runJson), `${JSON.stringify(runJson, null, 2)}\n`);
}

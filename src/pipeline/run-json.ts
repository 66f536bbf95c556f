/**
 * `run.json`: what a run did, for people and for `stats --compare`. Written atomically at
 * start, every few seconds while running, and at the end; a rerun on the same directory
 * appends a session and adds its usage to the totals. Holds the config but never the key.
 */
import type { Config } from '../config.js';
import type { UsageFigures, UsageReport } from '../llm/usage.js';
import type { Funnel } from './counts.js';

export interface RunSession {
  started_at: string;
  finished_at: string | undefined;
  duration_s: number;
  status: 'running' | 'finished' | 'stopped' | 'interrupted' | 'failed';
  documents_seen: number;
  documents_skipped: number;
  /** Why the session stopped early, when it did. */
  stop_reason?: string | undefined;
}

export interface RunJson {
  gemtraj_version: string;
  command: string;
  input: string;
  status: RunSession['status'];
  stop_reason?: string | undefined;
  /** Validated configuration; the API key is not in it, only the name of its variable. */
  config: Config;
  sessions: RunSession[];
  /** Wall time over all sessions, seconds. */
  duration_s: number;
  counts: Funnel | undefined;
  usage: UsageReport | undefined;
  filter: Record<string, number> | undefined;
  versions: { gemtraj: string; node: string; prompts: Record<string, string> };
}

function addFigures(a: UsageFigures, b: UsageFigures): UsageFigures {
  const out = { ...a };
  for (const key of Object.keys(b) as Array<keyof UsageFigures>) out[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return out;
}

function addMap(a: Record<string, UsageFigures> | undefined, b: Record<string, UsageFigures> | undefined): Record<string, UsageFigures> {
  const out: Record<string, UsageFigures> = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b ?? {})) out[k] = out[k] === undefined ? v : addFigures(out[k], v);
  return out;
}

/** Sums two usage reports (earlier sessions + this one). */
export function mergeUsage(previous: UsageReport | undefined, current: UsageReport): UsageReport {
  if (previous === undefined) return current;
  const byStage: UsageReport['by_stage'] = { ...previous.by_stage };
  for (const [stage, models] of Object.entries(current.by_stage)) {
    byStage[stage as keyof UsageReport['by_stage']] = addMap(byStage[stage as keyof UsageReport['by_stage']], models);
  }
  return {
    by_stage: byStage,
    by_model: addMap(previous.by_model, current.by_model),
    totals: addFigures(previous.totals, current.totals),
    unpriced_models: [...new Set([...previous.unpriced_models, ...current.unpriced_models])],
  };
}

/** Sums filter counters of two sessions. */
export function mergeCounters(a: Record<string, number> | undefined, b: Record<string, number>): Record<string, number> {
  const out = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

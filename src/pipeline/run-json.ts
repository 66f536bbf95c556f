/**
 * `run.json`: what a run did, for people and for `stats --compare`. Written atomically at
 * start, every few seconds while running, and at the end; a rerun on the same directory
 * appends a session and adds its usage to the totals. Holds the config but never the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.js';
import { HEURISTIC_VERSION } from '../filter/heuristic.js';
import { InputError } from '../io/documents.js';
import type { Gateway } from '../llm/gateway.js';
import type { UsageReport } from '../llm/usage.js';
import { StageNameSchema } from '../records.js';
import type { Funnel } from './counts.js';
import type { InputIdentity } from './input-identity.js';

export interface RunSession {
  started_at: string;
  finished_at: string | undefined;
  duration_s: number;
  /**
   * `incomplete`: every document was read but records the endpoint failed for were left for a
   * rerun (exit 3 or 4); `stopped`: the endpoint could not be used and the run stopped early.
   */
  status: 'running' | 'finished' | 'incomplete' | 'stopped' | 'interrupted' | 'failed';
  documents_seen: number;
  documents_skipped: number;
  /** Why the session stopped early, when it did. */
  stop_reason?: string | undefined;
  /** Input problems that did not reject a record (invalid UTF-8 read as U+FFFD): how many, and the first messages. */
  input_warnings?: { count: number; first: string[] } | undefined;
}

export interface RunJson {
  gemtraj_version: string;
  command: string;
  input: string;
  /** What the input was (resolved path, size, hash of its start): a resume on another corpus is refused. */
  input_identity?: InputIdentity | undefined;
  status: RunSession['status'];
  stop_reason?: string | undefined;
  /** Validated configuration; the API key is not in it, only the name of its variable. */
  config: Config;
  /** The endpoint and models actually used (after fallbacks); absent when no model was needed. */
  resolved?: ResolvedEndpoint | undefined;
  sessions: RunSession[];
  /** Wall time over all sessions, seconds. */
  duration_s: number;
  counts: Funnel | undefined;
  usage: UsageReport | undefined;
  filter: Record<string, number> | undefined;
  versions: { gemtraj: string; node: string; prompts: Record<string, string> };
  /** What decides the content of the outputs; a resume with a different one is refused. */
  fingerprint: RunFingerprint;
}

export interface ResolvedEndpoint {
  /** Base URLs called, credentials removed ({@link publicUrl}). */
  base_urls: string[];
  /** Model of every stage not in `models`. */
  model: string;
  /** Stages whose model differs from `model`. */
  models: Record<string, string>;
}

/** What a gateway calls: its URLs (public form), default model and per-stage overrides. */
export function resolvedEndpoint(gateway: Pick<Gateway, 'endpoint' | 'modelFor'>): ResolvedEndpoint {
  const { baseUrls, model } = gateway.endpoint;
  const models: Record<string, string> = {};
  for (const stage of StageNameSchema.options) if (gateway.modelFor(stage) !== model) models[stage] = gateway.modelFor(stage);
  return { base_urls: baseUrls.map(publicUrl), model, models };
}

/** run.json as read from disk: any field may be missing in an old or hand-made file. */
export type RunJsonOnDisk = Partial<Omit<RunJson, 'config' | 'sessions'>> & {
  config?: Record<string, unknown> | undefined;
  sessions?: RunSession[] | undefined;
  merged_from?: unknown;
};

const SessionSchema = z
  .object({
    started_at: z.string(),
    finished_at: z.string().optional(),
    duration_s: z.number(),
    status: z.enum(['running', 'finished', 'incomplete', 'stopped', 'interrupted', 'failed']),
    documents_seen: z.number(),
    documents_skipped: z.number(),
    stop_reason: z.string().optional(),
  })
  .passthrough();

/** The shape checked on read: what resume, merge and reports rely on; the rest passes through. */
const RunJsonOnDiskSchema = z
  .object({
    gemtraj_version: z.string().optional(),
    command: z.string().optional(),
    input: z.string().optional(),
    input_identity: z
      .object({
        path: z.string(),
        kind: z.enum(['file', 'folder']),
        size: z.number().optional(),
        mtime_ms: z.number().optional(),
        head_sha256: z.string().optional(),
      })
      .passthrough()
      .optional(),
    status: SessionSchema.shape.status.optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    sessions: z.array(SessionSchema).optional(),
    duration_s: z.number().optional(),
    fingerprint: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

/**
 * The run.json of a run directory; `undefined` when there is none. A file that is not JSON or
 * not run.json's shape is an error naming it: resuming past it would skip the settings check.
 */
export function readRunJson(dir: string): RunJsonOnDisk | undefined {
  const file = join(dir, 'run.json');
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${(error as Error).message}); fix or delete it`);
  }
  const parsed = RunJsonOnDiskSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`${file}: not a gemtraj run.json (${issue === undefined ? 'invalid' : `${issue.path.join('.') || '(root)'}: ${issue.message}`}); fix or delete it`);
  }
  return parsed.data as RunJsonOnDisk;
}

/** Settings and versions that change what a run writes (not speed, limits or paths). */
export type RunFingerprint = Record<string, unknown>;

export function runFingerprint(mode: string, config: Config, prompts: Record<string, string>): RunFingerprint {
  return {
    command: mode,
    text_field: config.text_field,
    id_field: config.id_field,
    shard: config.shard ?? null,
    segment: config.segment,
    // The built-in scorer's version with its settings: a new heuristic scores segments differently.
    filter: config.filter.scorer === 'heuristic' ? { ...config.filter, heuristic: HEURISTIC_VERSION } : config.filter,
    dedup: config.dedup,
    decontaminate: config.decontaminate,
    decontaminate_ngram: config.decontaminate_ngram,
    extract: config.extract,
    model: config.model ?? null,
    models: config.models,
    temperature: config.temperature,
    max_tokens: config.max_tokens ?? null,
    // Only what a run uses, so that a 0.2 run resumed with prompt set v1 keeps its fingerprint.
    ...(config.prompts === 'v1' ? {} : { stage_max_tokens: config.stage_max_tokens, now: config.now }),
    ...(config.reasoning_effort === undefined ? {} : { reasoning_effort: config.reasoning_effort }),
    structured_output: config.structured_output,
    refine: config.refine,
    judge: config.judge,
    judge_rubrics: config.judge_rubrics,
    validate: config.validate,
    synthesize: config.synthesize,
    prompts,
  };
}

/**
 * Keys whose values differ between two fingerprints (deep comparison through JSON). With
 * `defaults` (the fingerprint of the default config), a key the previous fingerprint lacks —
 * a setting added by a later version — matches when the current value is its default: the
 * earlier run behaved as the default does.
 */
export function fingerprintDiff(previous: RunFingerprint, current: RunFingerprint, defaults?: RunFingerprint): string[] {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const keys = new Set([...Object.keys(previous), ...Object.keys(current)]);
  return [...keys]
    .filter((k) => !same(previous[k], current[k]))
    .filter((k) => !(defaults !== undefined && !(k in previous) && k in defaults && same(defaults[k], current[k])))
    .sort();
}

/**
 * Base URLs as they may be written down: without user info or query strings, which can
 * carry credentials (`https://user:pass@host/v1`, `?api-key=…`).
 */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.username !== '' || u.password !== '' || u.search !== '';
    u.username = '';
    u.password = '';
    u.search = '';
    return hidden ? `${u.toString()} (credentials removed)` : url;
  } catch {
    return '[unparseable URL]';
  }
}

export { mergeUsage } from '../llm/usage.js';

/** Sums filter counters of two sessions. */
export function mergeCounters(a: Record<string, number> | undefined, b: Record<string, number>): Record<string, number> {
  const out = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * `gemtraj eval`: every assistant turn of every reference trajectory replayed on a model and
 * scored, on the engine (one item per turn: resume skips the turns turns.jsonl holds, endpoint failures are
 * retryable, refusals are scored wrong, progress and usage as in a run). The directory holds
 *
 *   turns.jsonl    one scored turn per line (what was expected, what came back, why wrong)
 *   summary.json   the figures (see summary.ts)
 *   eval.json      model, settings, usage and cost over all sessions
 *   rejected.jsonl input lines that could not be read; turns still pending after endpoint failures
 *   cache.sqlite   the responses: a rerun costs nothing
 *
 * A rerun on the same directory with another model or other scoring settings is refused:
 * its turns would mix two models.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config.js';
import type { FormatName } from '../formats/types.js';
import { readJsonl } from '../io/jsonl.js';
import type { Gateway } from '../llm/gateway.js';
import type { LlmClient } from '../llm/types.js';
import type { UsageReport } from '../llm/usage.js';
import type { Trajectory } from '../records.js';
import { runSteps, type SourceItem } from '../pipeline/engine.js';
import { Progress } from '../pipeline/progress.js';
import { IndexedWriter, RunDirectory } from '../pipeline/run-dir.js';
import { mergeUsage, publicUrl } from '../pipeline/run-json.js';
import { trajectorySource } from '../pipeline/sources.js';
import { evalTurnStep } from '../pipeline/steps/eval-turn.js';
import { VERSION } from '../version.js';
import type { StringMode } from './ast-match.js';
import type { TurnScore } from './score.js';
import { summarize, type EvalSummary } from './summary.js';
import { turnsOf } from './turns.js';

export const EVAL_FILES = { turns: 'turns.jsonl', summary: 'summary.json', evalJson: 'eval.json' } as const;

/** What must not change between sessions on one directory. */
export interface EvalSettings {
  model: string;
  base_urls: string[];
  temperature: number;
  max_tokens: number | null;
  strings: StringMode;
  judge_model: string | null;
}

export interface EvalOptions {
  /** Reference trajectories (gemtraj or any format `validate` imports). */
  input: string;
  from: FormatName | 'auto';
  out: string;
  /** The evaluated model's gateway. */
  gateway: Gateway;
  /** Judge of ask turns, with its own endpoint; absent = the rule-based check. */
  judge?: Gateway | undefined;
  settings: EvalSettings;
  /** Evaluate only the first N trajectories. */
  maxTrajectories?: number | undefined;
  /** Turns in flight at once. Minimum 1. */
  concurrency: number;
  quiet?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface EvalJson {
  gemtraj_version: string;
  input: string;
  settings: EvalSettings;
  status: 'finished' | 'stopped' | 'interrupted';
  stop_reason?: string | undefined;
  sessions: number;
  /** Wall time of all sessions, in seconds. */
  duration_s: number;
  usage: UsageReport | undefined;
  judge_usage?: UsageReport | undefined;
}

export interface EvalResult {
  summary: EvalSummary;
  evalJson: EvalJson;
  files: { turns: string; summary: string; evalJson: string; rejected: string };
}

function readJsonFile<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function settingsDiff(a: EvalSettings, b: EvalSettings): string[] {
  return (Object.keys(b) as Array<keyof EvalSettings>).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** Turn items of the reference file; counts each trajectory's turns into `perTrajectory`. */
async function* turnSource(options: EvalOptions, perTrajectory: Map<string, number>, scored: (id: string) => boolean): AsyncGenerator<SourceItem> {
  let read = 0;
  for await (const item of trajectorySource(options.input, options.from, new Map())) {
    if (item.kind === 'rejection') {
      yield item;
      continue;
    }
    if (options.maxTrajectories !== undefined && read >= options.maxTrajectories) return;
    read++;
    const trajectory = item.record as Trajectory;
    const turns = turnsOf(trajectory);
    perTrajectory.set(trajectory.id, turns.length);
    // turns.jsonl is what resume trusts: a turn with a line there is done.
    for (const turn of turns) if (!scored(turn.id)) yield { kind: 'record', id: turn.id, record: turn };
  }
}

/** The scored turns of a directory (first line per turn id wins). */
export async function readTurnScores(file: string): Promise<TurnScore[]> {
  const seen = new Set<string>();
  const out: TurnScore[] = [];
  if (!existsSync(file)) return out;
  for await (const entry of readJsonl(file)) {
    if (entry.error !== undefined) continue;
    const score = entry.value as TurnScore;
    if (typeof score?.id !== 'string' || seen.has(score.id)) continue;
    seen.add(score.id);
    out.push(score);
  }
  return out;
}

export async function runEval(options: EvalOptions): Promise<EvalResult> {
  const { out, gateway, settings } = options;
  if (!existsSync(options.input)) throw new ConfigError(`${options.input}: no such file`);
  const files = {
    turns: join(out, EVAL_FILES.turns),
    summary: join(out, EVAL_FILES.summary),
    evalJson: join(out, EVAL_FILES.evalJson),
    rejected: join(out, 'rejected.jsonl'),
  };
  const previous = readJsonFile<EvalJson>(files.evalJson);
  if (previous !== undefined) {
    const changed = settingsDiff(previous.settings, { ...settings, base_urls: settings.base_urls.map(publicUrl) });
    if (changed.length > 0) {
      throw new ConfigError(`${out} holds an evaluation made with other settings (${changed.join(', ')} differ); its turns would mix two runs. Use a new --out.`);
    }
  }
  const dir = new RunDirectory(out);
  await dir.open();
  const turnsFile = new IndexedWriter<TurnScore>(files.turns);
  await turnsFile.load();
  const perTrajectory = new Map<string, number>();
  const llmJudge: LlmClient | undefined = options.judge;
  const step = evalTurnStep({ temperature: settings.temperature, maxTokens: settings.max_tokens ?? undefined, strings: settings.strings, judge: llmJudge }, gateway);
  const started = Date.now();
  const progress = new Progress({
    total: undefined,
    unit: 'turns',
    quiet: options.quiet === true,
    snapshot: () => {
      const t = gateway.usage().totals;
      const j = options.judge?.usage().totals;
      return {
        calls: t.calls + (j?.calls ?? 0),
        cachedCalls: t.cached_calls + (j?.cached_calls ?? 0),
        tokens: t.prompt_tokens + t.completion_tokens + (j?.prompt_tokens ?? 0) + (j?.completion_tokens ?? 0),
        costUsd: t.cost_usd + (j?.cost_usd ?? 0),
      };
    },
  });
  progress.start();
  let status: EvalJson['status'] = 'finished';
  let stopReason: string | undefined;
  try {
    const result = await runSteps(turnSource(options, perTrajectory, (id) => turnsFile.has(id)), [step], dir, {
      mode: 'eval',
      markDone: false,
      itemConcurrency: options.concurrency,
      signal: options.signal,
      progress,
      onEvent: (event) => {
        if (event.type === 'output' && event.final && !event.resumed && event.record !== undefined) turnsFile.write(event.record as TurnScore);
      },
    });
    if (result.stoppedBy !== undefined) {
      status = 'stopped';
      stopReason = result.stoppedBy.message;
    } else if (result.interrupted) status = 'interrupted';
  } finally {
    progress.stop();
    turnsFile.close();
    dir.close();
  }
  const known = new Set(perTrajectory.keys());
  const scores = (await readTurnScores(files.turns)).filter((s) => known.has(s.trajectory_id));
  const summary = summarize(scores, { model: settings.model, input: options.input, turnsPerTrajectory: perTrajectory });
  const evalJson: EvalJson = {
    gemtraj_version: VERSION,
    input: options.input,
    settings: { ...settings, base_urls: settings.base_urls.map(publicUrl) },
    status,
    ...(stopReason !== undefined ? { stop_reason: stopReason } : {}),
    sessions: (previous?.sessions ?? 0) + 1,
    duration_s: (previous?.duration_s ?? 0) + (Date.now() - started) / 1000,
    usage: mergeUsage(previous?.usage, gateway.usage()),
    ...(options.judge !== undefined ? { judge_usage: mergeUsage(previous?.judge_usage, options.judge.usage()) } : {}),
  };
  writeJson(files.summary, summary);
  writeJson(files.evalJson, evalJson);
  return { summary, evalJson, files };
}

/** Temp file + rename: a crash never leaves half a summary. */
function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

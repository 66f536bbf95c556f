/**
 * `gemtraj merge`: combines the run directories of `--shard i/n` runs into one. First checks
 * that the shards cover the corpus exactly once (same n, every i from 0 to n-1 once, same
 * input and command), then streams every JSONL file of the run layout into the output in
 * shard order — line by line, never a whole file in memory — refusing any id that two shards
 * hold. Files are written under temporary names and renamed at the end, so a failed merge
 * leaves no half-merged run behind. run.json gets summed usage, concatenated sessions,
 * counts recomputed from the merged files, and `merged_from`.
 */
import { makeOutputDir } from '../io/durable.js';
import { createReadStream, createWriteStream, existsSync, readdirSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { UsageReport } from '../llm/usage.js';
import { computeFunnel } from '../pipeline/counts.js';
import { RUN_FILES } from '../pipeline/run-dir.js';
import { mergeCounters, mergeUsage, type RunSession } from '../pipeline/run-json.js';
import { isDirectory, readSettledRunJson, ReportError, runMode, type RunJsonOnDisk } from './run-analysis.js';

export class MergeError extends ReportError {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

export interface ShardInfo {
  dir: string;
  index: number;
  count: number;
  runJson: RunJsonOnDisk;
}

/** The JSONL files of a run, in merge order, with the key that must be unique across shards. */
export const MERGED_FILES = ['segments', 'extractions', 'raw', 'refined', 'final', 'rejected', 'progress'] as const;
export type MergedFile = (typeof MERGED_FILES)[number];

function keyOf(file: MergedFile, record: Record<string, unknown>): string | undefined {
  if (typeof record.id !== 'string') return undefined;
  // A record may be rejected once per stage: the run directory indexes rejections by stage:id.
  return file === 'rejected' ? `${String(record.stage)}:${record.id}` : record.id;
}

export interface MergeResult {
  out: string;
  shards: ShardInfo[];
  /** Lines written per file. */
  lines: Record<MergedFile, number>;
  /** Unparseable lines (torn or corrupt) left out. */
  skipped: number;
  warnings: string[];
  runJson: Record<string, unknown>;
}

const SHARD_RE = /^(\d+)\/(\d+)$/;

/** Reads every run.json and checks that the shards cover the corpus exactly once. */
export function checkShards(dirs: readonly string[]): { shards: ShardInfo[]; warnings: string[] } {
  if (dirs.length === 0) throw new MergeError('merge needs the shard run directories: gemtraj merge <dir0> <dir1> ... --out <dir>');
  const warnings: string[] = [];
  const seenDirs = new Map<string, string>();
  const shards: ShardInfo[] = [];
  for (const dir of dirs) {
    const abs = resolve(dir);
    const earlier = seenDirs.get(abs);
    if (earlier !== undefined) throw new MergeError(`${dir}: the same directory is given twice (${earlier} and ${dir})`);
    seenDirs.set(abs, dir);
    if (!isDirectory(dir)) throw new MergeError(`${dir}: not a directory`);
    const runJson = readSettledRunJson(dir);
    if (runJson === undefined) throw new MergeError(`${dir}: no run.json: not a run directory`);
    const shard = runJson.config?.shard;
    const m = typeof shard === 'string' ? SHARD_RE.exec(shard) : null;
    if (m === null) {
      throw new MergeError(`${dir}: run.json has no config.shard: merge combines runs made with --shard i/n (this one was not sharded)`);
    }
    shards.push({ dir, index: Number(m[1]), count: Number(m[2]), runJson });
  }
  const first = shards[0]!;
  for (const s of shards.slice(1)) {
    if (s.count !== first.count) {
      throw new MergeError(`mismatched shard count: ${first.dir} is shard ${first.index}/${first.count} but ${s.dir} is shard ${s.index}/${s.count}`);
    }
    if (s.runJson.command !== first.runJson.command) {
      throw new MergeError(`mismatched command: ${first.dir} is a '${String(first.runJson.command)}' run but ${s.dir} is a '${String(s.runJson.command)}' run`);
    }
    if (s.runJson.input !== first.runJson.input) {
      throw new MergeError(`mismatched input: ${first.dir} read ${JSON.stringify(first.runJson.input)} but ${s.dir} read ${JSON.stringify(s.runJson.input)}`);
    }
    if (configFingerprint(s.runJson) !== configFingerprint(first.runJson)) {
      warnings.push(`${s.dir}: its config differs from ${first.dir} beyond the shard (models, prompts or limits): the merged data mixes settings`);
    }
  }
  const byIndex = new Map<number, ShardInfo>();
  for (const s of shards) {
    const other = byIndex.get(s.index);
    if (other !== undefined) throw new MergeError(`duplicate shard ${s.index}/${s.count}: ${other.dir} and ${s.dir}`);
    byIndex.set(s.index, s);
  }
  const missing: string[] = [];
  for (let i = 0; i < first.count; i++) if (!byIndex.has(i)) missing.push(`${i}/${first.count}`);
  if (missing.length > 0) {
    throw new MergeError(
      `missing shard(s) ${missing.join(', ')}: got ${shards.map((s) => `${s.dir} (${s.index}/${s.count})`).join(', ')}; pass the run directory of every shard 0..${first.count - 1}`,
    );
  }
  for (const s of shards) {
    if (s.runJson.status !== undefined && s.runJson.status !== 'finished') {
      warnings.push(`${s.dir}: status '${s.runJson.status}': the shard did not finish; rerun its command to complete it, then merge again`);
    }
  }
  return { shards: [...shards].sort((a, b) => a.index - b.index), warnings };
}

/** The config without the keys that legitimately differ between shards. */
function configFingerprint(runJson: RunJsonOnDisk): string {
  const { shard: _shard, cache: _cache, quiet: _quiet, ...rest } = runJson.config ?? {};
  return JSON.stringify(rest, Object.keys(rest).sort());
}

async function writeLine(out: WriteStream, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await new Promise<void>((res) => out.once('drain', () => res()));
}

async function closeStream(out: WriteStream): Promise<void> {
  await new Promise<void>((res, rej) => {
    out.once('error', rej);
    out.end(() => res());
  });
}

/** Streams one file of every shard into `tmp`; throws on an id two shards hold. */
async function mergeFile(file: MergedFile, shards: ShardInfo[], tmp: string): Promise<{ lines: number; skipped: number; present: boolean }> {
  const name = RUN_FILES[file];
  // Which shard holds each key: the one map merge needs, freed after the file.
  const owner = new Map<string, number>();
  let lines = 0;
  let skipped = 0;
  let present = false;
  const out = createWriteStream(tmp);
  try {
    for (const [k, shard] of shards.entries()) {
      const path = join(shard.dir, name);
      if (!existsSync(path)) continue;
      present = true;
      const stream = createReadStream(path, { encoding: 'utf8' });
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      try {
        for await (const raw of rl) {
          const text = raw.replace(/^\uFEFF/, '').trim();
          if (text === '') continue;
          let record: unknown;
          try {
            record = JSON.parse(text);
          } catch {
            skipped++; // a torn tail or corrupt line: the run directory would drop it too
            continue;
          }
          if (record === null || typeof record !== 'object' || Array.isArray(record)) {
            skipped++;
            continue;
          }
          const key = keyOf(file, record as Record<string, unknown>);
          if (key !== undefined) {
            const prev = owner.get(key);
            if (prev !== undefined) {
              throw new MergeError(
                `duplicate id ${JSON.stringify(key)} in ${name}: held by ${shards[prev]!.dir} and ${shard.dir}; the shards overlap (were they made from different inputs or shard settings?)`,
              );
            }
            owner.set(key, k);
          }
          await writeLine(out, text);
          lines++;
        }
      } finally {
        rl.close();
        stream.destroy();
      }
    }
  } finally {
    await closeStream(out);
  }
  return { lines, skipped, present };
}

function isEmptyOrAbsent(dir: string): boolean {
  if (!existsSync(dir)) return true;
  if (!isDirectory(dir)) throw new MergeError(`--out ${dir}: exists and is not a directory`);
  return readdirSync(dir).length === 0;
}

/** Merges the shard run directories `dirs` into `out` (absent or empty). */
export async function mergeRuns(dirs: readonly string[], out: string): Promise<MergeResult> {
  const { shards, warnings } = checkShards(dirs);
  const outAbs = resolve(out);
  for (const s of shards) if (resolve(s.dir) === outAbs) throw new MergeError(`--out ${out} is one of the shards: choose a new directory`);
  if (!isEmptyOrAbsent(out)) throw new MergeError(`--out ${out}: directory is not empty; merge writes a new run directory`);
  const created = !existsSync(out);
  makeOutputDir(out);

  const temps: string[] = [];
  const lines = {} as Record<MergedFile, number>;
  let skipped = 0;
  const present: MergedFile[] = [];
  try {
    for (const file of MERGED_FILES) {
      const tmp = join(out, `${RUN_FILES[file]}.merging`);
      temps.push(tmp);
      const r = await mergeFile(file, shards, tmp);
      lines[file] = r.lines;
      skipped += r.skipped;
      if (r.present) present.push(file);
    }
  } catch (error) {
    for (const t of temps) rmSync(t, { force: true });
    if (created) rmSync(out, { recursive: true, force: true });
    throw error;
  }
  for (const file of MERGED_FILES) {
    const tmp = join(out, `${RUN_FILES[file]}.merging`);
    // A file no shard had stays absent, as it would in a single run.
    if (present.includes(file)) renameSync(tmp, join(out, RUN_FILES[file]));
    else rmSync(tmp, { force: true });
  }
  if (skipped > 0) warnings.push(`${skipped} unreadable line(s) (torn or corrupt) left out`);

  const first = shards[0]!.runJson;
  const mode = runMode(out, first);
  let usage: UsageReport | undefined;
  let filter: Record<string, number> | undefined;
  const sessions: RunSession[] = [];
  for (const s of shards) {
    if (s.runJson.usage !== undefined && s.runJson.usage !== null) usage = mergeUsage(usage, s.runJson.usage);
    if (s.runJson.filter !== undefined && s.runJson.filter !== null) filter = mergeCounters(filter, s.runJson.filter);
    sessions.push(...(s.runJson.sessions ?? []));
  }
  const { shard: _shard, ...config } = first.config ?? {};
  const unfinished = shards.find((s) => s.runJson.status !== undefined && s.runJson.status !== 'finished');
  const runJson: Record<string, unknown> = {
    gemtraj_version: first.gemtraj_version,
    command: first.command,
    input: first.input,
    status: unfinished?.runJson.status ?? 'finished',
    config,
    sessions,
    // Sum over shards: machine time, not the elapsed time of shards that ran side by side.
    duration_s: shards.reduce((sum, s) => sum + (typeof s.runJson.duration_s === 'number' ? s.runJson.duration_s : 0), 0),
    counts: await computeFunnel(out, mode),
    usage,
    filter,
    versions: first.versions,
    merged_from: shards.map((s) => ({
      dir: s.dir,
      shard: `${s.index}/${s.count}`,
      status: s.runJson.status,
      duration_s: s.runJson.duration_s,
    })),
  };
  const tmp = join(out, `${RUN_FILES.runJson}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(runJson, null, 2)}\n`);
  renameSync(tmp, join(out, RUN_FILES.runJson));
  return { out, shards, lines, skipped, warnings, runJson };
}

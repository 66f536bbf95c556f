/**
 * `gemtraj validate <file> --out <dir>`: rule checks (and the LLM judge unless --no-judge) on
 * gemtraj trajectories or foreign tool-use datasets. Passed records go to
 * `<dir>/trajectories.jsonl`, every rejection with all its reasons to `<dir>/rejected.jsonl`.
 * Exit 0 whenever the input was readable: rejections are data. A malformed line is a
 * rejection with its line number, not a crash. Reruns skip records already decided. Records the
 * judge could not decide because its endpoint failed exit 3 (it never answered) or 4
 * (incomplete), as `run` does.
 */
import { existsSync } from 'node:fs';
import { checkRecordFile } from '../io/record-file.js';
import { loadSegmentTexts } from '../io/segment-texts.js';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, PROVENANCE_MODES } from '../config.js';
import { describeDefault } from '../config-docs.js';
import { FORMAT_NAMES } from '../formats/detect.js';
import type { FormatName } from '../formats/types.js';
import type { Gateway } from '../llm/gateway.js';
import type { Reason, Trajectory } from '../records.js';
import { runSteps, type EngineEvent } from '../pipeline/engine.js';
import { buildPipeline } from '../pipeline/pipelines.js';
import { RunDirectory, RUN_FILES } from '../pipeline/run-dir.js';
import { trajectorySource } from '../pipeline/sources.js';
import { stepOptions } from '../pipeline/steps/options.js';
import { VALIDATE_CHECK_IDS, type CheckId } from '../validate/index.js';
import { addModelOptions, flagsToConfig, openGateway, type CommonFlags } from './common.js';
import { gatewaysExit, watchFailures } from './endpoint-exit.js';

/** `validate`'s own defaults: any well-formed conversation passes unless told otherwise. */
const VALIDATE_COMMAND_DEFAULTS = { min_distinct_tools: 0, min_tool_calls: 0, min_messages: 0, min_user_turns: 0 };

interface ValidateFlags extends CommonFlags {
  out: string;
  from: FormatName | 'auto';
  judge: boolean;
  json?: boolean;
  provenance?: 'off' | 'warn' | 'reject';
  minDistinctTools?: number;
  minToolCalls?: number;
  minMessages?: number;
  minUserTurns?: number;
  skip?: string;
  sources?: string;
  decontaminate?: string[];
}

export interface ValidateSummary {
  input: string;
  read: number;
  passed: number;
  rejected: number;
  /** Records skipped because an earlier run on the same --out decided them. */
  already_done: number;
  /** Rejections by check id (a record counts once per distinct check). */
  by_check: Record<string, number>;
  /** Warnings by check id on passed records. */
  warnings: Record<string, number>;
  /**
   * Records left undecided because the judge's endpoint failed after its retries (not in
   * `rejected`): a rerun on the same --out judges them.
   */
  retryable: number;
  /** Set when `retryable` > 0: the exit status (3 never answered, 4 incomplete) and its message. */
  endpoint?: { code: number; message: string };
  out: { passed: string; rejected: string };
}

const count = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer ≥ 0`);
  return n;
};

function parseSkip(value: string | undefined): CheckId[] {
  if (value === undefined) return [];
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) {
    if (!(VALIDATE_CHECK_IDS as readonly string[]).includes(id)) {
      throw new ConfigError(`--skip: unknown check "${id}"; checks are ${VALIDATE_CHECK_IDS.join(', ')}`);
    }
  }
  return ids as CheckId[];
}


export function registerValidate(program: Command): void {
  const cmd = program
    .command('validate')
    .description('rule checks (+ LLM judge) on trajectories in gemtraj or a foreign format → <out>/trajectories.jsonl + rejected.jsonl')
    .argument('<file>', 'JSONL (one record per line) or a JSON array file, plain, .gz or .zst; or a Parquet file')
    .requiredOption('--out <dir>', 'output directory')
    .addOption(new Option('--from <format>', 'input format').choices(['auto', ...FORMAT_NAMES]).default('auto'))
    .option('--no-judge', 'rule checks only (no model needed)')
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--provenance <mode>', `argument_provenance: warn, reject or off ${describeDefault('validate.provenance')}`).choices([...PROVENANCE_MODES]))
    .option('--min-distinct-tools <n>', 'complexity: fewest distinct tools called (default 0, or validate.min_distinct_tools of --config)', count('--min-distinct-tools'))
    .option('--min-tool-calls <n>', 'complexity: fewest tool calls (default 0)', count('--min-tool-calls'))
    .option('--min-messages <n>', 'complexity: fewest messages (default 0)', count('--min-messages'))
    .option('--min-user-turns <n>', 'complexity: fewest user turns (default 0)', count('--min-user-turns'))
    .option('--decontaminate <files...>', 'benchmark files (JSONL, JSON, text): reject trajectories that share a 13-word sequence with them (put it after <file>)')
    .option('--skip <checks>', `comma-separated check ids not to run (${VALIDATE_CHECK_IDS.join(', ')})`)
    .option('--sources <segments.jsonl>', 'source texts for the judge\'s rule-faithfulness rubric (default: segments.jsonl next to the input)');
  addModelOptions(cmd).action(async (file: string, flags: ValidateFlags) => {
    const summary = await runValidate(file, flags);
    if (flags.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else process.stdout.write(`${formatSummary(summary)}\n`);
    if (summary.endpoint !== undefined) {
      process.stderr.write(`gemtraj: ${summary.endpoint.message}\n`);
      process.exitCode = summary.endpoint.code;
    }
  });
}

export async function runValidate(file: string, flags: ValidateFlags): Promise<ValidateSummary> {
  if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
  checkRecordFile(file);
  const complexity = {
    min_distinct_tools: flags.minDistinctTools,
    min_tool_calls: flags.minToolCalls,
    min_messages: flags.minMessages,
    min_user_turns: flags.minUserTurns,
    provenance: flags.provenance,
  };
  // `validate` accepts any well-formed conversation unless told otherwise: its complexity
  // minimums default to 0 and parallel calls are allowed (real logs make them), under the
  // config file and the flags.
  const config = loadConfig({
    file: flags.config,
    env: process.env,
    base: { validate: VALIDATE_COMMAND_DEFAULTS, parallel_calls: 'allow' },
    flags: flagsToConfig(flags, { judge: flags.judge === false ? false : undefined, validate: complexity, decontaminate: flags.decontaminate }),
  });
  let gateway: Gateway | undefined;
  if (config.judge) {
    try {
      gateway = openGateway(config, flags.out);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`${error.message}\n(or run the rule checks alone with --no-judge)`);
      throw error;
    }
  }
  const sources = await loadSegmentTexts(flags.sources ?? join(dirname(file), RUN_FILES.segments));
  const dir = new RunDirectory(flags.out);
  await dir.open();
  dir.ensureFiles(['final', 'rejected']);
  const summary: ValidateSummary = {
    input: file,
    read: 0,
    passed: 0,
    rejected: 0,
    already_done: 0,
    by_check: {},
    warnings: {},
    retryable: 0,
    out: { passed: dir.files.final, rejected: dir.files.rejected },
  };
  const tally = (into: Record<string, number>, reasons: readonly Reason[]): void => {
    for (const check of new Set(reasons.map((r) => r.check))) into[check] = (into[check] ?? 0) + 1;
  };
  const onEvent = (event: EngineEvent): void => {
    if (event.type === 'item') summary.read++;
    else if (event.type === 'rejected') {
      if (event.rejection.retryable === true) summary.retryable++;
      else if (event.resumed) summary.already_done++;
      else {
        summary.rejected++;
        tally(summary.by_check, event.rejection.reasons);
      }
    } else if (event.final) {
      if (event.resumed) summary.already_done++;
      else {
        summary.passed++;
        tally(summary.warnings, (event.record as Trajectory).meta?.warnings ?? []);
      }
    }
  };
  const lastFailure = watchFailures(gateway);
  const steps = buildPipeline('validate', { config, llm: gateway, validate: { ...stepOptions(config).validate, skip: parseSkip(flags.skip) } });
  try {
    await runSteps(trajectorySource(file, flags.from, sources), steps, dir, {
      mode: 'validate',
      itemConcurrency: Math.max(4, config.concurrency * 2),
      markDone: false,
      onEvent,
    });
  } finally {
    dir.close();
    await gateway?.close();
  }
  const incomplete = gatewaysExit(summary.retryable, [gateway], lastFailure());
  if (incomplete !== undefined) summary.endpoint = incomplete;
  return summary;
}

export function formatSummary(s: ValidateSummary): string {
  const lines = [
    `${s.read} record(s) read from ${s.input}: ${s.passed} passed, ${s.rejected} rejected${s.already_done > 0 ? `, ${s.already_done} already decided by an earlier run` : ''}` +
      (s.retryable > 0 ? `, ${s.retryable} left undecided (the judge's endpoint failed: rerun the same command to judge them)` : ''),
  ];
  const table = (title: string, counts: Record<string, number>): void => {
    const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    if (rows.length === 0) return;
    lines.push(title, ...rows.map(([check, n]) => `  ${check.padEnd(22)} ${n}`));
  };
  table('rejections by check (records):', s.by_check);
  table('warnings on passed records:', s.warnings);
  lines.push(`passed: ${s.out.passed}`, `rejected: ${s.out.rejected}`);
  return lines.join('\n');
}

/**
 * `gemtraj validate <file> --out <dir>`: rule checks (and the LLM judge unless --no-judge) on
 * gemtraj trajectories or foreign tool-use datasets. Passed records go to
 * `<dir>/trajectories.jsonl`, every rejection with all its reasons to `<dir>/rejected.jsonl`.
 * Exit 0 whenever the input was readable: rejections are data. A malformed line is a
 * rejection with its line number, not a crash. Reruns skip records already decided.
 */
import { existsSync } from 'node:fs';
import { loadSegmentTexts } from '../io/segment-texts.js';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config.js';
import { FORMAT_NAMES, readForeign } from '../formats/detect.js';
import type { FormatName } from '../formats/types.js';
import type { Gateway } from '../llm/gateway.js';
import { RequestRejectedError, TransientEndpointError } from '../llm/errors.js';
import type { Reason, Trajectory } from '../records.js';
import { BoundedRunner } from '../pipeline/pool.js';
import { RunDirectory, RUN_FILES } from '../pipeline/run-dir.js';
import { judgeTrajectory } from '../stages/judge.js';
import { VALIDATE_CHECK_IDS, validateTrajectory, type CheckId, type ValidateOptions } from '../validate/index.js';
import { addModelOptions, configFromFlags, openGateway, type CommonFlags } from './common.js';

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
    .argument('<file>', 'JSONL (one record per line) or a JSON array file')
    .requiredOption('--out <dir>', 'output directory')
    .addOption(new Option('--from <format>', 'input format').choices(['auto', ...FORMAT_NAMES]).default('auto'))
    .option('--no-judge', 'rule checks only (no model needed)')
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--provenance <mode>', 'argument_provenance: warn (default), reject or off').choices(['off', 'warn', 'reject']))
    .option('--min-distinct-tools <n>', 'complexity: fewest distinct tools called (default 0)', count('--min-distinct-tools'))
    .option('--min-tool-calls <n>', 'complexity: fewest tool calls (default 0)', count('--min-tool-calls'))
    .option('--min-messages <n>', 'complexity: fewest messages (default 0)', count('--min-messages'))
    .option('--min-user-turns <n>', 'complexity: fewest user turns (default 0)', count('--min-user-turns'))
    .option('--skip <checks>', `comma-separated check ids not to run (${VALIDATE_CHECK_IDS.join(', ')})`)
    .option('--sources <segments.jsonl>', 'source texts for the judge\'s rule-faithfulness rubric (default: segments.jsonl next to the input)');
  addModelOptions(cmd).action(async (file: string, flags: ValidateFlags) => {
    const summary = await runValidate(file, flags);
    if (flags.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else process.stdout.write(`${formatSummary(summary)}\n`);
  });
}

export async function runValidate(file: string, flags: ValidateFlags): Promise<ValidateSummary> {
  if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
  const config = configFromFlags(flags, { judge: flags.judge === false ? false : undefined });
  const options: ValidateOptions = {
    // Defaults accept any well-formed conversation: complexity minimums are opt-in here.
    complexity: {
      minDistinctTools: flags.minDistinctTools ?? 0,
      minToolCalls: flags.minToolCalls ?? 0,
      minMessages: flags.minMessages ?? 0,
      minUserTurns: flags.minUserTurns ?? 0,
    },
    argumentProvenance: flags.provenance ?? 'warn',
    skip: parseSkip(flags.skip),
  };
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
  const summary: ValidateSummary = {
    input: file,
    read: 0,
    passed: 0,
    rejected: 0,
    already_done: 0,
    by_check: {},
    warnings: {},
    out: { passed: dir.files.final, rejected: dir.files.rejected },
  };
  const tally = (into: Record<string, number>, reasons: Reason[]): void => {
    for (const check of new Set(reasons.map((r) => r.check))) into[check] = (into[check] ?? 0) + 1;
  };
  const reject = (stage: 'validate' | 'judge' | 'import', id: string, source: Trajectory['source'] | undefined, reasons: Reason[], retryable?: boolean): void => {
    dir.reject({ stage, id, source, reasons, ...(retryable === true ? { retryable } : {}) });
    summary.rejected++;
    tally(summary.by_check, reasons);
  };
  const runner = new BoundedRunner(Math.max(4, config.concurrency * 2));
  // Ids are content hashes: an id met twice in this input is a duplicate record.
  const seenNow = new Set<string>();
  try {
    for await (const record of readForeign(file, flags.from)) {
      summary.read++;
      const where = `${file}:${record.line}`;
      if (!record.result.ok) {
        if (dir.rejectedAt('import', where)) summary.already_done++;
        else reject('import', where, undefined, [{ check: 'import', message: `${where}: ${record.result.error}` }]);
        continue;
      }
      const trajectory = record.result.trajectory;
      const id = trajectory.id;
      if (seenNow.has(id)) {
        if (dir.rejectedAt('import', where)) summary.already_done++;
        else reject('import', where, trajectory.source, [{ check: 'duplicate_record', message: `${where}: same content as an earlier record (id ${id})` }]);
        continue;
      }
      seenNow.add(id);
      if (dir.s.final.has(id) || dir.rejectedAt('validate', id) || dir.rejectedAt('judge', id)) {
        summary.already_done++;
        continue;
      }
      const result = validateTrajectory(trajectory, options);
      if (result.errors.length > 0) {
        reject('validate', id, trajectory.source, result.errors);
        continue;
      }
      let passed: Trajectory = result.warnings.length > 0 ? { ...trajectory, meta: { ...trajectory.meta, warnings: result.warnings } } : trajectory;
      if (gateway === undefined) {
        dir.s.final.write(passed);
        summary.passed++;
        tally(summary.warnings, result.warnings);
        continue;
      }
      const llm = gateway;
      await runner.run(async () => {
        try {
          const sourceText = trajectory.source.segment_id === undefined ? undefined : sources.get(trajectory.source.segment_id);
          const judged = await judgeTrajectory(passed, { sourceText, requiredRubrics: config.judge_rubrics }, llm);
          if (!judged.ok) {
            reject('judge', id, trajectory.source, judged.reasons);
            return;
          }
          passed = { ...passed, meta: { ...passed.meta, judge: judged.verdict } };
          dir.s.final.write(passed);
          summary.passed++;
          tally(summary.warnings, result.warnings);
        } catch (error) {
          if (error instanceof RequestRejectedError) reject('judge', id, trajectory.source, [{ check: error.check, message: error.message }]);
          else if (error instanceof TransientEndpointError) reject('judge', id, trajectory.source, [{ check: 'llm_unavailable', message: error.message }], true);
          else throw error;
        }
      });
      if (runner.error !== undefined) break;
    }
    await runner.drain();
    if (runner.error !== undefined) throw runner.error;
  } finally {
    dir.close();
    await gateway?.close();
  }
  return summary;
}

export function formatSummary(s: ValidateSummary): string {
  const lines = [
    `${s.read} record(s) read from ${s.input}: ${s.passed} passed, ${s.rejected} rejected${s.already_done > 0 ? `, ${s.already_done} already decided by an earlier run` : ''}`,
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

/**
 * `gemtraj stats <trajectories.jsonl | run dir> [--json]` and `gemtraj stats --compare A B`:
 * shape figures of a dataset against the paper's; for a run directory also the funnel,
 * judge rates, usage and cost.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { checkRecordFile } from '../io/record-file.js';
import { formatFunnel } from '../pipeline/counts.js';
import { compareRuns, formatComparison } from '../report/compare.js';
import { analyzeRun, formatJudge, formatUsage, isDirectory, ReportError, type RunAnalysis } from '../report/run-analysis.js';
import { compareToPaper, computeStats, formatStats } from '../report/stats.js';

interface StatsFlags {
  json?: boolean;
  compare?: string[];
}

/** A run analysis as printed by `--json` (run.json itself is left out: it is on disk). */
function runJsonOutput(a: RunAnalysis): Record<string, unknown> {
  return {
    kind: 'run',
    dir: a.dir,
    command: a.command,
    funnel: a.funnel,
    stats: a.stats,
    raw_stats: a.rawStats ?? null,
    paper: compareToPaper(a.stats, a.rawStats),
    judge: a.judge,
    usage: a.usage ?? null,
    duration_s: a.duration_s ?? null,
  };
}

function runText(a: RunAnalysis): string {
  return [
    `${a.dir} (${a.command})`,
    formatFunnel(a.funnel),
    '',
    formatStats(a.stats, a.rawStats, { judge: false, refine: a.funnel.steps.some((s) => s.step === 'refine') }),
    formatJudge(a.judge),
    '',
    formatUsage(a.usage, a.duration_s),
  ].join('\n');
}

/** Runs the command; writes to `out` (stdout by default). */
export async function executeStats(input: string | undefined, flags: StatsFlags, out: (text: string) => void = (t) => process.stdout.write(t)): Promise<void> {
  const asJson = flags.json === true;
  const print = (value: unknown, text: string): void => out(`${asJson ? JSON.stringify(value, null, 2) : text}\n`);
  if (flags.compare !== undefined) {
    if (flags.compare.length !== 2) throw new ReportError(`--compare takes two run directories, got ${flags.compare.length}`);
    const [a, b] = await Promise.all(flags.compare.map((d) => analyzeRun(d))) as [RunAnalysis, RunAnalysis];
    const comparison = compareRuns(a, b);
    print({ kind: 'compare', ...comparison, runs: [runJsonOutput(a), runJsonOutput(b)] }, formatComparison(comparison));
    return;
  }
  if (input === undefined) throw new ReportError('stats needs a trajectories JSONL file or a run directory (or --compare <dirA> <dirB>)');
  if (isDirectory(input)) {
    const a = await analyzeRun(input);
    print(runJsonOutput(a), runText(a));
    return;
  }
  if (!existsSync(input)) throw new ReportError(`${input}: no such file or directory`);
  checkRecordFile(input);
  const stats = await computeStats(input);
  print({ kind: 'trajectories', file: input, stats, paper: compareToPaper(stats) }, formatStats(stats));
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('shape figures of a dataset (vs the paper); for a run directory also funnel, judge rates, usage and cost')
    .argument('[input]', 'trajectories JSONL file or run directory')
    .option('--json', 'machine-readable output')
    .option('--compare <dirs...>', 'two run directories side by side (e.g. a full run and a synthesize run), per kept trajectory')
    .action(async (input: string | undefined, flags: StatsFlags) => {
      await executeStats(input, flags);
    });
}

/**
 * `gemtraj split <trajectories> --test 0.05 --out DIR`: train/test by source document,
 * stratified by domain, deterministic by seed → DIR/train.jsonl, DIR/test.jsonl, DIR/split.json.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { FORMAT_NAMES } from '../formats/detect.js';
import type { FormatName } from '../formats/types.js';
import { formatSplit, splitTrajectories } from '../eval/split.js';

interface SplitFlags {
  out: string;
  test: number;
  seed: number;
  from: FormatName | 'auto';
  json?: boolean;
}

const positive = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (n >= 1 && !Number.isInteger(n))) {
    throw new InvalidArgumentError('expected a share in (0, 1) or a whole number of trajectories ≥ 1');
  }
  return n;
};

const seedArg = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0');
  return n;
};

export function registerSplit(program: Command): void {
  program
    .command('split')
    .description('train/test split by source document, stratified by domain → <out>/train.jsonl, test.jsonl, split.json')
    .argument('<trajectories>', 'trajectories JSONL (gemtraj, or any format validate imports)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--test <share>', 'test share of the trajectories in (0, 1), or a number of trajectories (default 0.05)', positive, 0.05)
    .option('--seed <n>', 'seed of the document order (default 0)', seedArg, 0)
    .addOption(new Option('--from <format>', 'input format').choices(['auto', ...FORMAT_NAMES]).default('auto'))
    .option('--json', 'print the summary as JSON')
    .action(async (input: string, flags: SplitFlags) => {
      const summary = await splitTrajectories({ input, from: flags.from, out: flags.out, test: flags.test, seed: flags.seed });
      process.stdout.write(`${flags.json === true ? JSON.stringify(summary, null, 2) : formatSplit(summary)}\n`);
    });
}

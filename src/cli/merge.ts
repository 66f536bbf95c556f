/** `gemtraj merge <dirs...> --out <dir>`: combine the run directories of `--shard i/n` runs. */
import { Command } from 'commander';
import { formatFunnel, type Funnel } from '../pipeline/counts.js';
import { mergeRuns, MERGED_FILES } from '../report/merge.js';
import { RUN_FILES } from '../pipeline/run-dir.js';
import { runMode } from '../report/run-analysis.js';

interface MergeFlags {
  out: string;
  quiet?: boolean;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine shard run directories (made with --shard i/n) into one; checks that they cover the corpus exactly once')
    .argument('<dirs...>', 'the run directory of every shard 0..n-1')
    .requiredOption('--out <dir>', 'new run directory (absent or empty)')
    .option('--quiet', 'print nothing but errors')
    .action(async (dirs: string[], flags: MergeFlags) => {
      const result = await mergeRuns(dirs, flags.out);
      for (const w of result.warnings) process.stderr.write(`gemtraj: warning: ${w}\n`);
      if (flags.quiet === true) return;
      const files = MERGED_FILES.filter((f) => result.lines[f] > 0).map((f) => `${RUN_FILES[f]} ${result.lines[f]}`);
      process.stdout.write(
        `merged ${result.shards.length} shard(s) into ${result.out}: ${files.join(', ')}\n` +
          `${formatFunnel(result.runJson.counts as Funnel)}\n`,
      );
    });
}

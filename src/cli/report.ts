/** `gemtraj report <dir>` → `<dir>/report.html`, a self-contained page (no script, no external asset). */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_REPORT_SAMPLES, writeReport } from '../report/html.js';

interface ReportFlags {
  out?: string;
  samples?: number;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('--samples must be an integer ≥ 0');
  return n;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write <dir>/report.html: funnel, rejections, shape histograms, usage and cost, sample trajectories')
    .argument('<dir>', 'run directory')
    .option('--out <file>', 'write the page here instead of <dir>/report.html')
    .option('--samples <n>', `sample trajectories to show (default ${DEFAULT_REPORT_SAMPLES})`, count)
    .action(async (dir: string, flags: ReportFlags) => {
      const { path } = await writeReport(dir, { out: flags.out, samples: flags.samples });
      process.stdout.write(`${path}\n`);
    });
}

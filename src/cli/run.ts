/**
 * `gemtraj run`, `gemtraj synthesize` and `gemtraj filter <input>`: flags → config → pipeline.
 * One function serves the three; they differ in the steps they build.
 */
import { Command, Option } from 'commander';
import { ConfigError, FILTER_MODES } from '../config.js';
import { describeDefault } from '../config-docs.js';
import { EXIT_ENDPOINT, EXIT_INTERRUPTED } from '../errors.js';
import { registerFilter } from './filter.js';
import { formatFunnel } from '../pipeline/counts.js';
import { estimateRun, formatEstimate } from '../pipeline/estimate.js';
import type { CorpusMode } from '../pipeline/pipelines.js';
import { runCorpusSession } from '../pipeline/session.js';
import { checkRunOut } from '../pipeline/run-dir.js';
import { listInputFiles } from '../io/documents.js';
import { addInputOptions, addModelOptions, configFromFlags, openGateway, type CommonFlags } from './common.js';

export interface RunFlags extends CommonFlags {
  out: string;
  refine?: boolean;
  judge?: boolean;
  estimate?: boolean;
  filter?: string;
  scorer?: string;
  maxWorkflows?: number;
  allowConfigChange?: boolean;
  allowInputChange?: boolean;
}


export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description('all stages: segment, filter, extract, generate, refine, validate → <out>/trajectories.jsonl')
    .argument('<input>', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .requiredOption('--out <dir>', 'run directory (rerun the same command to resume)')
    .option('--no-refine', 'skip complexity refinement')
    .option('--no-judge', 'skip the LLM judge (rule checks still run)')
    .option('--estimate', 'print the calls and tokens the run would take, without calling a model')
    .addOption(new Option('--filter <mode>', `relevance filter ${describeDefault('filter.mode')}`).choices([...FILTER_MODES]))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE')
    .option('--allow-config-change', 'resume a run directory made with other settings (outputs will be mixed)')
    .option('--allow-input-change', 'resume a run directory made from another corpus (datasets will be mixed)');
  addModelOptions(addInputOptions(run)).action(async (input: string, flags: RunFlags) => {
    process.exitCode = await executeRun('run', input, flags);
  });

  const synth = program
    .command('synthesize')
    .description('segment, filter, then one call per kept segment to a fine-tuned Trajectory Synthesizer; validate')
    .argument('<input>', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .requiredOption('--out <dir>', 'run directory (rerun the same command to resume)')
    .option('--no-judge', 'skip the LLM judge (rule checks still run)')
    .addOption(new Option('--filter <mode>', `relevance filter ${describeDefault('filter.mode')}`).choices([...FILTER_MODES]))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE')
    .option('--allow-config-change', 'resume a run directory made with other settings (outputs will be mixed)')
    .option('--allow-input-change', 'resume a run directory made from another corpus (datasets will be mixed)');
  addModelOptions(addInputOptions(synth)).action(async (input: string, flags: RunFlags) => {
    process.exitCode = await executeRun('synthesize', input, flags);
  });

  // `gemtraj filter <input> --out <dir>` shares its command with `filter train|eval`.
  const filter = registerFilter(program)
    .argument('[input]', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .option('--out <dir>', 'run directory: writes <dir>/segments.jsonl')
    .addOption(new Option('--filter <mode>', `local (no model call), llm, or cascade ${describeDefault('filter.mode')}`).choices([...FILTER_MODES]))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE');
  addModelOptions(addInputOptions(filter)).action(async (input: string | undefined, flags: RunFlags) => {
    if (input === undefined || flags.out === undefined) {
      throw new ConfigError('usage: gemtraj filter <input> --out <dir> [--filter local|llm|cascade]   (or: gemtraj filter train|eval --labels FILE)');
    }
    process.exitCode = await executeRun('filter', input, flags);
  });
}

/** Config keys a run's own flags set. */
function runConfigFlags(flags: RunFlags): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (flags.filter !== undefined) filter.mode = flags.filter;
  if (flags.scorer !== undefined) filter.scorer = flags.scorer;
  return {
    refine: flags.refine === false ? false : undefined,
    judge: flags.judge === false ? false : undefined,
    filter: Object.keys(filter).length > 0 ? filter : undefined,
  };
}

/** Signals that stop a run gracefully (a second one quits at once). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs a pipeline command; returns the exit code. */
export async function executeRun(mode: CorpusMode, input: string, flags: RunFlags): Promise<number> {
  const config = configFromFlags(flags, runConfigFlags(flags));
  if (flags.estimate === true) {
    const estimate = await estimateRun(input, config, mode);
    process.stdout.write(`${formatEstimate(estimate)}\n`);
    return 0;
  }
  const needsModel = mode !== 'filter' || config.filter.mode !== 'local';
  // Before the gateway creates its cache in --out: a missing input or a foreign folder is
  // refused with nothing left behind (no run.lock, no empty cache.sqlite).
  listInputFiles(input);
  checkRunOut(flags.out);
  // Resolve the endpoint before touching the run directory: a missing model stops here.
  const gateway = needsModel ? openGateway(config, flags.out) : undefined;
  const abort = new AbortController();
  // SIGTERM and SIGHUP are how schedulers (Slurm, Kubernetes, systemd) and closed terminals
  // stop a job: the same graceful stop as Ctrl-C, so run.json is written and the lock freed.
  const onSignal = (): void => {
    if (abort.signal.aborted) process.exit(EXIT_INTERRUPTED);
    abort.abort();
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  let result;
  try {
    result = await runCorpusSession({
      mode,
      input,
      out: flags.out,
      config,
      gateway,
      allowConfigChange: flags.allowConfigChange === true,
      allowInputChange: flags.allowInputChange === true,
      signal: abort.signal,
      log: (message) => {
        if (!config.quiet) process.stderr.write(`${message}\n`);
      },
    });
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
    await gateway?.close();
  }
  const { runJson, files } = result;
  const funnel = runJson.counts;
  if (!config.quiet && funnel !== undefined) {
    process.stderr.write(`${formatFunnel(funnel)}\n`);
    const usage = runJson.usage?.totals;
    if (usage !== undefined) {
      process.stderr.write(
        `calls ${usage.calls} paid + ${usage.cached_calls} cached, tokens ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion, cost $${usage.cost_usd.toFixed(4)}\n`,
      );
    }
    const saved = runJson.filter?.llm_calls_saved;
    if (saved !== undefined) process.stderr.write(`filter: the local scorer decided ${saved} segment(s) without a model call\n`);
    process.stderr.write(mode === 'filter' ? `segments: ${files.segments}\n` : `dataset: ${files.final}\n`);
  }
  if (runJson.status === 'stopped') {
    process.stderr.write(`gemtraj: stopped: ${runJson.stop_reason ?? ''}\nNothing already done is lost: fix the cause and rerun the same command to resume.\n`);
    return EXIT_ENDPOINT;
  }
  return runJson.status === 'interrupted' ? EXIT_INTERRUPTED : 0;
}

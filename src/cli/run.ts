/**
 * `gemtraj run`, `gemtraj synthesize` and `gemtraj filter <input>`: flags → config → pipeline.
 * One function serves the three; they differ in the steps they build.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, DEDUP_MODES, FILTER_MODES, REPAIRED_CALLS_MODES, type Config } from '../config.js';
import { describeDefault } from '../config-docs.js';
import { EXIT_ENDPOINT, EXIT_INTERRUPTED } from '../errors.js';
import { registerFilter } from './filter.js';
import { reportGatewaysExit, watchFailures } from './endpoint-exit.js';
import { batchModeConfig } from '../llm/batch-from-config.js';
import { resolveEndpoint } from '../llm/from-config.js';
import { BATCH_JOURNAL_FILE, BatchJournal } from '../llm/batch-journal.js';
import { formatCost } from '../llm/usage.js';
import { formatFunnel } from '../pipeline/counts.js';
import { estimateRun, formatEstimate } from '../pipeline/estimate.js';
import type { CorpusMode } from '../pipeline/pipelines.js';
import { formatPilotEstimate, pilotEstimate } from '../pipeline/pilot.js';
import { checkResume, runCorpusSession } from '../pipeline/session.js';
import { truncationSummary } from '../pipeline/truncation.js';
import { addInputOptions, addModelOptions, checkOneInput, configFromFlags, INPUT_ARGUMENT_HELP, openGateway, type CommonFlags } from './common.js';
import { checkRunOut, RunDirectory } from '../pipeline/run-dir.js';
import { listInputFiles } from '../io/documents.js';
import { checkRecordFile } from '../io/record-file.js';

export interface RunFlags extends CommonFlags {
  out: string;
  refine?: boolean;
  judge?: boolean;
  estimate?: boolean;
  batch?: boolean;
  pilot?: number;
  filter?: string;
  scorer?: string;
  maxWorkflows?: number;
  allowConfigChange?: boolean;
  repairedCalls?: string;
  allowInputChange?: boolean;
  dedup?: string;
  decontaminate?: string[];
}

/** `--dedup` and `--decontaminate`, for the commands that read a corpus. */
function addCleaningOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--dedup <mode>', `duplicate segments removed before the filter: off, exact or near ${describeDefault('dedup.mode')}`).choices([...DEDUP_MODES]))
    .option('--decontaminate <files...>', 'benchmark files (JSONL, JSON, text): reject segments and trajectories that share a 13-word sequence with them (put it after <input>)');
}


export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description('all stages: segment, filter, extract, generate, refine, validate → <out>/trajectories.jsonl')
    .argument('<input>', INPUT_ARGUMENT_HELP)
    .requiredOption('--out <dir>', 'run directory (rerun the same command to resume)')
    .option('--no-refine', 'skip complexity refinement')
    .option('--no-judge', 'skip the LLM judge (rule checks still run)')
    .option('--estimate', 'print the calls and tokens the run would take, without calling a model')
    .option('--batch', 'send requests through the Batch API (about half price, answers within 24 h); rerun to resume polling')
    .option('--pilot <n>', 'with --estimate: run the first N documents for real (cached) and extrapolate from them', pilotCount)
    .addOption(new Option('--filter <mode>', `relevance filter ${describeDefault('filter.mode')}`).choices([...FILTER_MODES]))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE')
    .option('--allow-config-change', 'resume a run directory made with other settings (outputs will be mixed)')
    .option('--allow-input-change', 'resume a run directory made from another corpus (datasets will be mixed)');
  addModelOptions(addInputOptions(addCleaningOptions(run))).action(async (input: string, flags: RunFlags, cmd: Command) => {
    checkOneInput(cmd);
    process.exitCode = await executeRun('run', input, flags);
  });

  const synth = program
    .command('synthesize')
    .description('segment, filter, then one call per kept segment to a fine-tuned Trajectory Synthesizer; validate')
    .argument('<input>', INPUT_ARGUMENT_HELP)
    .requiredOption('--out <dir>', 'run directory (rerun the same command to resume)')
    .option('--no-judge', 'skip the LLM judge (rule checks still run)')
    .option('--batch', 'send requests through the Batch API (about half price, answers within 24 h); rerun to resume polling')
    .addOption(new Option('--filter <mode>', `relevance filter ${describeDefault('filter.mode')}`).choices([...FILTER_MODES]))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE')
    .addOption(
      new Option('--repaired-calls <mode>', `a tool call whose JSON had to be repaired: warn or reject ${describeDefault('synthesize.repaired_calls')}`).choices([...REPAIRED_CALLS_MODES]),
    )
    .option('--allow-config-change', 'resume a run directory made with other settings (outputs will be mixed)')
    .option('--allow-input-change', 'resume a run directory made from another corpus (datasets will be mixed)');
  addModelOptions(addInputOptions(addCleaningOptions(synth))).action(async (input: string, flags: RunFlags, cmd: Command) => {
    checkOneInput(cmd);
    process.exitCode = await executeRun('synthesize', input, flags);
  });

  // `gemtraj filter <input> --out <dir>` shares its command with `filter train|eval`.
  const filter = registerFilter(program)
    .argument('[input]', INPUT_ARGUMENT_HELP)
    .option('--out <dir>', 'run directory: writes <dir>/segments.jsonl')
    .addOption(new Option('--filter <mode>', `local (no model call), llm, or cascade ${describeDefault('filter.mode')}`).choices([...FILTER_MODES]))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE');
  addModelOptions(addInputOptions(addCleaningOptions(filter))).action(async (input: string | undefined, flags: RunFlags, cmd: Command) => {
    checkOneInput(cmd);
    if (input === undefined || flags.out === undefined) {
      throw new ConfigError('usage: gemtraj filter <input> --out <dir> [--filter local|llm|cascade]   (or: gemtraj filter train|eval --labels FILE)');
    }
    process.exitCode = await executeRun('filter', input, flags);
  });
}

function pilotCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--pilot must be an integer ≥ 1');
  return n;
}

/** Config keys a run's own flags set. */
export function runConfigFlags(flags: RunFlags): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (flags.filter !== undefined) filter.mode = flags.filter;
  if (flags.scorer !== undefined) filter.scorer = flags.scorer;
  return {
    refine: flags.refine === false ? false : undefined,
    judge: flags.judge === false ? false : undefined,
    filter: Object.keys(filter).length > 0 ? filter : undefined,
    synthesize: flags.repairedCalls !== undefined ? { repaired_calls: flags.repairedCalls } : undefined,
    batch: flags.batch === true ? { enabled: true } : undefined,
    dedup: flags.dedup !== undefined ? { mode: flags.dedup } : undefined,
    decontaminate: flags.decontaminate,
  };
}

/** Signals that stop a run gracefully (a second one quits at once). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs a pipeline command; returns the exit code. */
export async function executeRun(mode: CorpusMode, input: string, flags: RunFlags): Promise<number> {
  // Batch mode keeps a whole wave pending: it replaces `concurrency` for the engine too.
  const config = batchModeConfig(configFromFlags(flags, runConfigFlags(flags)));
  if (flags.estimate === true && flags.pilot !== undefined) return runPilot(mode, input, flags, config);
  if (flags.pilot !== undefined) throw new ConfigError('--pilot goes with --estimate: gemtraj run <input> --out <dir> --estimate --pilot 20');
  if (flags.estimate === true) {
    const estimate = await estimateRun(input, config, mode);
    process.stdout.write(`${formatEstimate(estimate)}\n`);
    return 0;
  }
  const needsModel = mode !== 'filter' || config.filter.mode !== 'local';
  checkRunTarget(input, flags, config);
  // Resolve the endpoint before touching the run directory: a missing model stops here.
  const gateway = needsModel ? openGateway(config, flags.out, true) : undefined;
  const lastFailure = watchFailures(gateway);
  const abort = new AbortController();
  const stopListening = listenForStop(abort);
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
    stopListening();
    await gateway?.close();
  }
  const { runJson, files } = result;
  const funnel = runJson.counts;
  if (!config.quiet && funnel !== undefined) {
    process.stderr.write(`${formatFunnel(funnel)}\n`);
    for (const line of truncationSummary(funnel, config)) process.stderr.write(`${line}\n`);
    const usage = runJson.usage?.totals;
    if (usage !== undefined) {
      process.stderr.write(
        `calls ${usage.calls} paid + ${usage.cached_calls} cached, tokens ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion, cost ${formatCost(usage)}\n`,
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
  if (runJson.status === 'interrupted') return EXIT_INTERRUPTED;
  return reportGatewaysExit(funnel?.retryable ?? 0, [gateway], lastFailure());
}

/**
 * Before anything is written into --out (no run.lock, no empty cache.sqlite): a missing input,
 * a foreign folder, or a live run over batches still open is refused.
 */
function checkRunTarget(input: string, flags: RunFlags, config: Config): void {
  listInputFiles(input);
  if (statSync(input, { throwIfNoEntry: false })?.isFile() === true) checkRecordFile(input, 'a corpus file (JSON Lines, JSON, CSV, Parquet, WET or text)');
  checkRunOut(flags.out);
  if (!config.batch.enabled && flags.allowConfigChange !== true) refuseLiveOverOpenBatches(flags.out);
}

/**
 * SIGINT, SIGTERM and SIGHUP abort `abort` (a graceful stop: what is in flight finishes, run.json
 * is written, the lock freed); a second one quits at once. SIGTERM and SIGHUP are how schedulers
 * (Slurm, Kubernetes, systemd) and closed terminals stop a job. Returns the function that stops
 * listening. `note`: said on the first signal.
 */
function listenForStop(abort: AbortController, note?: string): () => void {
  const onSignal = (): void => {
    if (abort.signal.aborted) process.exit(EXIT_INTERRUPTED);
    if (note !== undefined) process.stderr.write(`${note}\n`);
    abort.abort();
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return () => {
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
  };
}

/**
 * A live run over a directory whose batches are still open would pay again for every request
 * in them (the provider bills the batch when it completes): refused, unless the user says so.
 */
function refuseLiveOverOpenBatches(out: string): void {
  const file = join(out, BATCH_JOURNAL_FILE);
  if (!existsSync(file)) return;
  const journal = new BatchJournal(file);
  let summary;
  try {
    summary = journal.summary();
  } finally {
    journal.close();
  }
  if (summary.open === 0 || summary.submitted === 0) return;
  throw new ConfigError(
    `${out}: ${summary.submitted} request(s) are in ${summary.open} batch(es) still open at the provider, which bills them when they complete; a live run would pay for them again. Rerun with --batch to collect them, or add --allow-config-change to run live anyway.`,
  );
}

/**
 * `--estimate --pilot N`. The pilot writes into the run directory's cache and usage ledger (its
 * answers and paid calls are the run's), so the directory is checked and locked as a run's:
 * the same corpus and settings, no live pilot over open batches, no other process in it.
 */
async function runPilot(mode: CorpusMode, input: string, flags: RunFlags, config: Config): Promise<number> {
  const pilot = flags.pilot as number;
  checkRunTarget(input, flags, config);
  const dir = new RunDirectory(flags.out);
  const previous = dir.readRunJson();
  checkResume(flags.out, previous, { mode, input, config, allowConfigChange: flags.allowConfigChange, allowInputChange: flags.allowInputChange });
  // A missing model or key stops here, before the folder is made.
  resolveEndpoint(config);
  dir.holdLock();
  const abort = new AbortController();
  let estimate;
  let gateway;
  let lastFailure: () => string | undefined = () => undefined;
  const stopListening = listenForStop(abort, 'gemtraj: interrupted: stopping the pilot (again to quit at once)');
  try {
    // The run's cache and usage ledger: the pilot's answers and paid calls belong to the run.
    gateway = openGateway(config, flags.out, true);
    lastFailure = watchFailures(gateway);
    // A ledger started by the pilot takes the usage an older run.json recorded without one.
    gateway.runUsage(previous?.usage);
    estimate = await pilotEstimate({ mode, input, out: flags.out, config, gateway, pilot, allowConfigChange: flags.allowConfigChange === true, signal: abort.signal });
  } finally {
    stopListening();
    try {
      await gateway?.close();
    } finally {
      dir.close();
    }
  }
  if (estimate.status === 'interrupted') {
    process.stderr.write('gemtraj: pilot interrupted: no estimate (its answers so far are cached).\n');
    return EXIT_INTERRUPTED;
  }
  // A pilot whose calls failed measured the failures: no estimate, the run's exit code.
  if (estimate.status === 'stopped') {
    process.stderr.write(`gemtraj: pilot stopped: ${estimate.stop_reason ?? ''}\nNo estimate: fix the cause and run the pilot again (its answers so far are cached).\n`);
    return EXIT_ENDPOINT;
  }
  const failed = reportGatewaysExit(estimate.retryable, [gateway], lastFailure());
  if (failed !== 0) {
    process.stderr.write(`gemtraj: no estimate: ${estimate.retryable} pilot document(s) failed.\n`);
    return failed;
  }
  process.stdout.write(`${formatPilotEstimate(estimate)}\n`);
  return 0;
}

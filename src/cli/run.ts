/**
 * `gemtraj run`, `gemtraj synthesize` and `gemtraj filter <input>`: flags → config → pipeline.
 * One function serves the three; they differ in the steps they build.
 */
import { Command, Option } from 'commander';
import { ConfigError, type Config } from '../config.js';
import { registerFilter } from './filter.js';
import type { Gateway } from '../llm/gateway.js';
import { countInputRecords, readDocuments } from '../io/documents.js';
import { computeFunnel, filterCallsSaved, formatFunnel } from '../pipeline/counts.js';
import { estimateRun, formatEstimate } from '../pipeline/estimate.js';
import { Progress } from '../pipeline/progress.js';
import { RunDirectory } from '../pipeline/run-dir.js';
import { fingerprintDiff, mergeUsage, publicUrl, runFingerprint, type RunJson, type RunSession } from '../pipeline/run-json.js';
import { runPipeline } from '../pipeline/run.js';
import { buildSteps, type StepsMode } from '../pipeline/steps.js';
import { parseShard } from '../config.js';
import { PROMPT_VERSIONS } from '../prompts/index.js';
import { addInputOptions, addModelOptions, configFromFlags, openGateway, type CommonFlags } from './common.js';
import { VERSION } from '../version.js';

export interface RunFlags extends CommonFlags {
  out: string;
  refine?: boolean;
  judge?: boolean;
  estimate?: boolean;
  filter?: string;
  scorer?: string;
  maxWorkflows?: number;
  allowConfigChange?: boolean;
}

/** Exit code when the endpoint cannot be used (bad key, quota, unknown model, error storm). */
export const EXIT_ENDPOINT = 3;

export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description('all stages: segment, filter, extract, generate, refine, validate → <out>/trajectories.jsonl')
    .argument('<input>', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .requiredOption('--out <dir>', 'run directory (rerun the same command to resume)')
    .option('--no-refine', 'skip complexity refinement')
    .option('--no-judge', 'skip the LLM judge (rule checks still run)')
    .option('--estimate', 'print the calls and tokens the run would take, without calling a model')
    .addOption(new Option('--filter <mode>', 'relevance filter (default cascade)').choices(['local', 'llm', 'cascade']))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE')
    .option('--allow-config-change', 'resume a run directory made with other settings (outputs will be mixed)');
  addModelOptions(addInputOptions(run)).action(async (input: string, flags: RunFlags) => {
    process.exitCode = await executeRun('run', input, flags);
  });

  const synth = program
    .command('synthesize')
    .description('segment, filter, then one call per kept segment to a fine-tuned Trajectory Synthesizer; validate')
    .argument('<input>', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .requiredOption('--out <dir>', 'run directory (rerun the same command to resume)')
    .option('--no-judge', 'skip the LLM judge (rule checks still run)')
    .addOption(new Option('--filter <mode>', 'relevance filter (default cascade)').choices(['local', 'llm', 'cascade']))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE')
    .option('--allow-config-change', 'resume a run directory made with other settings (outputs will be mixed)');
  addModelOptions(addInputOptions(synth)).action(async (input: string, flags: RunFlags) => {
    process.exitCode = await executeRun('synthesize', input, flags);
  });

  // `gemtraj filter <input> --out <dir>` shares its command with `filter train|eval`.
  const filter = registerFilter(program)
    .argument('[input]', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .option('--out <dir>', 'run directory: writes <dir>/segments.jsonl')
    .addOption(new Option('--filter <mode>', 'local (no model call), llm, or cascade (default)').choices(['local', 'llm', 'cascade']))
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

/** Runs a pipeline command; returns the exit code. */
export async function executeRun(mode: StepsMode, input: string, flags: RunFlags): Promise<number> {
  const config = configFromFlags(flags, runConfigFlags(flags));
  if (flags.estimate === true) {
    const estimate = await estimateRun(input, config, mode);
    process.stdout.write(`${formatEstimate(estimate)}\n`);
    return 0;
  }
  const needsModel = mode !== 'filter' || config.filter.mode !== 'local';
  // Resolve the endpoint before touching the run directory: a missing model stops here.
  const gateway = needsModel ? openGateway(config, flags.out) : undefined;
  try {
    return await runWithGateway(mode, input, flags.out, config, gateway, flags.allowConfigChange === true);
  } finally {
    await gateway?.close();
  }
}

async function runWithGateway(
  mode: StepsMode,
  input: string,
  out: string,
  config: Config,
  gateway: Gateway | undefined,
  allowConfigChange: boolean,
): Promise<number> {
  const dir = new RunDirectory(out);
  const previous = dir.readRunJson() as Partial<RunJson> | undefined;
  const fingerprint = runFingerprint(mode, config, PROMPT_VERSIONS);
  if (previous?.fingerprint !== undefined && !allowConfigChange) {
    const changed = fingerprintDiff(previous.fingerprint, fingerprint);
    if (changed.length > 0) {
      throw new ConfigError(
        `${out} holds a run made with other settings (${changed.join(', ')} differ); resuming would mix their outputs.\n` +
          'Use a new --out, rerun with the same settings, or pass --allow-config-change to continue anyway.',
      );
    }
  }
  const resume = await dir.open();
  const startedAt = new Date();
  const steps = await buildSteps(config, gateway, mode);
  const log = (message: string): void => {
    if (!config.quiet) process.stderr.write(`${message}\n`);
  };
  if (resume.resumed) {
    log(`resuming ${out}: ${dir.s.progress.ids.size} document(s) already done${resume.retried > 0 ? `, ${resume.retried} endpoint failure(s) to retry` : ''}${resume.repaired > 0 ? `, ${resume.repaired} torn line(s) dropped` : ''}`);
  }
  const total = config.quiet ? undefined : await countInputRecords(input);
  const progress = new Progress({
    total,
    quiet: config.quiet,
    snapshot: () => {
      const t = gateway?.usage().totals;
      return {
        calls: t?.calls ?? 0,
        cachedCalls: t?.cached_calls ?? 0,
        tokens: (t?.prompt_tokens ?? 0) + (t?.completion_tokens ?? 0),
        costUsd: t?.cost_usd ?? 0,
      };
    },
  });

  const session: RunSession = {
    started_at: startedAt.toISOString(),
    finished_at: undefined,
    duration_s: 0,
    status: 'running',
    documents_seen: 0,
    documents_skipped: 0,
  };
  const writeRunJson = async (final: boolean): Promise<void> => {
    session.duration_s = (Date.now() - startedAt.getTime()) / 1000;
    const sessions = [...(previous?.sessions ?? []), session];
    const counts = final ? await computeFunnel(out, mode) : previous?.counts;
    const runJson: RunJson = {
      gemtraj_version: VERSION,
      command: mode,
      input,
      status: session.status,
      stop_reason: session.stop_reason,
      config: { ...config, base_urls: config.base_urls.map(publicUrl) },
      sessions,
      duration_s: sessions.reduce((sum, s) => sum + s.duration_s, 0),
      counts,
      usage: gateway !== undefined ? mergeUsage(previous?.usage, gateway.usage()) : previous?.usage,
      // From the segments on disk, so that resumed sessions do not count a segment twice.
      filter: counts === undefined ? previous?.filter : { ...counts.decided_by, llm_calls_saved: filterCallsSaved(counts) },
      versions: { gemtraj: VERSION, node: process.version, prompts: PROMPT_VERSIONS },
      // A resume with --allow-config-change keeps the first fingerprint: outputs are mixed.
      fingerprint: previous?.fingerprint ?? fingerprint,
    };
    dir.writeRunJson(runJson);
  };
  await writeRunJson(false);
  const heartbeat = setInterval(() => void writeRunJson(false).catch(() => undefined), 15_000);
  heartbeat.unref();

  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    progress.log('interrupted: finishing the work in flight (Ctrl-C again to quit at once); rerun the same command to resume');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  progress.start();
  let code = 0;
  try {
    const result = await runPipeline(
      readDocuments(input, { textField: config.text_field, idField: config.id_field }),
      steps,
      dir,
      { mode, documentConcurrency: Math.max(4, config.concurrency * 2), segmentConcurrency: Math.max(4, config.concurrency * 2), maxDocs: config.max_docs, shard: parseShard(config.shard), signal: abort.signal },
      progress,
    );
    session.documents_seen = result.documentsSeen;
    session.documents_skipped = result.documentsSkipped;
    if (result.stoppedBy !== undefined) {
      session.status = 'stopped';
      session.stop_reason = result.stoppedBy.message;
      code = EXIT_ENDPOINT;
    } else if (result.interrupted) {
      session.status = 'interrupted';
      code = 130;
    } else session.status = 'finished';
  } catch (error) {
    session.status = 'failed';
    session.stop_reason = (error as Error).message;
    throw error;
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    clearInterval(heartbeat);
    session.finished_at = new Date().toISOString();
    dir.close();
    await writeRunJson(true);
  }
  const runJson = dir.readRunJson() as RunJson | undefined;
  const funnel = runJson?.counts;
  if (!config.quiet && funnel !== undefined) {
    process.stderr.write(`${formatFunnel(funnel, mode)}\n`);
    const usage = runJson?.usage?.totals;
    if (usage !== undefined) {
      process.stderr.write(
        `calls ${usage.calls} paid + ${usage.cached_calls} cached, tokens ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion, cost $${usage.cost_usd.toFixed(4)}\n`,
      );
    }
    const saved = runJson?.filter?.llm_calls_saved;
    if (saved !== undefined) process.stderr.write(`filter: the local scorer decided ${saved} segment(s) without a model call\n`);
    process.stderr.write(mode === 'filter' ? `segments: ${dir.files.segments}\n` : `dataset: ${dir.files.final}\n`);
  }
  if (session.stop_reason !== undefined && session.status === 'stopped') {
    process.stderr.write(`gemtraj: stopped: ${session.stop_reason}\nNothing already done is lost: fix the cause and rerun the same command to resume.\n`);
  }
  return code;
}

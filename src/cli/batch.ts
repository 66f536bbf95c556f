/**
 * `gemtraj batch export` and `gemtraj batch import`: offline batches for a GPU machine that runs
 * `vllm run-batch` (or any tool that reads and writes Batch API files). Export runs the pipeline
 * until it waits on model answers and writes that wave of requests; import loads the answers
 * into the response cache; export again goes on from the cache to the next wave, until the run
 * is complete.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, FILTER_MODES } from '../config.js';
import { EXIT_BAD_INPUT, EXIT_ENDPOINT, GemtrajError } from '../errors.js';
import { JsonlWriter } from '../io/jsonl.js';
import { describeDefault } from '../config-docs.js';
import { ExportBackend } from '../llm/batch-export.js';
import { BATCH_JOURNAL_FILE, BatchJournal } from '../llm/batch-journal.js';
import { BATCH_REFUSED_FILE, importBatchOutput, refusalsOf } from '../llm/batch-import.js';
import { DEFAULT_CACHE_FILE, ResponseCache } from '../llm/cache.js';
import { gatewayFromConfig } from '../llm/from-config.js';
import { formatFunnel } from '../pipeline/counts.js';
import type { CorpusMode } from '../pipeline/pipelines.js';
import { readRunJson } from '../pipeline/run-json.js';
import { runCorpusSession } from '../pipeline/session.js';
import { addInputOptions, addModelOptions, configFromFlags, type CommonFlags } from './common.js';
import { runConfigFlags, type RunFlags } from './run.js';

/** Default name of the exported requests inside the run directory. */
export const BATCH_REQUESTS_FILE = 'batch-requests.jsonl';

interface ExportFlags extends RunFlags {
  file?: string;
  pipeline: CorpusMode;
}

interface ImportFlags extends CommonFlags {
  out?: string;
  requests?: string;
}

export function registerBatch(program: Command): void {
  const batch = program.command('batch').description('offline batches: export requests as a Batch API file (vllm run-batch), import the answers');
  const exp = batch
    .command('export')
    .description('run until the pipeline waits on answers; write that wave of requests as Batch API JSONL')
    .argument('<input>', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .requiredOption('--out <dir>', 'run directory (the same for every export and import)')
    .option('--file <path>', `where to write the requests (default <out>/${BATCH_REQUESTS_FILE})`)
    .addOption(new Option('--pipeline <command>', 'which pipeline the requests are for').choices(['run', 'synthesize']).default('run'))
    .option('--no-refine', 'skip complexity refinement')
    .option('--no-judge', 'skip the LLM judge (rule checks still run)')
    .addOption(new Option('--filter <mode>', `relevance filter ${describeDefault('filter.mode')}`).choices([...FILTER_MODES]))
    .option('--scorer <scorer>', 'local scorer: heuristic or model:FILE')
    .option('--allow-config-change', 'resume a run directory made with other settings (outputs will be mixed)');
  addModelOptions(addInputOptions(exp)).action(async (input: string, flags: ExportFlags) => {
    process.exitCode = await executeExport(input, flags);
  });

  const imp = batch
    .command('import')
    .description('load the answers of a Batch API output file into the response cache of a run directory')
    .argument('<output>', 'output JSONL of vllm run-batch or a provider\'s batch')
    .option('--out <dir>', 'run directory whose cache receives the answers (the cache its exports read: the one its run.json names, else <out>/cache.sqlite)')
    .option('--requests <file>', `the exported requests the answers are for (default <out>/${BATCH_REQUESTS_FILE}); lines for other requests are skipped`)
    .option('--model <name>', 'model to record for answers that name none')
    .option('--cache <file>', `response cache file ${describeDefault('cache')}`)
    .option('--config <file>', 'config file (JSON or YAML)')
    .option('--quiet', 'no summary');
  imp.action((output: string, flags: ImportFlags) => {
    process.exitCode = executeImport(output, flags);
  });

  batch
    .command('forget')
    .description('give up a --batch batch the provider has lost for good: its requests go into the next wave (and are paid again if the provider still runs it)')
    .argument('<batch>', 'the batch id (the provider\'s batch_…, or gemtraj\'s gemtraj-…) the run named')
    .requiredOption('--out <dir>', 'run directory of the --batch run')
    .action((id: string, flags: { out: string }) => {
      process.exitCode = executeForget(id, flags.out);
    });
}

function executeForget(id: string, out: string): number {
  const file = join(out, BATCH_JOURNAL_FILE);
  if (!existsSync(file)) throw new GemtrajError(`${file}: no batch journal here; give the run directory of the --batch run (--out).`, EXIT_BAD_INPUT);
  const journal = new BatchJournal(file);
  try {
    const forgotten = journal.forget(id);
    if (forgotten === undefined) {
      const ids = journal.open().map((b) => b.remote ?? b.local).join(', ');
      throw new GemtrajError(`${file}: no open batch ${id}${ids === '' ? ' (none is open)' : `; open: ${ids}`}`, EXIT_BAD_INPUT);
    }
    process.stderr.write(`batch ${id} forgotten: its ${forgotten} request(s) go into the next wave of \`gemtraj run … --batch\`.\n`);
    return 0;
  } finally {
    journal.close();
  }
}

async function executeExport(input: string, flags: ExportFlags): Promise<number> {
  const loaded = configFromFlags(flags, runConfigFlags(flags));
  // A whole wave is collected, as in batch mode. The cache is recorded by its absolute path:
  // import, run from another folder, finds it through run.json.
  const config = { ...loaded, concurrency: loaded.batch.wave_size, ...(typeof loaded.cache === 'string' ? { cache: resolve(loaded.cache) } : {}) };
  const file = flags.file ?? join(flags.out, BATCH_REQUESTS_FILE);
  // Lines an import found refused for good: their records are rejected, not exported again.
  const refusedFile = join(flags.out, BATCH_REFUSED_FILE);
  const refused = existsSync(refusedFile) ? refusalsOf(readFileSync(refusedFile, 'utf8'), refusedFile, () => config.model ?? 'unknown') : undefined;
  const backend = new ExportBackend({ file, collectMs: config.batch.collect_ms, refused });
  // The ledger makes run.json's usage exact over the loop's many processes, kills included.
  const gateway = gatewayFromConfig(config, { outDir: flags.out, backend, usageLedger: true, offline: true });
  const say = (message: string): void => {
    if (!config.quiet) process.stderr.write(`${message}\n`);
  };
  let result;
  try {
    result = await runCorpusSession({
      mode: flags.pipeline,
      input,
      out: flags.out,
      config,
      gateway,
      allowConfigChange: flags.allowConfigChange === true,
      log: say,
      waves: true,
    });
  } finally {
    await gateway.close();
  }
  const exported = backend.exported;
  if (exported !== undefined) {
    const model = config.model ?? '<model>';
    process.stdout.write(`${file}\n`);
    say(
      `${exported} requests written to ${file}. On the GPU machine:\n` +
        `  vllm run-batch -i ${file} -o results.jsonl --model ${model}\n` +
        `then: gemtraj batch import results.jsonl --out ${flags.out}\n` +
        'and run this export command again for the next wave (it says when the run is complete).',
    );
    return 0;
  }
  const funnel = result.runJson.counts;
  if (funnel !== undefined) say(formatFunnel(funnel));
  if (result.runJson.status === 'stopped') {
    process.stderr.write(`gemtraj: stopped: ${result.runJson.stop_reason ?? ''}\n`);
    return 3;
  }
  say(`nothing left to export: the run is complete. dataset: ${result.files.final}`);
  return 0;
}

function executeImport(output: string, flags: ImportFlags): number {
  const config = configFromFlags(flags);
  if (!existsSync(output)) throw new GemtrajError(`${output}: no such file (the output file of vllm run-batch or of a provider's batch)`, EXIT_BAD_INPUT);
  const cachePath = config.cache === false ? undefined : config.cache ?? (flags.out !== undefined ? cacheOfRun(flags.out) : undefined);
  if (cachePath === undefined) throw new ConfigError('batch import needs the run directory (--out) or the cache file (--cache) to load the answers into.');
  // What the export wrote: answers for anything else are not this run's (a mistyped --out would
  // otherwise make a new folder and report success).
  const requestsFile = flags.requests ?? (flags.out !== undefined ? join(flags.out, BATCH_REQUESTS_FILE) : undefined);
  if (requestsFile !== undefined && !existsSync(requestsFile)) {
    throw new GemtrajError(
      `${requestsFile}: no exported requests here; give the run directory \`gemtraj batch export\` wrote to (--out), or the file it wrote (--requests).`,
      EXIT_BAD_INPUT,
    );
  }
  const exported = requestsFile === undefined ? undefined : exportedRequests(requestsFile);
  const cache = new ResponseCache(cachePath);
  try {
    const summary = importBatchOutput(output, cache, { exported, fallbackModel: config.model ?? 'unknown' });
    // In the run directory, where the next export reads them (without --out they are only said).
    if (summary.refused.length > 0 && flags.out !== undefined) {
      const writer = new JsonlWriter(join(flags.out, BATCH_REFUSED_FILE));
      try {
        for (const line of summary.refused) writer.write(JSON.parse(line));
        writer.sync();
      } finally {
        writer.close();
      }
    }
    if (!config.quiet) {
      const others = Object.entries(summary.otherModels).map(([model, n]) => `${n} by ${model}`);
      process.stderr.write(
        `imported ${summary.answered} answers into ${cachePath}` +
          (summary.failed > 0 ? `; ${summary.failed} failed lines (the next export asks for them again)` : '') +
          (summary.refused.length > 0
            ? `; ${summary.refused.length} refused by the endpoint for good (${flags.out !== undefined ? `recorded in ${join(flags.out, BATCH_REFUSED_FILE)}: their records are rejected at the next export; delete it to ask again` : 'not recorded without --out: the next export asks for them again'})`
            : '') +
          (summary.fatal > 0 ? `; ${summary.fatal} failed for the endpoint's own reason (a wrong model, a key, a quota)` : '') +
          (summary.errors.length > 0 ? `: ${summary.errors.join('; ')}` : '') +
          (summary.repeated > 0 ? `; ${summary.repeated} lines for requests already answered skipped` : '') +
          (summary.foreign > 0 ? `; ${summary.foreign} lines for requests this export did not write skipped (another run's output?)` : '') +
          (summary.unreadable > 0 ? `; ${summary.unreadable} unreadable lines skipped` : '') +
          '\n',
      );
      if (others.length > 0) process.stderr.write(`gemtraj: note: answers by another model than the export asked for: ${others.join(', ')}\n`);
    }
    if (summary.fatal > 0) {
      process.stderr.write(`gemtraj: ${summary.fatal} line(s) failed for the endpoint's own reason: fix the endpoint (model name, key, quota) and run the batch again; the next export asks for them again.\n`);
      return EXIT_ENDPOINT;
    }
    return summary.answered === 0 && summary.failed === 0 && summary.refused.length === 0 ? 1 : 0;
  } finally {
    cache.close();
  }
}

/**
 * The cache the export of run directory `out` reads (its run.json's config: `--cache` or the
 * config's `cache`), else `<out>/cache.sqlite`: answers loaded anywhere else would be asked
 * for again by every export.
 */
function cacheOfRun(out: string): string {
  const cache = readRunJson(out)?.config?.cache;
  if (typeof cache !== 'string' || cache === '') return join(out, DEFAULT_CACHE_FILE);
  if (!existsSync(cache)) {
    throw new GemtrajError(`${join(out, 'run.json')}: the cache its export read, ${cache}, does not exist here; give it with --cache.`, EXIT_BAD_INPUT);
  }
  return cache;
}

/** custom_id → the model asked for, of an exported requests file. */
function exportedRequests(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as { custom_id?: unknown; body?: { model?: unknown } };
      if (typeof parsed.custom_id === 'string') out.set(parsed.custom_id, typeof parsed.body?.model === 'string' ? parsed.body.model : 'unknown');
    } catch {
      // A line that is not JSON names no request.
    }
  }
  return out;
}

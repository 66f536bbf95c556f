/**
 * `run()`: the programmatic `gemtraj run` (and `synthesize`, `filter`). The same session as the
 * command line — resume, the response cache, run.json — without the terminal: no progress
 * lines unless `config.quiet` is `false`, no signal handlers (pass `signal` to stop).
 */
import { loadConfig, type Config, type ConfigInput } from './config.js';
import { gatewayFromConfig } from './llm/from-config.js';
import type { ModelBackend } from './llm/backend.js';
import type { Funnel } from './pipeline/counts.js';
import type { CorpusMode } from './pipeline/pipelines.js';
import type { RunJson } from './pipeline/run-json.js';
import { runCorpusSession } from './pipeline/session.js';
import { checkRunOut } from './pipeline/run-dir.js';

export interface RunOptions {
  /** Corpus: a JSONL file, a .txt/.md/.html file, or a folder of them. */
  input: string;
  /** Run directory. Running again on the same one resumes: no paid call is repeated. */
  out: string;
  /**
   * Settings with the config file's snake_case keys, e.g.
   * `{ base_urls: ['http://127.0.0.1:8000/v1'], model: 'm', concurrency: 8, filter: { mode: 'local' } }`.
   * They take precedence over the environment (`OPENAI_BASE_URL`, `GEMTRAJ_MODEL`, …). The API
   * key is never a setting: it is read from the variable `api_key_env` names
   * (default `OPENAI_API_KEY`). Typed, so a misspelt key fails to compile (and throws a
   * `ConfigError` when the settings come from untyped data).
   */
  config?: ConfigInput | undefined;
  /** Which pipeline. @default 'run' */
  mode?: CorpusMode | undefined;
  /** A model backend of your own instead of HTTP to `base_urls` (needs `config.model`). */
  backend?: ModelBackend | undefined;
  /** Resume a directory made with other settings (the outputs will be mixed). @default false */
  allowConfigChange?: boolean | undefined;
  /** Resume a directory made from another corpus (the datasets will be mixed). @default false */
  allowInputChange?: boolean | undefined;
  /** Abort to stop: what is in flight finishes, the status is `interrupted`, a rerun resumes. */
  signal?: AbortSignal | undefined;
  /** Environment to read settings and the key from. @default process.env */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface RunResult {
  /** Where every record went: the `counts` of run.json. */
  counts: Funnel;
  /** `finished`, `incomplete` (records the endpoint failed for are left for a rerun: see `stopReason`), `stopped` (the endpoint could not be used: see `stopReason`), `interrupted`. */
  status: RunJson['status'];
  stopReason: string | undefined;
  /** The run.json written at the end. */
  runJson: RunJson;
  /** Paths of the run directory's files (`final` is the dataset). */
  files: Record<string, string>;
}

/** Runs the pipeline over a corpus. Throws `ConfigError` for bad settings, before any work. */
export async function run(options: RunOptions): Promise<RunResult> {
  const env = options.env ?? process.env;
  const config: Config = loadConfig({ env, base: { quiet: true }, flags: options.config as Record<string, unknown> | undefined });
  const mode = options.mode ?? 'run';
  const needsModel = mode !== 'filter' || config.filter.mode !== 'local';
  checkRunOut(options.out);
  const gateway = needsModel ? gatewayFromConfig(config, { outDir: options.out, env, backend: options.backend, usageLedger: true }) : undefined;
  try {
    const { runJson, files } = await runCorpusSession({
      mode,
      input: options.input,
      out: options.out,
      config,
      gateway,
      allowConfigChange: options.allowConfigChange,
      allowInputChange: options.allowInputChange,
      signal: options.signal,
    });
    if (runJson.counts === undefined) throw new Error('run.json holds no counts');
    return { counts: runJson.counts, status: runJson.status, stopReason: runJson.stop_reason, runJson, files };
  } finally {
    await gateway?.close();
  }
}

/**
 * One session of a corpus command (`run`, `synthesize`, `filter`) on a run directory: the
 * settings check against an earlier session, the engine over the command's steps, run.json at
 * start, every 15 s and at the end, with the funnel computed from the files. The CLI and the
 * library's `run()` both call this; neither repeats any of it.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { CONFIG_DEFAULTS, ConfigError } from '../config.js';
import { countInputRecords, type InputWarning } from '../io/documents.js';
import type { Gateway } from '../llm/gateway.js';
import { promptVersions } from '../prompts/index.js';
import { parseShard } from '../config.js';
import { VERSION } from '../version.js';
import { computeFunnel, filterCallsSaved } from './counts.js';
import { runSteps } from './engine.js';
import { buildPipeline, type CorpusMode } from './pipelines.js';
import { Progress } from './progress.js';
import { checkRunOut, RunDirectory } from './run-dir.js';
import { inputDifferences, inputIdentity } from './input-identity.js';
import { fingerprintDiff, mergeUsage, publicUrl, resolvedEndpoint, runFingerprint, type RunJson, type RunSession } from './run-json.js';
import { documentSource } from './sources.js';

/** Input warnings printed and kept in run.json per session; the rest are counted. */
const SHOWN_WARNINGS = 20;

export interface CorpusSessionOptions {
  mode: CorpusMode;
  /** Corpus: any input `readDocuments` reads (a file of any supported format, a folder, a glob, `-` for stdin). */
  input: string;
  /** Run directory; rerunning on the same one resumes. */
  out: string;
  config: Config;
  /** Model gateway; `undefined` only for a filter run in `local` mode. */
  gateway: Gateway | undefined;
  /** Resume a directory made with other settings (the outputs will be mixed). @default false */
  allowConfigChange?: boolean | undefined;
  /** Resume a directory made from another corpus (the datasets will be mixed). @default false */
  allowInputChange?: boolean | undefined;
  /** Stop requested: finish what is in flight, start nothing new (status `interrupted`). */
  signal?: AbortSignal | undefined;
  /** Messages for the user (resume notes); progress lines go to stderr unless `config.quiet`. */
  log?: ((message: string) => void) | undefined;
  /**
   * The backend collects the requests into waves (an offline batch export), as batch mode does:
   * every document is admitted at once, so that a wave holds every pending request.
   * @default `config.batch.enabled`
   */
  waves?: boolean | undefined;
}

export interface CorpusSessionResult {
  /** The run.json written at the end (counts from the files). */
  runJson: RunJson;
  /** Where the product went. */
  files: RunDirectory['files'];
}

/**
 * Refuses to resume `out` (whose run.json is `previous`) on another corpus or with other
 * settings, unless allowed; returns this session's input identity and settings fingerprint.
 * Also what a pilot checks against the run directory it estimates for.
 */
export function checkResume(
  out: string,
  previous: ReturnType<RunDirectory['readRunJson']>,
  options: Pick<CorpusSessionOptions, 'mode' | 'input' | 'config' | 'allowConfigChange' | 'allowInputChange'>,
): { identity: ReturnType<typeof inputIdentity>; fingerprint: ReturnType<typeof runFingerprint> } {
  const { mode, input, config } = options;
  const identity = inputIdentity(input);
  const previousIdentity = previous?.input_identity;
  if (previousIdentity !== undefined && identity !== undefined && options.allowInputChange !== true) {
    const changed = inputDifferences(previousIdentity, identity);
    if (changed.length > 0) {
      throw new ConfigError(
        `${out} holds a run made from another corpus (${previousIdentity.path}; ${changed.join(', ')}); resuming on ${input} would mix two datasets.\n` +
          'Use a new --out, rerun with the same input, or pass --allow-input-change to continue anyway.',
      );
    }
  }
  const fingerprint = runFingerprint(mode, config, promptVersions(config.prompts));
  if (previous?.fingerprint !== undefined && options.allowConfigChange !== true) {
    const changed = fingerprintDiff(previous.fingerprint, fingerprint, runFingerprint(mode, CONFIG_DEFAULTS as Config, promptVersions(CONFIG_DEFAULTS.prompts)));
    if (changed.length > 0) {
      throw new ConfigError(
        `${out} holds a run made with other settings (${changed.join(', ')} differ); resuming would mix their outputs.\n` +
          'Use a new --out, rerun with the same settings, or pass --allow-config-change to continue anyway.',
      );
    }
  }
  return { identity, fingerprint };
}

/** Runs one session; throws {@link ConfigError} before touching anything when settings changed. */
export async function runCorpusSession(options: CorpusSessionOptions): Promise<CorpusSessionResult> {
  const { mode, input, out, config, gateway } = options;
  const log = options.log ?? ((): void => undefined);
  checkRunOut(out);
  const dir = new RunDirectory(out);
  const previous = dir.readRunJson();
  const { identity, fingerprint } = checkResume(out, previous, options);
  const resume = await dir.open();
  dir.ensureFiles(mode === 'filter' ? ['segments', 'rejected'] : ['final', 'rejected']);
  const startedAt = new Date();
  const steps = buildPipeline(mode, { config, llm: gateway, dedupIndex: dir.files.dedup });
  // Documents done, their dedup decisions gone (dedup.sqlite deleted to save space, a partial
  // copy): the rest of the run would keep duplicates of their segments, silently.
  // Segments on disk passed the dedup step, which opened its index for them; documents done
  // with none (all rejected before dedup: markup only, empty) decided nothing.
  const done = dir.state.progress.ids.size;
  if (dir.state.segments.ids.size > 0 && !existsSync(dir.files.dedup) && steps.some((s) => s.name === 'dedup') && options.allowConfigChange !== true) {
    // The directory is given back (its lock and reserve) before the refusal.
    for (const step of steps) step.close?.();
    dir.close();
    throw new ConfigError(
      `${dir.files.dedup} is missing: the deduplication decisions of the ${done} document(s) already done are lost, so resuming would keep duplicates of their segments.\n` +
        'Use a new --out to start over (--allow-config-change, which accepts mixed outputs, continues anyway).',
    );
  }
  if (resume.resumed) {
    log(
      `resuming ${out}: ${dir.state.progress.ids.size} document(s) already done` +
        `${resume.retried > 0 ? `, ${resume.retried} endpoint failure(s) to retry` : ''}` +
        `${resume.repaired > 0 ? `, ${resume.repaired} torn line(s) dropped` : ''}`,
    );
  }
  const total = config.quiet ? undefined : expectedDocuments(await countInputRecords(input), parseShard(config.shard), config.max_docs);
  const progress = new Progress({
    total,
    quiet: config.quiet,
    finalStep: steps.at(-1)?.name,
    limits: { rpm: config.rpm, tpm: config.tpm, concurrency: config.concurrency },
    snapshot: () => {
      const t = gateway?.usage().totals;
      const stats = gateway?.stats();
      return {
        calls: t?.calls ?? 0,
        cachedCalls: t?.cached_calls ?? 0,
        tokens: (t?.prompt_tokens ?? 0) + (t?.completion_tokens ?? 0),
        costUsd: t?.cost_usd ?? 0,
        unpricedCalls: t?.unpriced_calls ?? 0,
        failedCalls: t?.failed_calls ?? 0,
        retries: stats?.retries ?? 0,
        rateLimited: stats?.rateLimited ?? 0,
        inFlight: stats?.inFlight,
        queued: stats?.queued,
        limit: stats?.limit,
        offlineCalls: stats?.offlineCalls,
        offlineTokens: stats?.offlineTokens,
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
  // Input problems that do not reject a record (invalid UTF-8): the first ones shown and kept
  // in run.json, all counted. Each session reads the whole input, so each has its own.
  const warnings: string[] = [];
  let warningCount = 0;
  const onWarning = (warning: InputWarning): void => {
    warningCount++;
    if (warnings.length >= SHOWN_WARNINGS) return;
    warnings.push(warning.message);
    progress.log(`warning: ${warning.message}`);
  };
  const runJsonNow = async (final: boolean): Promise<RunJson> => {
    session.duration_s = (Date.now() - startedAt.getTime()) / 1000;
    if (warningCount > 0) session.input_warnings = { count: warningCount, first: [...warnings] };
    const sessions = [...(previous?.sessions ?? []), session];
    const counts = final ? await computeFunnel(out, mode, config) : previous?.counts;
    // Records the endpoint failed for are left for a rerun (exit 3 or 4): not a finished run.
    if (final && session.status === 'finished' && (counts?.retryable ?? 0) > 0) {
      session.status = 'incomplete';
      session.stop_reason = `${counts?.retryable ?? 0} record(s) were not made because the endpoint failed for them; rerun the same command to retry them`;
    }
    return {
      gemtraj_version: VERSION,
      command: mode,
      input,
      // A resume with --allow-input-change keeps the first identity, like the fingerprint.
      input_identity: previous?.input_identity ?? identity,
      status: session.status,
      stop_reason: session.stop_reason,
      config: { ...config, base_urls: config.base_urls.map(publicUrl) },
      ...(gateway !== undefined ? { resolved: resolvedEndpoint(gateway) } : {}),
      sessions,
      duration_s: sessions.reduce((sum, s) => sum + s.duration_s, 0),
      counts,
      // The ledger's sum over every process (exact after kills); without one, the sessions' sum.
      usage: gateway !== undefined ? gateway.runUsage(previous?.usage) ?? mergeUsage(previous?.usage, gateway.usage()) : previous?.usage,
      // From the segments on disk, so that resumed sessions do not count a segment twice.
      filter: counts === undefined ? previous?.filter : { ...counts.decided_by, llm_calls_saved: filterCallsSaved(counts) },
      versions: { gemtraj: VERSION, node: process.version, prompts: promptVersions(config.prompts) },
      // A resume with --allow-config-change keeps the first fingerprint: outputs are mixed.
      fingerprint: previous?.fingerprint ?? fingerprint,
    };
  };
  dir.writeRunJson(await runJsonNow(false));
  const heartbeat = setInterval(() => void runJsonNow(false).then((j) => dir.writeRunJson(j)).catch(() => undefined), 15_000);
  heartbeat.unref();
  const waves = options.waves ?? config.batch.enabled;
  const onAbort = (): void =>
    progress.log(
      waves
        ? 'interrupted: stopping now (the answers of batches already submitted are collected by the rerun); rerun the same command to resume'
        : 'interrupted: finishing the work in flight (Ctrl-C again to quit at once); rerun the same command to resume',
    );
  options.signal?.addEventListener('abort', onAbort, { once: true });
  progress.start();
  let final: RunJson | undefined;
  let failure: unknown;
  try {
    const result = await runSteps(documentSource(input, { textField: config.text_field, idField: config.id_field, onWarning }), steps, dir, {
      mode,
      itemConcurrency: Math.max(4, config.concurrency * 2),
      // Not with waves: a wave must hold every pending request, however busy the loop that builds it.
      adaptiveItems: !waves,
      // A batch's answers may be hours away, and the rerun collects them: nothing to wait for.
      stopGraceMs: waves ? 0 : undefined,
      recordConcurrency: Math.max(4, config.concurrency * 2),
      maxItems: config.max_docs,
      shard: parseShard(config.shard),
      signal: options.signal,
      progress,
    });
    if (warningCount > warnings.length) log(`${warningCount} input warning(s) in all; run.json (sessions, input_warnings) keeps the first ${warnings.length}`);
    session.documents_seen = result.itemsSeen;
    session.documents_skipped = result.itemsSkipped;
    if (result.stoppedBy !== undefined) {
      session.status = 'stopped';
      session.stop_reason = result.stoppedBy.message;
    } else if (result.interrupted) session.status = 'interrupted';
    else session.status = 'finished';
  } catch (error) {
    session.status = 'failed';
    session.stop_reason = (error as Error).message;
    failure = error;
    throw error;
  } finally {
    progress.stop();
    options.signal?.removeEventListener('abort', onAbort);
    clearInterval(heartbeat);
    for (const step of steps) {
      try {
        step.close?.();
      } catch (error) {
        // Every step is closed, and the first error is the one reported.
        failure ??= error;
      }
    }
    session.finished_at = new Date().toISOString();
    // The last run.json is written while the lock is held (readers see a live run until it says
    // how the run ended), with the reserve given back first so that it fits on a full disk.
    dir.releaseReserve();
    try {
      final = await runJsonNow(true);
      dir.writeRunJson(final);
    } catch (error) {
      // After a failure (a full disk) run.json may not fit either: the first error is the one to report.
      if (failure === undefined) throw error;
    } finally {
      dir.close();
    }
  }
  // A step that could not close (its last commit hit a full disk) after an otherwise good run.
  if (failure !== undefined) throw failure;
  if (final === undefined) throw new Error('run.json was not written'); // unreachable: failures rethrow above
  return { runJson: final, files: dir.files };
}

/**
 * Documents this session will read, for the progress bar: the input's count, a shard's share
 * of it (ids hash evenly, so the count over the shards, rounded), at most `--max-docs`.
 */
export function expectedDocuments(count: number | undefined, shard: { count: number } | undefined, maxDocs: number | undefined): number | undefined {
  if (count === undefined) return undefined;
  const share = shard === undefined ? count : Math.round(count / shard.count);
  return maxDocs === undefined ? share : Math.min(share, maxDocs);
}

/**
 * Batch mode from the config (`--batch`, `batch.enabled`): the Batch API backend over the
 * resolved endpoint, its journal in the run directory, and the settings that change with it —
 * up to `batch.wave_size` requests pending instead of `concurrency`, no per-minute budgets (the
 * provider queues a batch as a whole), and prices at `batch.price_factor`.
 */
import type { Config } from '../config.js';
import { BatchApi } from './batch-api.js';
import { BatchBackend } from './batch-backend.js';
import { BatchJournal } from './batch-journal.js';
import { ResponseCache } from './cache.js';
import type { Endpoint } from './from-config.js';

/** Timeout of one Files/Batches API call; an upload of 200 MB needs minutes, not the chat timeout. */
const BATCH_API_TIMEOUT_MS = 15 * 60_000;

/** The config as batch mode runs it: `concurrency` = `batch.wave_size`, no rpm/tpm. Unchanged when batch mode is off. */
export function batchModeConfig(config: Config): Config {
  if (!config.batch.enabled) return config;
  const { rpm: _rpm, tpm: _tpm, ...rest } = config;
  return { ...rest, concurrency: config.batch.wave_size };
}

/**
 * The Batch API backend for `endpoint` (its first base URL), journaled at `journalPath`. Answers
 * the response cache at `cachePath` already holds are dropped from the journal first.
 */
export function batchBackendFromConfig(config: Config, endpoint: Endpoint, journalPath: string, cachePath: string | undefined): BatchBackend {
  const baseUrl = endpoint.baseUrls[0] as string;
  const b = config.batch;
  const journal = new BatchJournal(journalPath);
  if (cachePath !== undefined) {
    const cache = new ResponseCache(cachePath);
    try {
      journal.compact((key) => cache.get(key) !== undefined);
    } finally {
      cache.close();
    }
  }
  return new BatchBackend({
    api: new BatchApi({ baseUrl, apiKey: endpoint.apiKey, timeoutMs: Math.max(BATCH_API_TIMEOUT_MS, config.timeout_s * 1000) }),
    journal,
    maxRequests: b.max_requests,
    maxBytes: b.max_bytes,
    collectMs: b.collect_ms,
    pollMinMs: b.poll_min_ms,
    pollMaxMs: b.poll_max_ms,
    where: baseUrl,
  });
}

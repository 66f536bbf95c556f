/**
 * A {@link ModelBackend} that answers through a provider's Batch API, at the batch price.
 * The engine issues requests concurrently as for live calls; this backend holds them until no
 * new one arrived for `collectMs` (or a batch is full), submits them as one wave — split into
 * batches under the provider's limits on lines and bytes — polls with backoff, and resolves
 * each request's promise when its line comes back. To the gateway these are slow calls: it
 * caches the answers, and retries failed or expired lines, which go into the next wave.
 *
 * Every batch and its keys are in the journal (batch-journal.ts) before the upload starts; a
 * rerun after a crash polls the open batches again and never submits a key that is in one.
 */
import { randomUUID } from 'node:crypto';
import { BackendError, type BackendFailure, type ChatRequest, type ChatResponse, type ModelBackend, type ReplicaStats, type SendOptions } from './backend.js';
import { dirname } from 'node:path';
import { BatchAnswerError, BatchApiError, isFinished, type BatchApi, type RemoteBatch } from './batch-api.js';
import type { BatchJournal } from './batch-journal.js';
import { inputLine, parseOutputFile } from './batch-lines.js';
import { chatCacheKey } from './chat-request.js';
import { FatalEndpointError, RequestRejectedError } from './errors.js';
import { abortReason, sleep } from './retry.js';

/** Metadata key that ties a provider's batch to gemtraj's journal entry. */
export const BATCH_METADATA_KEY = 'gemtraj_batch';

export interface BatchBackendOptions {
  api: Pick<BatchApi, 'upload' | 'create' | 'retrieve' | 'findByMetadata' | 'content'>;
  journal: BatchJournal;
  /** Most requests in one batch (OpenAI: 50,000). Minimum 1. */
  maxRequests: number;
  /** Largest input file of one batch, in bytes (OpenAI: 200 MB). Minimum 1 KB. */
  maxBytes: number;
  /** A wave is submitted once no new request arrived for this long, in milliseconds. Minimum 0. */
  collectMs: number;
  /** First wait between polls of a batch, in milliseconds; grows ×1.5 per poll. Minimum 1. */
  pollMinMs: number;
  /** Longest wait between polls, in milliseconds. At least `pollMinMs`. */
  pollMaxMs: number;
  /** Where the batches go, for messages (the base URL). */
  where: string;
}

interface Waiter {
  resolve: (response: ChatResponse) => void;
  reject: (error: unknown) => void;
}

interface Pending {
  request: ChatRequest;
  line: string;
  bytes: number;
}

/** Counts for progress lines and tests. */
export interface BatchBackendStats {
  /** Requests waiting for the current wave to be submitted. */
  collecting: number;
  /** Batches being polled. */
  polling: number;
  /** Batches created by this process. */
  submitted: number;
  /** Requests sent in them. */
  submittedLines: number;
  /** Lines that came back failed or expired. */
  failedLines: number;
}

export class BatchBackend implements ModelBackend {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly pending = new Map<string, Pending>();
  private readonly polling = new Map<string, Promise<void>>();
  private readonly models = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private firstPendingAt = 0;
  private closed = false;
  private readonly stop = new AbortController();
  private readonly counts = { submitted: 0, submittedLines: 0, failedLines: 0 };

  constructor(private readonly options: BatchBackendOptions) {
    // Batches left open by an earlier run are polled at once: their answers are paid for.
    for (const open of options.journal.open()) this.watch(open.local, open.remote);
  }

  send(request: ChatRequest, options: SendOptions = {}): Promise<ChatResponse> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.closed) return Promise.reject(new Error('the batch backend is closed'));
    const key = options.key ?? chatCacheKey(request, undefined);
    this.models.set(key, request.model);
    const known = this.options.journal.line(key);
    if (known?.state === 'answered' && known.response !== undefined) return Promise.resolve(known.response);

    const promise = new Promise<ChatResponse>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      let set = this.waiters.get(key);
      if (set === undefined) this.waiters.set(key, (set = new Set()));
      set.add(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          set.delete(waiter);
          if (set.size === 0) {
            this.waiters.delete(key);
            this.pending.delete(key); // not submitted yet: nothing to pay for
          }
          reject(abortReason(signal));
        },
        { once: true },
      );
    });
    if (known?.state === 'submitted') this.watch(known.batch, null);
    else this.enqueue(key, request);
    return promise;
  }

  private enqueue(key: string, request: ChatRequest): void {
    if (this.pending.has(key)) return;
    const line = inputLine(key, request);
    if (this.pending.size === 0) this.firstPendingAt = Date.now();
    this.pending.set(key, { request, line, bytes: Buffer.byteLength(line) + 1 });
    if (this.pending.size >= this.options.maxRequests) return this.flush();
    // Wait for the wave to fill: until requests stop arriving, but not forever under a trickle.
    if (this.timer !== undefined) clearTimeout(this.timer);
    const cap = this.firstPendingAt + Math.max(this.options.collectMs * 10, 1000);
    this.timer = setTimeout(() => this.flush(), Math.max(0, Math.min(this.options.collectMs, cap - Date.now())));
  }

  /**
   * Submits everything collected: a batch per model (OpenAI takes one model per input file),
   * each split under the line and byte limits.
   */
  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const byModel = new Map<string, Array<[string, Pending]>>();
    for (const entry of this.pending) {
      if (entry[1].bytes > this.options.maxBytes) {
        // Alone it is still too big: no batch file can hold it, and the provider would refuse the upload.
        const message = `the request is ${entry[1].bytes} bytes as a batch line, more than batch.max_bytes (${this.options.maxBytes}): no batch file can hold it`;
        const failure: BackendFailure = { action: 'reject', error: new RequestRejectedError(message, 413, 'llm_context_length') };
        this.settle(entry[0], (w) => w.reject(new BackendError(failure, this.options.where)));
        continue;
      }
      const model = entry[1].request.model;
      let group = byModel.get(model);
      if (group === undefined) byModel.set(model, (group = []));
      group.push(entry);
    }
    this.pending.clear();
    for (const group of byModel.values()) {
      let chunk: Array<[string, Pending]> = [];
      let bytes = 0;
      for (const entry of group) {
        if (chunk.length > 0 && (chunk.length >= this.options.maxRequests || bytes + entry[1].bytes > this.options.maxBytes)) {
          this.submit(chunk, bytes);
          chunk = [];
          bytes = 0;
        }
        chunk.push(entry);
        bytes += entry[1].bytes;
      }
      if (chunk.length > 0) this.submit(chunk, bytes);
    }
  }

  private submit(chunk: Array<[string, Pending]>, bytes: number): void {
    const local = `gemtraj-${randomUUID()}`;
    const keys = chunk.map(([key]) => key);
    // Written down before the upload: a crash from here on finds the batch by its metadata.
    this.options.journal.begin(local, keys, bytes);
    this.counts.submitted++;
    this.counts.submittedLines += keys.length;
    const model = chunk[0]?.[1].request.model ?? '';
    const jsonl = `${chunk.map(([, p]) => p.line).join('\n')}\n`;
    const created = this.create(local, jsonl, model);
    this.polling.set(local, created.then((remote) => (remote === undefined ? undefined : this.poll(local, remote))).finally(() => this.polling.delete(local)));
  }

  /** Uploads and creates the batch, retrying transient failures; `undefined` when it could not be. */
  private async create(local: string, jsonl: string, model: string): Promise<string | undefined> {
    let delay = this.options.pollMinMs;
    // Uploaded once: a create refused for the rate (429) is tried again on the same file.
    let fileId: string | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        // A create whose answer was lost may have worked: look before creating again (by the
        // file too, for a provider that drops metadata).
        const existing = attempt === 0 ? undefined : await this.options.api.findByMetadata(BATCH_METADATA_KEY, local, model, 200, fileId);
        if (existing !== undefined) return this.recordCreated(local, existing);
        if (fileId === undefined) {
          fileId = await this.options.api.upload(jsonl, `${local}.jsonl`, model);
          this.options.journal.uploaded(local, fileId);
        }
        return this.recordCreated(local, await this.options.api.create(fileId, { [BATCH_METADATA_KEY]: local }, model));
      } catch (error) {
        // The creation answered, unreadably: the batch may exist. Left open, without its id:
        // the next run looks it up by its metadata instead of creating it again.
        if (error instanceof BatchAnswerError) {
          this.halt(local, error.failure);
          return undefined;
        }
        if (!(error instanceof BatchApiError) || error.failure.action !== 'retry') {
          // Not the API's answer (the journal's disk, a bug): trying again could create the batch twice.
          this.giveUp(local, error instanceof BatchApiError ? error.failure : localFailure(error, this.options.where));
          return undefined;
        }
        if (!(await this.pause(delay))) return undefined;
        delay = Math.min(delay * 2, this.options.pollMaxMs);
      }
    }
  }

  private recordCreated(local: string, batch: RemoteBatch): string {
    this.options.journal.created(local, batch.id, batch.status);
    return batch.id;
  }

  /** Starts polling a journal batch unless that is already going on. */
  private watch(local: string, remote: string | null): void {
    if (this.polling.has(local) || this.closed) return;
    const run = async (): Promise<void> => {
      let id = remote ?? this.options.journal.open().find((b) => b.local === local)?.remote ?? null;
      if (id === null) {
        // Killed between the journal entry and the creation answer: did the batch get created?
        const model = this.modelOf(this.options.journal.submittedKeys(local)[0]);
        let found: RemoteBatch | undefined;
        try {
          found = await this.options.api.findByMetadata(BATCH_METADATA_KEY, local, model, undefined, this.options.journal.fileOf(local));
        } catch (error) {
          const failure = failureOf(error, this.options.where);
          // No way to list batches (a 404): it cannot be found, now or later; taken as never
          // created, its requests go into the next wave (if it was, they are paid twice).
          if (failure.action === 'fatal' && failure.error.kind === 'not_found') return this.abandon(local);
          // It may exist, and be billed: left open for the next run to look again.
          return this.halt(local, failure);
        }
        if (found === undefined) return this.abandon(local);
        id = this.recordCreated(local, found);
      }
      return this.poll(local, id);
    };
    this.polling.set(local, run().finally(() => this.polling.delete(local)));
  }

  private async poll(local: string, remote: string): Promise<void> {
    let delay = this.options.pollMinMs;
    const model = this.modelOf(this.options.journal.submittedKeys(local)[0]);
    for (;;) {
      let batch: RemoteBatch;
      try {
        batch = await this.options.api.retrieve(remote, model);
      } catch (error) {
        if (error instanceof BatchApiError && error.failure.action === 'retry') {
          if (!(await this.pause(delay))) return;
          delay = Math.min(delay * 1.5, this.options.pollMaxMs);
          continue;
        }
        // The batch exists and runs on (a key rotated, a proxy's 404): abandoned, it would be
        // billed and its requests paid again. It stays open for the next run to poll.
        return this.halt(local, failureOf(error, `batch ${remote}`), remote);
      }
      this.options.journal.status(local, batch.status);
      if (isFinished(batch.status)) {
        const read = await this.collect(local, batch, model);
        if (read) return;
      }
      if (!(await this.pause(delay))) return;
      delay = Math.min(delay * 1.5, this.options.pollMaxMs);
    }
  }

  /** Reads a finished batch's files into the journal and settles its waiters. False when a download must be retried. */
  private async collect(local: string, batch: RemoteBatch, model: string): Promise<boolean> {
    const where = `batch ${batch.id}`;
    if (batch.status === 'failed') {
      // The whole file was refused. Limits on enqueued tokens clear up; anything else will not.
      const limited = /token_limit|rate_limit|limit_exceeded/i.test(batch.errors);
      const failure: BackendFailure = limited
        ? BackendError.retry(
            where,
            `the provider refused the batch for now: ${batch.errors} (its queue of enqueued tokens is full until earlier batches finish: lower batch.wave_size, or rerun later)`,
            { rateLimited: true },
          ).failure
        : { action: 'fatal', error: new FatalEndpointError(`The provider refused batch ${batch.id}: ${batch.errors || 'no reason given'}`, 400, 'bad_request') };
      this.giveUp(local, failure, batch.status);
      return true;
    }
    const texts: string[] = [];
    try {
      for (const file of [batch.output_file_id, batch.error_file_id]) if (file !== null) texts.push(await this.options.api.content(file, model));
    } catch (error) {
      if (error instanceof BatchApiError && error.failure.action === 'retry') return false;
      // Its answers are paid for: the batch stays open, and the next run downloads them again.
      this.halt(local, failureOf(error, where), batch.id);
      return true;
    }
    const journal = this.options.journal;
    for (const text of texts) {
      for (const outcome of parseOutputFile(text, where, (key) => this.modelOf(key)).outcomes) {
        if (outcome.ok) {
          journal.answer(outcome.key, local, outcome.response);
          this.settle(outcome.key, (w) => w.resolve(outcome.response));
        } else {
          this.counts.failedLines++;
          journal.fail(outcome.key, local, JSON.stringify(outcome.failure.action === 'retry' ? outcome.failure.reason : outcome.failure.error.message));
          this.settle(outcome.key, (w) => w.reject(new BackendError(outcome.failure, where)));
        }
      }
    }
    // Lines the files do not mention (a cancelled batch): the next wave takes them.
    const missing = journal.submittedKeys(local);
    journal.finish(local, batch.status);
    for (const key of missing) this.settle(key, (w) => w.reject(BackendError.retry(where, `no answer for the request in ${batch.status} batch ${batch.id}`)));
    return true;
  }

  /** The batch was never created: its requests go into the next wave. */
  private abandon(local: string): void {
    const keys = this.options.journal.submittedKeys(local);
    this.options.journal.finish(local, 'never_created');
    for (const key of keys) this.settle(key, (w) => w.reject(BackendError.retry(this.options.where, 'the batch was never created; its request goes into the next wave')));
  }

  /**
   * Fails the waiting requests of a batch that exists at the provider, with `failure`, and
   * leaves it open in the journal: the next run polls it again, and never submits its requests
   * twice. A fatal failure stops the run; the message says how to go on.
   */
  private halt(local: string, failure: BackendFailure, remote?: string): void {
    const keys = this.options.journal.submittedKeys(local);
    // A refusal of a poll or a download is not the requests' fault: it stops the run as well.
    const held: BackendFailure =
      failure.action === 'retry'
        ? failure
        : {
            action: 'fatal',
            error: new FatalEndpointError(
              `${failure.error.message} — batch ${remote ?? local} stays open in ${this.options.journal.path}: the next run polls it again (its requests are not submitted twice). Only if the provider has lost it for good: gemtraj batch forget ${remote ?? local} --out ${dirname(this.options.journal.path)}, and its requests go into the next wave.`,
              failure.error.status,
              failure.action === 'fatal' ? failure.error.kind : 'bad_request',
            ),
          };
    for (const key of keys) this.settle(key, (w) => w.reject(new BackendError(held, this.options.where)));
  }

  /** Fails every request of a batch with `failure` (the journal lets the next wave retry them). */
  private giveUp(local: string, failure: BackendFailure, status = 'abandoned'): void {
    const keys = this.options.journal.submittedKeys(local);
    this.options.journal.finish(local, status);
    this.counts.failedLines += keys.length;
    for (const key of keys) this.settle(key, (w) => w.reject(new BackendError(failure, this.options.where)));
  }

  private settle(key: string, how: (waiter: Waiter) => void): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const waiter of set) how(waiter);
  }

  private modelOf(key: string | undefined): string {
    return (key === undefined ? undefined : this.models.get(key)) ?? 'unknown';
  }

  /** Waits `ms`; false when the backend was closed meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, this.stop.signal);
      return true;
    } catch {
      return false;
    }
  }

  batchStats(): BatchBackendStats {
    return { collecting: this.pending.size, polling: this.polling.size, ...this.counts };
  }

  stats(): ReplicaStats[] {
    const inFlight = [...this.waiters.values()].reduce((n, s) => n + s.size, 0);
    return [{ baseUrl: this.options.where, inFlight, sent: this.counts.submittedLines, failures: this.counts.failedLines, coolingDown: false }];
  }

  /**
   * Stops polling. Batches still open stay in the journal and are polled by the next run;
   * requests still being collected were never sent and are simply dropped.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.stop.abort();
    await Promise.allSettled([...this.polling.values()]);
    for (const key of [...this.waiters.keys()]) this.settle(key, (w) => w.reject(new Error('the batch backend is closed')));
    this.options.journal.close();
  }
}

/** A failure of gemtraj's side (the journal's disk, a bug) while creating a batch: not retried. */
function localFailure(error: unknown, where: string): BackendFailure {
  const message = `${where}: ${error instanceof Error ? error.message : String(error)}`;
  return { action: 'fatal', error: new FatalEndpointError(message, undefined, 'bad_request') };
}

function failureOf(error: unknown, where: string): BackendFailure {
  if (error instanceof BatchApiError) return error.failure;
  return BackendError.retry(where, error instanceof Error ? error.message : String(error)).failure;
}

/**
 * Offline batches (`gemtraj batch export`): a {@link ModelBackend} that answers nothing. It
 * collects a wave of requests the way the Batch API backend does, writes them to a Batch API
 * input file — the format `vllm run-batch` reads — and then stops the run with a
 * {@link FatalEndpointError} of kind `exported`, so the records wait, unfinished, for the
 * rerun. `gemtraj batch import` puts the output file's answers into the response cache
 * (custom_id is the cache key), and the rerun goes on from the cache to the next wave.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BackendError, type BackendFailure, type ChatRequest, type ChatResponse, type ModelBackend, type SendOptions } from './backend.js';
import { inputLine } from './batch-lines.js';
import { chatCacheKey } from './chat-request.js';
import { FatalEndpointError } from './errors.js';
import { abortReason } from './retry.js';

export interface ExportBackendOptions {
  /** The input file to write (replaced on every export). */
  file: string;
  /**
   * Requests the endpoint refused for good in an imported output file (batch-import.ts): they
   * are rejected with that failure, as the live batch backend does, instead of exported again.
   * @default none
   */
  refused?: ReadonlyMap<string, BackendFailure> | undefined;
  /** The wave is written once no new request arrived for this long, in milliseconds. Minimum 0. */
  collectMs: number;
}

export class ExportBackend implements ModelBackend {
  private readonly lines = new Map<string, string>();
  private readonly rejects: Array<(error: unknown) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private written: number | undefined;

  constructor(private readonly options: ExportBackendOptions) {}

  /** Requests written to the file; `undefined` while none were. */
  get exported(): number | undefined {
    return this.written;
  }

  send(request: ChatRequest, options: SendOptions = {}): Promise<ChatResponse> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.written !== undefined) return Promise.reject(this.stopError());
    const key = options.key ?? chatCacheKey(request, undefined);
    const refused = this.options.refused?.get(key);
    if (refused !== undefined) return Promise.reject(new BackendError(refused, this.options.file));
    this.lines.set(key, inputLine(key, request));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.write(), this.options.collectMs);
    return new Promise<ChatResponse>((_resolve, reject) => {
      this.rejects.push(reject);
      signal?.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
    });
  }

  private stopError(): BackendError {
    const error = new FatalEndpointError(`${this.written ?? 0} requests exported to ${this.options.file}`, undefined, 'exported');
    return new BackendError({ action: 'fatal', error }, this.options.file);
  }

  /** Writes the wave (atomically: a partial file must never be run) and stops every waiting request. */
  private write(): void {
    this.timer = undefined;
    mkdirSync(dirname(this.options.file), { recursive: true });
    const temp = `${this.options.file}.tmp`;
    writeFileSync(temp, [...this.lines.values()].map((l) => `${l}\n`).join(''));
    renameSync(temp, this.options.file);
    this.written = this.lines.size;
    const error = this.stopError();
    for (const reject of this.rejects.splice(0)) reject(error);
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

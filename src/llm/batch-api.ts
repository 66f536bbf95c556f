/**
 * The Files + Batches API of an OpenAI-compatible provider, through the official SDK: upload a
 * JSONL input file, create a batch (completion window 24h), poll it, find it again by its
 * metadata, download output and error files. Failures come back classified the way chat calls
 * are (http-errors.ts), so the batch backend can tell a poll to retry from a key to fix.
 */
import type OpenAI from 'openai';
import { APIError } from 'openai/core/error';
import type { BackendFailure } from './backend.js';
import { FatalEndpointError } from './errors.js';
import { classifyError } from './http-errors.js';

/** Status of a batch as the provider reports it. */
export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** The members of a provider's batch object that gemtraj reads. */
export interface RemoteBatch {
  id: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  /** The uploaded input file it runs; `''` when the provider does not say. */
  input_file_id: string;
  /** Validation errors of a `failed` batch, joined; `''` when none. */
  errors: string;
  metadata: Record<string, string>;
}

export interface BatchApiOptions {
  /** Base URL of the provider, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  apiKey: string | undefined;
  /** Timeout of one API call (an upload of 200 MB included), in milliseconds. */
  timeoutMs: number;
}

/** Thrown by {@link BatchApi} calls: the SDK error classified for a chat request to `model`. */
export class BatchApiError extends Error {
  constructor(
    readonly failure: BackendFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BatchApiError';
  }
}

/**
 * The provider answered, but not with a batch object: the call may have done its work (a batch
 * created), so it must not be made again.
 */
export class BatchAnswerError extends BatchApiError {
  constructor(message: string) {
    super({ action: 'fatal', error: new FatalEndpointError(message, undefined, 'bad_request') }, message);
    this.name = 'BatchAnswerError';
  }
}

/** Terminal states: nothing more will change. */
export function isFinished(status: BatchStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'expired' || status === 'cancelled';
}

/** What this file uses of the SDK, once loaded. */
interface Sdk {
  client: OpenAI;
  toFile: typeof import('openai').toFile;
}

export class BatchApi {
  /** The SDK's client, loaded on first use: the whole SDK is ~150 modules that live runs never need. */
  private sdk: Promise<Sdk> | undefined;

  constructor(readonly options: BatchApiOptions) {}

  private get client(): Promise<OpenAI> {
    return this.loaded().then((sdk) => sdk.client);
  }

  private loaded(): Promise<Sdk> {
    this.sdk ??= import('openai').then(({ default: OpenAIClient, toFile }) => ({
      client: new OpenAIClient({
        baseURL: this.options.baseUrl,
        apiKey: this.options.apiKey ?? 'none',
        timeout: this.options.timeoutMs,
        maxRetries: 0,
        organization: null,
        project: null,
      }),
      toFile,
    }));
    return this.sdk;
  }

  /** Uploads `jsonl` with purpose `batch`; returns the file id. */
  upload(jsonl: string, filename: string, model: string): Promise<string> {
    return this.call(model, async () => {
      const { client, toFile } = await this.loaded();
      return (await client.files.create({ file: await toFile(Buffer.from(jsonl, 'utf8'), filename), purpose: 'batch' })).id;
    });
  }

  /** Creates a batch of chat completions over an uploaded file. */
  create(inputFileId: string, metadata: Record<string, string>, model: string): Promise<RemoteBatch> {
    return this.call(model, async () =>
      toRemote(await (await this.client).batches.create({ input_file_id: inputFileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata })),
    );
  }

  retrieve(id: string, model: string): Promise<RemoteBatch> {
    return this.call(model, async () => toRemote(await (await this.client).batches.retrieve(id)), `batch ${id}`);
  }

  /**
   * The batch whose metadata has `key` = `value`, or that runs the input file `inputFileId` (for
   * a provider that drops metadata), among the newest `scan` batches.
   */
  findByMetadata(key: string, value: string, model: string, scan = 1000, inputFileId?: string): Promise<RemoteBatch | undefined> {
    return this.call(model, async () => {
      let seen = 0;
      for await (const batch of (await this.client).batches.list({ limit: 100 })) {
        if (batch.metadata?.[key] === value || (inputFileId !== undefined && batch.input_file_id === inputFileId)) return toRemote(batch);
        if (++seen >= scan) break;
      }
      return undefined;
    });
  }

  /** Text of a file (an output or error file of a batch). */
  content(fileId: string, model: string): Promise<string> {
    return this.call(model, async () => (await (await this.client).files.content(fileId)).text(), `file ${fileId}`);
  }

  private async call<T>(model: string, run: () => Promise<T>, what = 'the Files and Batches API'): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // Already classified (an answer that is not a batch object).
      if (error instanceof BatchApiError) throw error;
      // A 404 here is about the API or the batch, not the model (a plain vLLM server has no Batches API).
      if (error instanceof APIError && error.status === 404) {
        const message =
          `${this.options.baseUrl} answered HTTP 404 for ${what}: ${error.message}. ` +
          'Without a Batches API, run without --batch, or use gemtraj batch export and vllm run-batch.';
        throw new BatchApiError({ action: 'fatal', error: new FatalEndpointError(message, 404, 'not_found') }, message, { cause: error });
      }
      const failure = classifyError(error, { model, baseUrl: this.options.baseUrl, hasResponseFormat: false });
      const message = failure.action === 'retry' ? failure.reason : failure.error.message;
      throw new BatchApiError(failure, message, { cause: error });
    }
  }
}

/** A failed line's provider error as the SDK error a live call would have thrown. */
export function lineError(status: number, body: unknown): APIError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: { message?: unknown } }).error : undefined;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  return APIError.generate(status, body as object, message, new Headers());
}

/**
 * The batch object, read leniently: Together wraps the created batch in `job` and writes its
 * statuses in capitals. A batch object without an id is not a Batches API's: refused, not
 * retried (a retried create would submit the requests again).
 */
function toRemote(answer: OpenAI.Batches.Batch): RemoteBatch {
  const wrapped = (answer as { job?: unknown }).job;
  const batch = (typeof wrapped === 'object' && wrapped !== null ? wrapped : answer) as OpenAI.Batches.Batch;
  if (typeof batch.id !== 'string' || batch.id === '') {
    throw new BatchAnswerError(`the provider's answer is not a batch object (no id): ${JSON.stringify(answer).slice(0, 200)}; is this an OpenAI-compatible Batches API?`);
  }
  return {
    id: batch.id,
    status: (typeof batch.status === 'string' ? batch.status.toLowerCase() : 'validating') as BatchStatus,
    output_file_id: batch.output_file_id ?? null,
    error_file_id: batch.error_file_id ?? null,
    input_file_id: typeof batch.input_file_id === 'string' ? batch.input_file_id : '',
    errors: (batch.errors?.data ?? []).map((e) => `${e.code ?? 'error'}: ${e.message ?? ''}${e.line != null ? ` (line ${e.line})` : ''}`).join('; '),
    metadata: (batch.metadata ?? {}) as Record<string, string>,
  };
}

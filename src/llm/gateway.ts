/**
 * The model gateway: the one {@link LlmClient} behind every stage, as middleware around a
 * {@link ModelBackend}. A call goes cache → single-flight → circuit breaker → concurrency
 * slot → RPM/TPM budgets → backend; failed attempts come back classified by the backend and
 * are retried with backoff until they succeed, turn out fatal, or run out of retries.
 */
import type { StageName, Usage } from '../records.js';
import { BackendError, type ChatRequest, type ChatResponse, type ModelBackend, type ReplicaStats } from './backend.js';
import { ResponseCache } from './cache.js';
import { isDiskFull, writeFailure } from '../io/durable.js';
import { buildChatRequest, chatCacheKey, estimatePromptTokens, estimateTokens } from './chat-request.js';
import { ContextWatch } from './context-watch.js';
import { FatalEndpointError, TransientEndpointError, redact, registerSecret } from './errors.js';
import { GatewayEvents, type GatewayEvent, type GatewayListener } from './events.js';
import { FlowControl } from './flow-control.js';
import { resolveGatewayOptions, type GatewayInit } from './gateway-init.js';
import { HttpBackend } from './http-backend.js';
import { CircuitBreaker, type Permit } from './limiter.js';
import { backoffDelay, sleep } from './retry.js';
import { SingleFlight } from './single-flight.js';
import { priceBook, type PriceOf } from './prices.js';
import { completeStructured } from './structured-call.js';
import type { ResponseFormat } from './structured.js';
import type { CompletionRequest, CompletionResult, LlmClient } from './types.js';
import { mergeUsage, UsageAccounting, type UsageReport } from './usage.js';
import { UsageLedger } from './usage-ledger.js';
import type { GemtrajError } from '../errors.js';

export type { GatewayInit } from './gateway-init.js';
export type { GatewayEvent, GatewayListener } from './events.js';

/** A snapshot of flow control, for progress lines. */
export interface GatewayStats {
  /** Attempts on the wire now. */
  inFlight: number;
  /** Requests waiting for a concurrency slot. */
  queued: number;
  /** Current adaptive concurrency limit (1 … `concurrency`). */
  limit: number;
  /** The configured `concurrency`. */
  maxLimit: number;
  /** Extra attempts made after failures. */
  retries: number;
  /** 429 answers received (insufficient_quota excluded). */
  rateLimited: number;
  /** Attempts that hit the timeout. */
  timeouts: number;
  /** Answers that could not be written to the cache (they were still returned). */
  cacheErrors: number;
  /** Offline batches' answers counted at their first use (`batch import`): paid calls that made no request. */
  offlineCalls: number;
  /** Their tokens, prompt and completion. */
  offlineTokens: number;
  circuitOpen: boolean;
  /** The backend's replicas; `[]` when it reports none. */
  replicas: ReplicaStats[];
}

export interface Gateway extends LlmClient {
  /** Where calls go and the default model, after fallbacks (OpenAI's URL and default model). */
  readonly endpoint: { readonly baseUrls: readonly string[]; readonly model: string };
  /** Calls, tokens and cost per stage and model, and totals, of this gateway's calls. */
  usage(): UsageReport;
  /**
   * With a usage ledger: the usage of every process that worked on the run directory, this one
   * included (requests that died with their process count as unconfirmed calls). `before` is
   * the usage recorded before the directory had a ledger (an older run.json): a fresh ledger
   * takes it as its first line. `undefined` without a ledger.
   */
  runUsage(before?: UsageReport): UsageReport | undefined;
  stats(): GatewayStats;
  /** Subscribes to progress events; returns the unsubscribe function. */
  onEvent(listener: GatewayListener): () => void;
  /** Closes the cache and the backend. Calls made afterwards throw. */
  close(): Promise<void>;
}

/** One attempt's outcome: the answer, or the backend's classified failure with the permit it held. */
type AttemptOutcome = { ok: true; response: ChatResponse; usage: Usage; cost: number } | { ok: false; error: BackendError; permit: Permit };

/**
 * Creates the gateway over `init.backend`, or over an {@link HttpBackend} for `init.baseUrls`.
 * Registers the API key with {@link redact} so no message can leak it.
 */
export function createGateway(init: GatewayInit): Gateway {
  const options = resolveGatewayOptions(init);
  registerSecret(options.apiKey);

  const backend: ModelBackend =
    init.backend ??
    new HttpBackend({
      baseUrls: options.baseUrls,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs,
      cooldownMs: init.replicaCooldownMs,
      onNotice: (message) => events.emit({ type: 'notice', message }),
    });
  const flow = new FlowControl({ concurrency: options.concurrency, rpm: options.rpm, tpm: options.tpm, increaseEvery: init.adaptiveIncreaseEvery });
  const breaker = new CircuitBreaker({ maxErrorRate: options.maxErrorRate, window: options.errorWindow });
  const cache = options.cachePath === undefined ? undefined : new ResponseCache(options.cachePath);
  const singleFlight = new SingleFlight<CompletionResult>();
  const ledger = init.usageLedgerPath === undefined ? undefined : openLedger(init.usageLedgerPath, cache);
  /** The ledger could not be written: no further paid call, since it could not be counted. */
  let ledgerFailure: GemtrajError | undefined;
  /** The configured prices, `factor` of them paid. */
  const pricesAt = (factor: number): PriceOf => priceBook({ prices: options.prices, table: options.priceTable, baseUrl: options.baseUrls[0], factor });
  const accounting = new UsageAccounting(
    pricesAt(options.priceFactor),
    ledger === undefined
      ? undefined
      : (event) => {
          try {
            ledger.append(event);
          } catch (error) {
            ledgerFailure ??= writeFailure(ledger.path, error);
          }
        },
    // Outcomes without their `sent` line: replay must not settle another process's with them.
    init.answersOutliveProcess === true,
  );
  /** Prices of an offline batch's answers (see {@link GatewayOptions.offlinePriceFactor}). */
  const offlinePrice = pricesAt(options.offlinePriceFactor);
  let baseAdopted = false;
  const events = new GatewayEvents();
  const contextWatch = new ContextWatch(options.baseUrls, (message) => events.emit({ type: 'notice', message }));
  const counters = { retries: 0, rateLimited: 0, timeouts: 0, cacheErrors: 0, offlineCalls: 0, offlineTokens: 0 };
  let closed = false;

  const modelFor = (stage: StageName): string => options.models[stage] ?? options.model;

  /** The first fatal endpoint error: every later request fails with it, without a call. */
  let fatalSeen: FatalEndpointError | undefined;
  /** Set when the cache could not be written for lack of space: no more paid calls. */
  let storageFull: GemtrajError | undefined;

  function fail(stage: StageName, model: string, error: Error, fatal: boolean): Error {
    // A request written to an offline batch file (`batch export`) did not fail: its answer comes
    // back through `batch import`.
    if (!(error instanceof FatalEndpointError && error.kind === 'exported')) accounting.recordFailure(stage, model);
    events.emit({ type: 'failed', stage, model, error: error.message, fatal });
    return error;
  }

  /** Throws (as a failed call) when the endpoint is known unusable: a fatal answer seen, or the breaker open. */
  function checkUsable(stage: StageName, model: string): void {
    if (fatalSeen !== undefined) throw fail(stage, model, fatalSeen, true);
    try {
      breaker.check();
    } catch (error) {
      throw fail(stage, model, error as FatalEndpointError, true);
    }
  }

  /** One backend attempt inside flow control. Backend failures are returned; aborts are thrown. */
  function attempt(stage: StageName, chat: ChatRequest, promptTokens: number, signal: AbortSignal | undefined, key: string | undefined): Promise<AttemptOutcome> {
    return flow.run(promptTokens, signal, async (permit): Promise<AttemptOutcome> => {
      // Queued while another request met a fatal answer: do not send.
      if (fatalSeen !== undefined) throw fatalSeen;
      // On the ledger before the wire: a kill during the request leaves it counted (unconfirmed).
      accounting.recordSent(stage, chat.model);
      if (ledgerFailure !== undefined) {
        accounting.recordUnanswered(stage, chat.model);
        throw ledgerFailure;
      }
      let response: ChatResponse;
      try {
        response = await backend.send(chat, { signal, key });
      } catch (error) {
        if (error instanceof BackendError) {
          accounting.recordUnanswered(stage, chat.model);
          return { ok: false, error, permit };
        }
        accounting.recordAbandoned(stage, chat.model);
        throw error; // the caller aborted, or a bug in the backend
      }
      // Paid on the ledger before the permit goes to the next request: a kill can then leave
      // at most the requests in flight unconfirmed, never an answer already read.
      const usage: Usage = response.usage ?? { prompt_tokens: promptTokens, completion_tokens: estimateTokens(response.text.length) };
      return { ok: true, response, usage, cost: accounting.recordCall(stage, chat.model, usage) };
    });
  }

  async function complete(request: CompletionRequest, responseFormat?: ResponseFormat): Promise<CompletionResult> {
    if (closed) throw new Error('the model gateway is closed');
    if (storageFull !== undefined) throw storageFull;
    if (ledgerFailure !== undefined) throw ledgerFailure;
    const started = Date.now();
    const stage = request.stage;
    const model = modelFor(stage);
    const chat = buildChatRequest(request, model, responseFormat, options.reasoningEffort);
    checkUsable(stage, model);

    const key = cache === undefined ? undefined : chatCacheKey(chat, request.sampleIndex);
    if (cache === undefined || key === undefined) return send(request, stage, chat, undefined, started);
    const hit = cache.get(key);
    if (hit !== undefined) {
      if (claimOffline(key)) {
        // An offline batch's answer (`batch import`), used for the first time: paid, at the
        // batch price, and counted once (a later use is a cache hit like any other). An output
        // line without usage is estimated, as a live answer without usage is.
        const usage = hit.usage.prompt_tokens + hit.usage.completion_tokens > 0 ? hit.usage : { prompt_tokens: estimatePromptTokens(chat), completion_tokens: estimateTokens(hit.text.length) };
        const cost = accounting.recordCall(stage, model, usage, true, offlinePrice);
        counters.offlineCalls++;
        counters.offlineTokens += usage.prompt_tokens + usage.completion_tokens;
        events.emit({ type: 'call', stage, model, cached: false, ...usage, cost_usd: cost, duration_ms: Date.now() - started, attempts: 0 });
      } else {
        accounting.recordCached(stage, model, hit.usage);
        emitCached(stage, model, hit.usage, started);
      }
      const result: CompletionResult = { text: hit.text, finishReason: hit.finishReason, usage: hit.usage, model: hit.model, cached: true };
      if (hit.toolCalls !== undefined) result.toolCalls = hit.toolCalls;
      return result;
    }
    // Identical requests in flight at once share one paid call; the followers count as cache hits.
    const leader = singleFlight.joinable(key);
    if (leader !== undefined) {
      const shared = await leader;
      accounting.recordCached(stage, model, shared.usage);
      emitCached(stage, model, shared.usage, started);
      return { ...shared, cached: true };
    }
    return singleFlight.lead(key, () => send(request, stage, chat, key, started));
  }

  /** {@link ResponseCache.claimOffline}; a cache that cannot be written counts the answer as a hit. */
  function claimOffline(key: string): boolean {
    try {
      return cache?.claimOffline(key) ?? false;
    } catch {
      counters.cacheErrors++;
      return false;
    }
  }

  function emitCached(stage: StageName, model: string, usage: Usage, started: number): void {
    events.emit({ type: 'call', stage, model, cached: true, ...usage, cost_usd: 0, duration_ms: Date.now() - started, attempts: 0 });
  }

  /** The paid part of {@link complete}: attempts with retries, accounting, cache write. */
  async function send(
    request: CompletionRequest,
    stage: StageName,
    chat: ChatRequest,
    key: string | undefined,
    started: number,
  ): Promise<CompletionResult> {
    const model = chat.model;
    const promptEstimate = estimatePromptTokens(chat);
    contextWatch.beforeSend(promptEstimate);
    let lastReason = '';
    let lastStatus: number | undefined;
    let lastWhere = '';

    for (let attemptNo = 1; attemptNo <= options.maxRetries + 1; attemptNo++) {
      // A fatal answer to another request (bad key, no quota) holds for this one too: no call.
      if (fatalSeen !== undefined) throw fail(stage, model, fatalSeen, true);
      // Another request may have opened the breaker while this one waited for a retry.
      if (attemptNo > 1 && breaker.isOpen) checkUsable(stage, model);
      let outcome: AttemptOutcome;
      try {
        outcome = await attempt(stage, chat, promptEstimate, request.signal, key);
      } catch (error) {
        if (error instanceof FatalEndpointError) throw fail(stage, model, error, true);
        throw error;
      }
      if (outcome.ok) return finish(stage, chat, outcome, promptEstimate, key, started, attemptNo);

      const { error, permit } = outcome;
      const failure = error.failure;
      lastWhere = error.where;
      if (failure.action === 'fatal') {
        fatalSeen ??= failure.error;
        throw fail(stage, model, failure.error, true);
      }
      if (failure.action === 'reject') {
        // Refused for its size or content: nothing wrong with the endpoint, so not a breaker failure.
        throw fail(stage, model, failure.error, false);
      }
      lastReason = failure.reason;
      lastStatus = failure.status;
      if (failure.rateLimited) {
        counters.rateLimited++;
        flow.onRateLimited(permit, promptEstimate);
      }
      if (failure.timedOut) counters.timeouts++;
      if (attemptNo > options.maxRetries) break;
      const delay = backoffDelay(attemptNo - 1, {
        baseMs: options.backoffBaseMs,
        maxMs: options.backoffMaxMs,
        retryAfterMs: failure.retryAfterMs,
      });
      counters.retries++;
      accounting.recordRetry(stage, model);
      events.emit({ type: 'retry', stage, model, attempt: attemptNo, reason: failure.reason, status: failure.status, delay_ms: delay });
      await sleep(delay, request.signal);
    }

    const attempts = options.maxRetries + 1;
    const message =
      `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} at ${lastWhere} ` +
      `(model "${model}", stage ${stage}): ${lastReason}`;
    breaker.record(true, redact(lastReason));
    throw fail(stage, model, new TransientEndpointError(message, lastStatus, attempts), false);
  }

  /** A successful attempt (already on the ledger): flow feedback, the cache write, the event. */
  function finish(
    stage: StageName,
    chat: ChatRequest,
    { response, usage, cost }: { response: ChatResponse; usage: Usage; cost: number },
    promptEstimate: number,
    key: string | undefined,
    started: number,
    attempts: number,
  ): CompletionResult {
    const model = chat.model;
    const { text, finishReason, toolCalls } = response;
    contextWatch.afterResponse(promptEstimate, response.usage?.prompt_tokens, model);
    flow.onSuccess(usage.prompt_tokens + usage.completion_tokens, promptEstimate);
    const answeredBy = response.model !== undefined && response.model !== '' ? response.model : model;
    breaker.record(false);
    if (cache !== undefined && key !== undefined && !closed) {
      const entry = { text, finishReason, usage, model: answeredBy, toolCalls };
      try {
        cache.put(key, entry);
      } catch (error) {
        // A full disk or a locked file must not throw away an answer already paid for; but
        // with a full disk no further call is made whose answer could not be kept. The first
        // full disk releases the run's reserve (io/durable.ts): one more try then fits.
        let kept = false;
        if (isDiskFull(error)) {
          storageFull ??= writeFailure(cache.path, error);
          try {
            cache.put(key, entry);
            kept = true;
          } catch {
            // Still no room: counted below.
          }
        }
        if (!kept) counters.cacheErrors++;
      }
    }
    events.emit({ type: 'call', stage, model, cached: false, ...usage, cost_usd: cost, duration_ms: Date.now() - started, attempts });
    const result: CompletionResult = { text, finishReason, usage, model: answeredBy, cached: false };
    if (toolCalls !== undefined) result.toolCalls = toolCalls;
    return result;
  }

  return {
    complete: (request) => complete(request),
    structured: (request) => completeStructured(request, options.structuredOutput, complete, modelFor(request.stage)),
    modelFor,
    endpoint: { baseUrls: [...options.baseUrls], model: options.model },
    usage: () => accounting.report(),
    runUsage(before) {
      if (ledger === undefined) return undefined;
      if (!baseAdopted && before !== undefined) ledger.adoptBase(before);
      baseAdopted = true;
      return mergeUsage(ledger.previous(), accounting.report());
    },
    stats: () => ({
      inFlight: flow.inFlight,
      queued: flow.queued,
      limit: flow.limit,
      maxLimit: options.concurrency,
      retries: counters.retries,
      rateLimited: counters.rateLimited,
      timeouts: counters.timeouts,
      cacheErrors: counters.cacheErrors,
      offlineCalls: counters.offlineCalls,
      offlineTokens: counters.offlineTokens,
      circuitOpen: breaker.isOpen,
      replicas: backend.stats?.() ?? [],
    }),
    onEvent: (listener) => events.on(listener),
    async close() {
      closed = true;
      cache?.close();
      ledger?.close();
      await backend.close?.();
    },
  };
}

/** Opens the usage ledger; closes the cache already opened when it cannot be. */
function openLedger(path: string, cache: ResponseCache | undefined): UsageLedger {
  try {
    return new UsageLedger(path);
  } catch (error) {
    cache?.close();
    throw error;
  }
}

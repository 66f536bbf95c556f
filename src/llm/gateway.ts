/**
 * The model gateway: the one {@link LlmClient} behind every stage. A call goes
 * cache → circuit breaker → concurrency slot → RPM/TPM budgets → transport, and failed
 * attempts are classified (retry.ts) and retried with backoff until they succeed, turn out
 * fatal, or run out of retries.
 */
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Message, StageName, ToolCall, Usage } from '../records.js';
import { ResponseCache, cacheKey } from './cache.js';
import { FatalEndpointError, TransientEndpointError, redact, registerSecret } from './errors.js';
import { AdaptiveLimiter, CircuitBreaker, TokenBucket, type Permit } from './limiter.js';
import { DEFAULT_GATEWAY_OPTIONS, type GatewayOptions } from './options.js';
import { backoffDelay, classifyError, sleep } from './retry.js';
import { MAX_RAW_CHARS, buildStructuredRequest, repairPrompt, validateAnswer, type ResponseFormat } from './structured.js';
import { Transport, TransportError, type ReplicaStats, type SendResult } from './transport.js';
import type { CompletionRequest, CompletionResult, LlmClient, StructuredRequest, StructuredResult } from './types.js';
import { UsageAccounting, type UsageReport } from './usage.js';

/** Options of {@link createGateway}: the required three plus any of {@link GatewayOptions}. */
export type GatewayInit = Pick<GatewayOptions, 'baseUrls' | 'apiKey' | 'model'> &
  Partial<Omit<GatewayOptions, 'baseUrls' | 'apiKey' | 'model'>> & {
    /**
     * How long a replica that failed (connection error, 5xx, timeout) is skipped while others
     * are available, in milliseconds. Minimum 0. @default 10000
     */
    replicaCooldownMs?: number | undefined;
    /** Successes needed for each +1 of the adaptive concurrency limit. Minimum 1. @default 8 */
    adaptiveIncreaseEvery?: number | undefined;
  };

/** A progress event. Listeners run synchronously; keep them cheap. */
export type GatewayEvent =
  | {
      type: 'call';
      stage: StageName;
      model: string;
      /** Served from the cache: no tokens were paid for. */
      cached: boolean;
      prompt_tokens: number;
      completion_tokens: number;
      /** Dollars paid for this call (0 when cached). */
      cost_usd: number;
      /** Wall time including queueing and retries, in milliseconds. */
      duration_ms: number;
      /** HTTP attempts made (0 when cached). */
      attempts: number;
    }
  | {
      type: 'retry';
      stage: StageName;
      model: string;
      /** 1-based number of the attempt that failed. */
      attempt: number;
      reason: string;
      status: number | undefined;
      /** Wait before the next attempt, in milliseconds. */
      delay_ms: number;
    }
  | { type: 'failed'; stage: StageName; model: string; error: string; fatal: boolean };

export type GatewayListener = (event: GatewayEvent) => void;

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
  circuitOpen: boolean;
  replicas: ReplicaStats[];
}

export interface Gateway extends LlmClient {
  /** Calls, tokens and cost per stage and model, and totals. */
  usage(): UsageReport;
  stats(): GatewayStats;
  /** Subscribes to progress events; returns the unsubscribe function. */
  onEvent(listener: GatewayListener): () => void;
  /** Closes the cache. Calls made afterwards throw. */
  close(): Promise<void>;
}

/** Extra, wire-level parts of a request that structured calls add. */
interface WireExtras {
  responseFormat?: ResponseFormat | undefined;
}

function toWireMessage(message: Message): ChatCompletionMessageParam {
  // Only OpenAI wire fields: strict servers refuse unknown members such as reasoning_content.
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant': {
      const out: ChatCompletionMessageParam = { role: 'assistant', content: message.content ?? null };
      if (message.tool_calls !== undefined && message.tool_calls.length > 0) out.tool_calls = message.tool_calls;
      return out;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.tool_call_id, content: message.content };
  }
}

function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

function validateInit(options: GatewayOptions): void {
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new RangeError(`gateway options: ${message}`);
  };
  check(options.baseUrls.length > 0, 'baseUrls must hold at least one URL');
  check(Number.isInteger(options.concurrency) && options.concurrency >= 1, 'concurrency must be an integer ≥ 1');
  check(options.rpm === undefined || options.rpm >= 1, 'rpm must be ≥ 1');
  check(options.tpm === undefined || options.tpm >= 1, 'tpm must be ≥ 1');
  check(options.timeoutMs > 0, 'timeoutMs must be > 0');
  check(Number.isInteger(options.maxRetries) && options.maxRetries >= 0, 'maxRetries must be an integer ≥ 0');
  check(options.backoffBaseMs >= 0 && options.backoffMaxMs >= 0, 'backoff times must be ≥ 0');
  check(options.maxErrorRate > 0 && options.maxErrorRate <= 1, 'maxErrorRate must be in (0, 1]');
  check(Number.isInteger(options.errorWindow) && options.errorWindow >= 1, 'errorWindow must be an integer ≥ 1');
}

/** Creates the gateway. Registers the API key with {@link redact} so no message can leak it. */
export function createGateway(init: GatewayInit): Gateway {
  const options: GatewayOptions = { ...DEFAULT_GATEWAY_OPTIONS, ...dropUndefined(init) } as GatewayOptions;
  validateInit(options);
  registerSecret(options.apiKey);

  const transport = new Transport({
    baseUrls: options.baseUrls,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs,
    cooldownMs: init.replicaCooldownMs,
  });
  const limiter = new AdaptiveLimiter({ max: options.concurrency, increaseEvery: init.adaptiveIncreaseEvery });
  const rpm = options.rpm === undefined ? undefined : new TokenBucket(options.rpm);
  const tpm = options.tpm === undefined ? undefined : new TokenBucket(options.tpm);
  const breaker = new CircuitBreaker({ maxErrorRate: options.maxErrorRate, window: options.errorWindow });
  const cache = options.cachePath === undefined ? undefined : new ResponseCache(options.cachePath);
  const accounting = new UsageAccounting(options.prices);
  const listeners = new Set<GatewayListener>();
  const counters = { retries: 0, rateLimited: 0, timeouts: 0, cacheErrors: 0 };
  let closed = false;

  const modelFor = (stage: StageName): string => options.models[stage] ?? options.model;

  function emit(event: GatewayEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A broken progress display must not fail calls.
      }
    }
  }

  /** Paid calls in flight by cache key, for sharing identical concurrent requests. */
  const inflight = new Map<string, Promise<CompletionResult>>();

  /** The first fatal endpoint error: every later request fails with it, without a call. */
  let fatalSeen: FatalEndpointError | undefined;

  function fail(stage: StageName, model: string, error: Error, fatal: boolean): Error {
    accounting.recordFailure(stage, model);
    emit({ type: 'failed', stage, model, error: error.message, fatal });
    return error;
  }

  /**
   * One HTTP attempt inside a concurrency slot and the RPM/TPM budgets. Transport failures are
   * returned (with the permit, whose generation the AIMD decrease needs); aborts are thrown.
   */
  async function attempt(
    body: ChatCompletionCreateParamsNonStreaming,
    promptTokens: number,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; result: SendResult } | { ok: false; error: TransportError; permit: Permit }> {
    const permit = await limiter.acquire(signal);
    try {
      // The slot is taken first so that a request leaves right after its budget is granted.
      if (rpm !== undefined) await rpm.take(1, signal);
      if (tpm !== undefined) await tpm.take(promptTokens, signal);
      // Queued while another request met a fatal answer: do not send.
      if (fatalSeen !== undefined) throw fatalSeen;
      return { ok: true, result: await transport.send(body, signal) };
    } catch (error) {
      if (error instanceof TransportError) return { ok: false, error, permit };
      throw error; // the caller aborted, or a fatal answer came meanwhile
    } finally {
      permit.release();
    }
  }

  async function complete(request: CompletionRequest, extras: WireExtras = {}): Promise<CompletionResult> {
    if (closed) throw new Error('the model gateway is closed');
    const started = Date.now();
    const stage = request.stage;
    const model = modelFor(stage);
    const messages = request.messages.map(toWireMessage);
    const body: ChatCompletionCreateParamsNonStreaming = { model, messages };
    if (request.tools !== undefined && request.tools.length > 0) body.tools = request.tools;
    if (extras.responseFormat !== undefined) body.response_format = extras.responseFormat;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.top_p !== undefined) body.top_p = request.top_p;
    if (request.max_tokens !== undefined) body.max_tokens = request.max_tokens;
    if (request.seed !== undefined) body.seed = request.seed;

    if (fatalSeen !== undefined) throw fail(stage, model, fatalSeen, true);
    try {
      breaker.check();
    } catch (error) {
      throw fail(stage, model, error as FatalEndpointError, true);
    }

    const key =
      cache === undefined
        ? undefined
        : cacheKey({
            model,
            messages,
            tools: body.tools,
            response_format: body.response_format,
            temperature: body.temperature ?? undefined,
            top_p: body.top_p ?? undefined,
            max_tokens: body.max_tokens ?? undefined,
            seed: body.seed ?? undefined,
            sampleIndex: request.sampleIndex,
          });
    if (cache !== undefined && key !== undefined) {
      const hit = cache.get(key);
      if (hit !== undefined) {
        accounting.recordCached(stage, model, hit.usage);
        const duration_ms = Date.now() - started;
        emit({ type: 'call', stage, model, cached: true, ...hit.usage, cost_usd: 0, duration_ms, attempts: 0 });
        const result: CompletionResult = { text: hit.text, finishReason: hit.finishReason, usage: hit.usage, model: hit.model, cached: true };
        if (hit.toolCalls !== undefined) result.toolCalls = hit.toolCalls;
        return result;
      }
    }

    // Identical requests in flight at once (duplicate boilerplate segments, a resumed run
    // racing its own retries) share one paid call; the followers count as cache hits.
    if (key !== undefined) {
      const leader = inflight.get(key);
      if (leader !== undefined) {
        const shared = await leader;
        accounting.recordCached(stage, model, shared.usage);
        emit({ type: 'call', stage, model, cached: true, ...shared.usage, cost_usd: 0, duration_ms: Date.now() - started, attempts: 0 });
        return { ...shared, cached: true };
      }
      const call = send(request, stage, model, body, key, started);
      inflight.set(key, call);
      try {
        return await call;
      } finally {
        inflight.delete(key);
      }
    }
    return send(request, stage, model, body, key, started);
  }

  /** The paid part of {@link complete}: attempts with retries, accounting, cache write. */
  async function send(
    request: CompletionRequest,
    stage: StageName,
    model: string,
    body: ChatCompletionCreateParamsNonStreaming,
    key: string | undefined,
    started: number,
  ): Promise<CompletionResult> {
    const messages = body.messages;
    const promptChars = messages.reduce((sum, m) => sum + (typeof m.content === 'string' ? m.content.length : 0), 0);
    const promptEstimate = estimateTokens(promptChars);
    let lastReason = '';
    let lastStatus: number | undefined;
    let lastBaseUrl = options.baseUrls[0] ?? '';

    for (let attemptNo = 1; attemptNo <= options.maxRetries + 1; attemptNo++) {
      // A fatal answer to another request (bad key, no quota) holds for this one too: no call.
      if (fatalSeen !== undefined) throw fail(stage, model, fatalSeen, true);
      // Another request may have opened the breaker while this one waited for a retry.
      if (attemptNo > 1 && breaker.isOpen) {
        try {
          breaker.check();
        } catch (error) {
          throw fail(stage, model, error as FatalEndpointError, true);
        }
      }
      let outcome: Awaited<ReturnType<typeof attempt>>;
      try {
        outcome = await attempt(body, promptEstimate, request.signal);
      } catch (error) {
        if (error instanceof FatalEndpointError) throw fail(stage, model, error, true);
        throw error;
      }
      if (!outcome.ok) {
        const { error, permit } = outcome;
        lastBaseUrl = error.baseUrl;
        const verdict = classifyError(error.cause, {
          model,
          baseUrl: error.baseUrl,
          hasResponseFormat: body.response_format !== undefined,
        });
        if (verdict.action === 'fatal') {
          fatalSeen ??= verdict.error;
          throw fail(stage, model, verdict.error, true);
        }
        if (verdict.action === 'reject') {
          // Refused for its size: nothing wrong with the endpoint, so not a breaker failure.
          throw fail(stage, model, verdict.error, false);
        }
        lastReason = verdict.reason;
        lastStatus = verdict.status;
        if (verdict.rateLimited) {
          counters.rateLimited++;
          limiter.onRateLimited(permit);
          tpm?.adjust(-promptEstimate); // a refused request used no tokens
        }
        if (verdict.timedOut) counters.timeouts++;
        if (verdict.replicaFault) transport.markFailed(error.baseUrl);
        if (attemptNo > options.maxRetries) break;
        const delay = backoffDelay(attemptNo - 1, {
          baseMs: options.backoffBaseMs,
          maxMs: options.backoffMaxMs,
          retryAfterMs: verdict.retryAfterMs,
        });
        counters.retries++;
        accounting.recordRetry(stage, model);
        emit({ type: 'retry', stage, model, attempt: attemptNo, reason: verdict.reason, status: verdict.status, delay_ms: delay });
        await sleep(delay, request.signal);
        continue;
      }

      const { completion } = outcome.result;
      limiter.onSuccess();
      const choice = completion.choices[0];
      const text = choice?.message?.content ?? '';
      const finishReason = choice?.finish_reason ?? 'unknown';
      const usage: Usage = completion.usage
        ? { prompt_tokens: completion.usage.prompt_tokens ?? 0, completion_tokens: completion.usage.completion_tokens ?? 0 }
        : { prompt_tokens: promptEstimate, completion_tokens: estimateTokens(text.length) };
      tpm?.adjust(usage.prompt_tokens + usage.completion_tokens - promptEstimate);
      const toolCalls = extractToolCalls(choice?.message?.tool_calls);
      const answeredBy = typeof completion.model === 'string' && completion.model !== '' ? completion.model : model;
      breaker.record(false);
      const cost = accounting.recordCall(stage, model, usage);
      if (cache !== undefined && key !== undefined && !closed) {
        try {
          cache.put(key, { text, finishReason, usage, model: answeredBy, toolCalls });
        } catch {
          // A full disk or a locked file must not throw away an answer already paid for.
          counters.cacheErrors++;
        }
      }
      const duration_ms = Date.now() - started;
      emit({ type: 'call', stage, model, cached: false, ...usage, cost_usd: cost, duration_ms, attempts: attemptNo });
      const result: CompletionResult = { text, finishReason, usage, model: answeredBy, cached: false };
      if (toolCalls !== undefined) result.toolCalls = toolCalls;
      return result;
    }

    const attempts = options.maxRetries + 1;
    const message =
      `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} at ${lastBaseUrl} ` +
      `(model "${model}", stage ${stage}): ${lastReason}`;
    breaker.record(true, redact(lastReason));
    throw fail(stage, model, new TransientEndpointError(message, lastStatus, attempts), false);
  }

  async function structured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    const maxRepairs = request.maxRepairs ?? 2;
    const built = buildStructuredRequest(options.structuredOutput, request.messages, request.schema, request.schemaName);
    let messages = built.messages;
    const usage: Usage = { prompt_tokens: 0, completion_tokens: 0 };
    let last: CompletionResult | undefined;
    let problems: string[] = [];
    let attempts = 0;
    for (let attemptNo = 1; attemptNo <= maxRepairs + 1; attemptNo++) {
      attempts = attemptNo;
      last = await complete({ ...request, messages }, { responseFormat: built.responseFormat });
      usage.prompt_tokens += last.usage.prompt_tokens;
      usage.completion_tokens += last.usage.completion_tokens;
      const verdict = validateAnswer(last.text, last.finishReason, request.schema);
      if (verdict.ok) return { ok: true, value: verdict.value, raw: last.text, model: last.model, usage, attempts: attemptNo };
      problems = verdict.problems;
      // A cut-off answer re-asked with itself in context is nearly always cut off again, at
      // the price of the longest calls: give up at once and let the record be rejected.
      if (last.finishReason === 'length') break;
      messages = [...messages, { role: 'assistant', content: last.text }, { role: 'user', content: repairPrompt(problems) }];
    }
    const raw = last?.text ?? '';
    return {
      ok: false,
      error: problems.join('; '),
      raw: raw.length > MAX_RAW_CHARS ? raw.slice(0, MAX_RAW_CHARS) : raw,
      model: last?.model ?? modelFor(request.stage),
      usage,
      attempts,
    };
  }

  return {
    complete: (request) => complete(request),
    structured,
    modelFor,
    usage: () => accounting.report(),
    stats: () => ({
      inFlight: limiter.inFlight,
      queued: limiter.queued,
      limit: limiter.limit,
      maxLimit: options.concurrency,
      retries: counters.retries,
      rateLimited: counters.rateLimited,
      timeouts: counters.timeouts,
      cacheErrors: counters.cacheErrors,
      circuitOpen: breaker.isOpen,
      replicas: transport.stats(),
    }),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      cache?.close();
      return Promise.resolve();
    },
  };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Function tool calls of an answer in the records' shape; `undefined` when there are none. */
function extractToolCalls(calls: unknown): ToolCall[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  const out: ToolCall[] = [];
  for (const call of calls as Array<{ id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }>) {
    if (call.type !== 'function' || call.function === undefined) continue;
    out.push({
      id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${out.length + 1}`,
      type: 'function',
      function: {
        name: typeof call.function.name === 'string' ? call.function.name : '',
        arguments: typeof call.function.arguments === 'string' ? call.function.arguments : '{}',
      },
    });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * An in-memory {@link ModelBackend} for tests: a script answers each request (or throws a
 * {@link BackendError}), and every request is recorded. No HTTP, no timers.
 *
 * ```ts
 * const backend = new FakeBackend(() => ({ text: 'hi', finishReason: 'stop' }));
 * const gateway = createGateway({ model: 'm', backend });
 * ```
 */
import type { ChatRequest, ChatResponse, ModelBackend, SendOptions } from '../llm/backend.js';

/**
 * Answers the `callNo`-th request (1-based, over the backend's life). Return an answer, throw
 * (a {@link BackendError} for a classified failure), or return a promise to hold the call open.
 */
export type FakeScript = (request: ChatRequest, callNo: number) => ChatResponse | Promise<ChatResponse>;

export class FakeBackend implements ModelBackend {
  /** Every request received, in order. */
  readonly requests: ChatRequest[] = [];
  /** True once `close()` was called. */
  closed = false;

  constructor(private readonly script: FakeScript) {}

  async send(request: ChatRequest, options: SendOptions = {}): Promise<ChatResponse> {
    if (options.signal?.aborted) throw options.signal.reason;
    this.requests.push(request);
    return this.script(request, this.requests.length);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

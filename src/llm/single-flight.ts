/**
 * Identical requests in flight at once (duplicate boilerplate segments, a resumed run racing
 * its own retries) share one paid call: the first caller leads, later ones await its result.
 */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  /** The leader's promise for `key`, when a call with that key is in flight. */
  joinable(key: string): Promise<T> | undefined {
    return this.inflight.get(key);
  }

  /** Runs `call` as the leader for `key` until it settles. */
  async lead(key: string, call: () => Promise<T>): Promise<T> {
    const promise = call();
    this.inflight.set(key, promise);
    try {
      return await promise;
    } finally {
      this.inflight.delete(key);
    }
  }
}

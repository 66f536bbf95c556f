/**
 * A bounded task runner: at most `limit` tasks run at once, `run()` waits for a free slot
 * before starting one (backpressure for the input reader), and the first failure is kept
 * so the caller can stop feeding and rethrow it after the tasks in flight have settled.
 */
export class BoundedRunner {
  private active = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  private current: number;
  /** First error thrown by a task, if any. */
  error: unknown = undefined;

  constructor(
    /** Tasks in flight at once, until {@link setLimit} changes it. Minimum 1. */
    limit: number,
  ) {
    checkLimit(limit);
    this.current = limit;
  }

  /** Tasks in flight at once. */
  get limit(): number {
    return this.current;
  }

  /**
   * Changes the limit. Lowering it stops nothing: tasks in flight finish, and no new one starts
   * until fewer than `limit` run. Raising it starts waiting tasks at once. Minimum 1.
   */
  setLimit(limit: number): void {
    checkLimit(limit);
    this.current = limit;
    for (let free = limit - this.active; free > 0 && this.waiters.length > 0; free--) this.waiters.shift()?.();
  }

  /** Starts `task` once a slot is free; resolves when it has started (not finished). */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.current) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.active++;
    // Through a promise, so that a task that throws synchronously still frees its slot.
    void Promise.resolve()
      .then(task)
      .catch((error: unknown) => {
        this.error ??= error;
      })
      .finally(() => {
        this.active--;
        if (this.active < this.current) this.waiters.shift()?.();
        if (this.active === 0) for (const done of this.idle.splice(0)) done();
      });
  }

  /** Resolves when no task is in flight. */
  async drain(): Promise<void> {
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  get inFlight(): number {
    return this.active;
  }

  /** True when a caller of {@link run} waits for a slot. */
  get full(): boolean {
    return this.waiters.length > 0;
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
}

/** A counting semaphore: `use(fn)` runs `fn` once one of `limit` permits is free. */
export class Semaphore {
  private free: number;
  private waiters: Array<() => void> = [];

  constructor(
    /** Permits. Minimum 1. */
    readonly limit: number,
  ) {
    checkLimit(limit);
    this.free = limit;
  }

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next !== undefined) next();
      else this.free++;
    }
  }
}

/**
 * Like `Promise.all`, but waits for every promise to settle before rethrowing the first
 * failure: no work of a failed group keeps running after its caller has moved on.
 */
export async function settleAll<T>(promises: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Stable shard of an id: FNV-1a over UTF-16 code units, modulo the shard count. */
export function shardOf(id: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}

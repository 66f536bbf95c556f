/**
 * The one runner. It streams input items through an ordered list of steps with bounded
 * concurrency and no barrier between steps — a record moves on as soon as its step finishes,
 * so the endpoint stays busy — and owns, once, what every step would otherwise repeat:
 *
 * - the guarded call: the gateway's `TransientEndpointError` becomes a *retryable* rejection
 *   (the item is not marked done, a rerun tries it again) and `RequestRejectedError` a refusal
 *   the step interprets (default: a final rejection with the endpoint's reason);
 * - rejection writing (every reason, the raw answer of a parse failure);
 * - resume: a record already rejected at a step is done; a step with a store reads its output
 *   back instead of running again; an item whose whole tree finished is skipped by id;
 * - progress ticks, one label per step (and `rejected`, `documents`);
 * - input order for the leading `ordered` steps (segment, dedup): they run on the reading loop,
 *   one item at a time, before the item's records fan out to concurrent work;
 * - a `FatalEndpointError` (bad key, no quota, error storm) stops feeding work, lets what is in
 *   flight settle and is returned, so the caller writes run.json and says why in one message.
 */
import { setMaxListeners } from 'node:events';
import type { Reason, Rejection } from '../records.js';
import { FatalEndpointError, RequestRejectedError, TransientEndpointError } from '../llm/errors.js';
import { startAdmission } from './admission.js';
import { IN_FLIGHT_TICK, RESUMED_TICK } from './progress.js';
import { BoundedRunner, Semaphore, settleAll, shardOf } from './pool.js';
import type { RunDirectory } from './run-dir.js';
import { checkChain, orderedPrefix, type Step, type StepContext, type StepOutcome } from './step.js';

/** Finished items marked done together, at most. */
const MARK_GROUP = 64;
/** Longest wait before finished items are marked done, in milliseconds. */
const MARK_DELAY_MS = 200;

/** One item of an input source: a record for the first step, or the reason it is not one. */
export type SourceItem =
  | {
      kind: 'record';
      /** Unit of resume and sharding (a document id; a record id for single-stage commands). */
      id: string;
      record: unknown;
      /** Source text known up front (single-stage commands read it from a segments file). */
      sourceText?: string | undefined;
    }
  | { kind: 'rejection'; rejection: Rejection };

/** Something that counts progress; see progress.ts. */
export interface Ticker {
  tick(label: string, n?: number): void;
}

/** What happened, for summaries that are not derived from the files (validate's). */
export type EngineEvent =
  | { type: 'output'; step: string; record: unknown; final: boolean; resumed: boolean }
  | { type: 'rejected'; step: string; rejection: Rejection; resumed: boolean }
  | { type: 'item'; skipped: boolean };

export interface EngineOptions {
  /**
   * The command these steps serve (`run`, `synthesize`, `filter`, `extract`, …): finished items
   * are remembered per mode, so one command's progress never skips another's work.
   */
  mode: string;
  /** Input items in process at once. Minimum 1. @default 8 */
  itemConcurrency?: number | undefined;
  /**
   * Adapt the items in process to what limits the run (admission.ts): fewer, down to 16, while
   * gemtraj's own CPU is the bottleneck, back up to `itemConcurrency` when the event loop has
   * time to spare and the reader waits for a slot. @default false (a fixed window)
   */
  adaptiveItems?: boolean | undefined;
  /**
   * Records made by the first step (segments of a document) in process at once, over all
   * items: one huge document cannot flood the queue. Minimum 1. @default itemConcurrency
   */
  recordConcurrency?: number | undefined;
  /** Process only the first N items (after sharding). Minimum 1. */
  maxItems?: number | undefined;
  /** Only items whose id hashes to shard `index` of `count`. */
  shard?: { index: number; count: number } | undefined;
  /** Remember finished items in progress.jsonl and skip them on rerun. @default true */
  markDone?: boolean | undefined;
  /** Stop requested (SIGINT, SIGTERM): finish what is in flight, start nothing new. */
  signal?: AbortSignal | undefined;
  /**
   * After a stop, no step starts, and model calls in flight may finish (their answers are paid
   * for and cached) for this long; then they are aborted and their items left for the rerun. Milliseconds,
   * minimum 0. @default 20000 (schedulers such as Kubernetes kill after 30 s)
   */
  stopGraceMs?: number | undefined;
  progress?: Ticker | undefined;
  onEvent?: ((event: EngineEvent) => void) | undefined;
}

export interface EngineResult {
  /** Items read this time (after sharding and max-items). */
  itemsSeen: number;
  /** Items skipped because an earlier run finished them. */
  itemsSkipped: number;
  /** Set when the run stopped early; the message says why. */
  stoppedBy: FatalEndpointError | undefined;
  interrupted: boolean;
}

export async function runSteps(
  input: AsyncIterable<SourceItem>,
  steps: readonly Step[],
  dir: RunDirectory,
  options: EngineOptions,
): Promise<EngineResult> {
  checkChain(steps);
  if (steps.length === 0) throw new TypeError('pipeline: no steps');
  // Every request in flight listens to the stop signal: more than Node's default ten is normal.
  if (options.signal !== undefined) setMaxListeners(0, options.signal);
  const state = dir.state;
  const itemConcurrency = options.itemConcurrency ?? 8;
  const runner = new BoundedRunner(itemConcurrency);
  const stopAdmission = options.adaptiveItems === true ? startAdmission(runner, { max: itemConcurrency }) : undefined;
  const recordSlots = new Semaphore(options.recordConcurrency ?? itemConcurrency);
  const markDone = options.markDone ?? true;
  const tick = (label: string): void => options.progress?.tick(label);
  const emit = (event: EngineEvent): void => options.onEvent?.(event);
  let seen = 0;
  let skipped = 0;
  let fatal: FatalEndpointError | undefined;

  // Finished items are marked done in groups: one sync of every output file per group instead
  // of per item. Records still reach the disk before the mark that lets a rerun skip their item;
  // a crash only means the last groups are redone (from the stores and the response cache).
  // The syncs run on libuv's pool (on the event loop they blocked it ~1.2 ms a file, 8 % of a
  // fast run's wall time), one group after another, each group's marks once its syncs are done.
  const doneWaiting: string[] = [];
  let markTimer: NodeJS.Timeout | undefined;
  /** The groups' syncs and marks, in order; rejected for good by the first failure (no later group is marked). */
  let marks: Promise<void> = Promise.resolve();
  /** Every sync started and not settled: none may be in flight when the caller closes the files. */
  const syncing = new Set<Promise<void>>();
  /** Set by the first failed sync or mark, or once the run is over: no group is synced or marked after it. */
  let marking = true;
  const markDoneNow = (): void => {
    if (markTimer !== undefined) clearTimeout(markTimer);
    markTimer = undefined;
    if (!marking || doneWaiting.length === 0) return;
    for (const step of steps) step.flush?.();
    const ids = doneWaiting.splice(0);
    // Started now, so that it covers exactly the records written so far; handled here, so that
    // a failure behind an earlier one is no unhandled rejection.
    const durable = dir.syncOutputsAsync();
    syncing.add(durable);
    void durable.then(
      () => syncing.delete(durable),
      () => syncing.delete(durable),
    );
    marks = marks.then(() => durable).then(() => {
      for (const id of ids) state.progress.write({ id, mode: options.mode });
    });
    // The run stops on a failed sync or mark as it did when they were synchronous.
    marks.catch((error: unknown) => {
      marking = false;
      runner.error ??= error;
    });
  };
  /** Marks every finished group and waits for its syncs; throws the first failure. */
  const markAllDone = async (): Promise<void> => {
    markDoneNow();
    await marks;
  };
  /** Stops marking and waits for every sync in flight (however the run ends). */
  const settleSyncs = async (): Promise<void> => {
    marking = false;
    if (markTimer !== undefined) clearTimeout(markTimer);
    markTimer = undefined;
    while (syncing.size > 0) await Promise.allSettled([...syncing]);
    await marks.catch(() => undefined);
  };
  const markLater = (id: string): void => {
    if (!marking) return;
    doneWaiting.push(id);
    if (doneWaiting.length >= MARK_GROUP) markDoneNow();
    else markTimer ??= setTimeout(() => {
      try {
        markDoneNow();
      } catch (error) {
        runner.error ??= error;
      }
    }, MARK_DELAY_MS);
  };
  // Leading ordered steps run in input order; the records they make are where concurrency starts.
  const ordered = orderedPrefix(steps);
  const fanout = Math.max(ordered, 1);
  interface Pending {
    record: unknown;
    context: StepContext;
  }
  // Steps get their own signal: a stop lets calls in flight finish within the grace period.
  const calls = new AbortController();
  setMaxListeners(0, calls.signal);
  let grace: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    grace = setTimeout(() => calls.abort(), Math.max(0, options.stopGraceMs ?? 20_000));
    grace.unref();
  };
  if (options.signal?.aborted === true) onStop();
  else options.signal?.addEventListener('abort', onStop, { once: true });

  function reject(step: Step, rejection: Rejection): void {
    if (dir.rejectedAt(rejection.stage, rejection.id)) return;
    dir.reject(rejection);
    emit({ type: 'rejected', step: step.name, rejection, resumed: false });
    if (rejection.retryable !== true) tick('rejected');
  }

  /** Runs the step; endpoint failures become outcomes, anything else (fatal) propagates. */
  async function guarded(step: Step, record: unknown, context: StepContext): Promise<StepOutcome<unknown>> {
    try {
      return await step.run(record, context);
    } catch (error) {
      if (error instanceof RequestRejectedError) return { kind: 'refused', reason: { check: error.check, message: error.message } };
      if (error instanceof TransientEndpointError) return { kind: 'retryable', reason: { check: 'llm_unavailable', message: error.message } };
      // Aborted after a stop's grace period: not an outcome; the rerun does it again.
      if (calls.signal.aborted) return { kind: 'retryable', reason: { check: 'interrupted', message: 'stopped before the answer came; a rerun does it' } };
      throw error;
    }
  }

  /**
   * Takes `record` through step `i` and the ones after; true when its whole tree is done. With
   * `frontier`, stops after the ordered steps and leaves their records there instead.
   */
  async function advance(i: number, record: unknown, context: StepContext, frontier?: Pending[]): Promise<boolean> {
    if (frontier !== undefined && i === ordered) {
      frontier.push({ record, context });
      return true;
    }
    const step = steps[i];
    if (step === undefined) return true;
    if (step.accepts !== undefined && !step.accepts(record)) return true;
    const key = step.keyOf(record);
    if (dir.rejectedAt(step.name, key)) {
      emit({ type: 'rejected', step: step.name, rejection: { stage: step.name, id: key, reasons: [{ check: 'resumed', message: 'decided by an earlier run' }] }, resumed: true });
      return true;
    }
    const last = i === steps.length - 1;
    const store = step.store === undefined ? undefined : state[step.store];
    let outcome: StepOutcome<unknown>;
    let resumed = false;
    if (store !== undefined && last && store.has(key)) {
      emit({ type: 'output', step: step.name, record: undefined, final: true, resumed: true });
      return true;
    }
    const stored = store?.get(key);
    if (stored !== undefined) {
      outcome = { kind: 'out', records: [stored] };
      resumed = true;
    } else if (options.signal?.aborted === true) {
      // Stopping: what is in flight settles, but no step starts (no new paid call); the rerun
      // picks the record up here, from the outputs already stored.
      outcome = { kind: 'retryable', reason: { check: 'interrupted', message: 'stopped before this step started; a rerun does it' } };
    } else {
      outcome = await guarded(step, record, context);
    }
    if (outcome.kind === 'refused') {
      outcome = step.onRefused?.(record, outcome.reason) ?? { kind: 'reject', reasons: [outcome.reason] };
    }
    switch (outcome.kind) {
      case 'retryable':
        reject(step, { stage: step.name, id: key, source: step.sourceOf(record), retryable: true, reasons: [outcome.reason] });
        return false;
      case 'refused': // onRefused answered with another refusal: final
      case 'reject': {
        const reasons: Reason[] = outcome.kind === 'refused' ? [outcome.reason] : outcome.reasons;
        const raw = outcome.kind === 'reject' ? outcome.raw : undefined;
        reject(step, { stage: step.name, id: key, source: step.sourceOf(record), reasons, ...(raw !== undefined ? { raw } : {}) });
        return true;
      }
      case 'out':
        break;
    }
    const outputs = outcome.records;
    if (store !== undefined && outputs.length > 1) throw new TypeError(`pipeline: step "${step.name}" has a store and made ${outputs.length} records`);
    for (const output of outputs) {
      if (!resumed && store !== undefined) store.write(output as never);
      if (!resumed) tick(step.name);
      emit({ type: 'output', step: step.name, record: output, final: last, resumed });
    }
    if (last) return true;
    const next = (output: unknown): Promise<boolean> =>
      advance(i + 1, output, { ...context, sourceText: step.textOf?.(output) ?? context.sourceText }, frontier);
    // Records made by the first step share one bound across items (see recordConcurrency).
    const bounded = frontier === undefined && i + 1 === fanout;
    const results = await settleAll(outputs.map((output) => (bounded ? recordSlots.use(() => next(output)) : next(output))));
    return results.every(Boolean);
  }

  // The admission timer, the grace timer and the stop listener go however the run ends (an
  // input error leaves through the loop).
  try {
    try {
      await readInput();
    } catch (error) {
      // An input that cannot be read on, or an ordered step that failed: what is in flight
      // finishes and what finished stays finished, as on a stop, before the error goes up (and
      // the caller closes the files).
      await runner.drain();
      try {
        await markAllDone();
      } catch {
        // the input error is the one to report
      }
      throw error;
    }
    await runner.drain();
    try {
      await markAllDone();
    } catch (error) {
      runner.error ??= error;
    }
    if (runner.error !== undefined) throw runner.error;
    return { itemsSeen: seen, itemsSkipped: skipped, stoppedBy: fatal, interrupted: options.signal?.aborted === true };
  } finally {
    stopAdmission?.();
    // However the run ends: a caller's signal outlives the run (the CLI's, a server's), and a
    // stop after it must not hold this run's closures or start its grace timer.
    clearTimeout(grace);
    options.signal?.removeEventListener('abort', onStop);
    // However the run ends, no sync is left in flight when the caller closes the files.
    await settleSyncs();
  }

  /** The reading loop: admits every item of the input, in order. */
  async function readInput(): Promise<void> {
    for await (const item of input) {
      if (fatal !== undefined || options.signal?.aborted === true) break;
      const id = item.kind === 'record' ? item.id : item.rejection.id;
      if (options.shard !== undefined && shardOf(id, options.shard.count) !== options.shard.index) continue;
      if (options.maxItems !== undefined && seen >= options.maxItems) break;
      seen++;
      if (item.kind === 'rejection') {
        if (dir.rejectedAt(item.rejection.stage, item.rejection.id)) {
          emit({ type: 'rejected', step: item.rejection.stage, rejection: item.rejection, resumed: true });
        } else {
          dir.reject(item.rejection);
          emit({ type: 'rejected', step: item.rejection.stage, rejection: item.rejection, resumed: false });
        }
        emit({ type: 'item', skipped: false });
        tick('documents');
        continue;
      }
      if (markDone && state.progress.has(`${options.mode}:${item.id}`)) {
        skipped++;
        emit({ type: 'item', skipped: true });
        tick(RESUMED_TICK); // done by an earlier run: not part of this run's rate
        tick('documents');
        continue;
      }
      const context: StepContext = { sourceText: item.sourceText, signal: calls.signal };
      // The ordered steps, here on the reading loop: item by item, in input order.
      let frontier: Pending[] | undefined;
      let prefixDone = true;
      if (ordered > 0) {
        frontier = [];
        // A failure here goes up through the reading loop's catch: what finished stays finished.
        prefixDone = await advance(0, item.record, context, frontier);
      }
      const pending = frontier;
      await runner.run(async () => {
        // Ctrl-C while this item waited for a slot: leave it for the rerun.
        if (options.signal?.aborted === true) return;
        // Items being worked on, for the projected cost (their calls are in the cost so far).
        tick(IN_FLIGHT_TICK);
        try {
          const done =
            pending === undefined
              ? await advance(0, item.record, context)
              : (await settleAll(pending.map((p) => recordSlots.use(() => advance(ordered, p.record, p.context))))).every(Boolean) && prefixDone;
          // An item with a retryable failure stays unfinished so that a rerun retries it.
          if (done && markDone) markLater(item.id);
          emit({ type: 'item', skipped: false });
          tick('documents');
        } catch (error) {
          if (error instanceof FatalEndpointError) fatal ??= error;
          else throw error;
        } finally {
          options.progress?.tick(IN_FLIGHT_TICK, -1);
        }
      });
      if (runner.error !== undefined) break;
    }
  }
}

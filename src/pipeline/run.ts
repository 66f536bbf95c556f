/**
 * `gemtraj run` / `gemtraj synthesize` / `gemtraj filter`: stream documents through the
 * steps with bounded concurrency and no barrier between stages — a segment moves on as soon
 * as its previous step finishes, so the endpoint stays busy.
 *
 * Failure policy:
 * - bad data (unparseable answer, invalid trajectory) → a rejection with reasons; the run goes on;
 * - an endpoint failure after retries (TransientEndpointError) → a *retryable* rejection; the
 *   document is not marked done, so a rerun tries it again;
 * - an endpoint that cannot be used (FatalEndpointError: bad key, no quota, unknown model,
 *   error-rate circuit open) → stop feeding work, let in-flight work settle, write run.json,
 *   and rethrow: one clear message, nothing already done lost.
 */
import type { Document, Extraction, Reason, Rejection, Segment, Trajectory } from '../records.js';
import { FatalEndpointError, RequestRejectedError, TransientEndpointError } from '../llm/errors.js';
import type { InputItem } from '../io/documents.js';
import { trajectoryId } from '../records.js';
import { chooseRefined } from '../stages/refine.js';
import type { StageOutcome } from '../stages/types.js';
import { BoundedRunner, Semaphore, settleAll, shardOf } from './pool.js';
import type { Progress } from './progress.js';
import type { RunDirectory } from './run-dir.js';

/** A segment before the filter has scored it. */
export type SegmentDraft = Omit<Segment, 'score' | 'keep' | 'by' | 'labels' | 'reason'>;

/** What the filter decided for one segment. */
export type FilterDecision = Pick<Segment, 'score' | 'keep' | 'by'> & Partial<Pick<Segment, 'labels' | 'reason'>>;

export interface JudgeOutcome {
  ok: boolean;
  reasons: Reason[];
  verdict: Record<string, number>;
  /** Failed rubrics that are not required: kept on the record, not rejected. */
  warnings?: Reason[] | undefined;
}

/** The composable steps of a run; `buildSteps` makes the standard ones from the config. */
export interface PipelineSteps {
  segment(doc: Document): SegmentDraft[];
  filter(segment: SegmentDraft): Promise<FilterDecision>;
  /** Absent in filter-only runs: kept segments stop after `segments.jsonl`. */
  extract?: ((segment: Segment) => Promise<StageOutcome<Extraction>>) | undefined;
  generate?: ((extraction: Extraction, workflowIndex: number, sourceText: string) => Promise<StageOutcome<Trajectory>>) | undefined;
  /** Synthesize mode: one call from segment to trajectory, instead of extract + generate. */
  synthesize?: ((segment: Segment) => Promise<StageOutcome<Trajectory>>) | undefined;
  refine?: ((trajectory: Trajectory, sourceText: string) => Promise<StageOutcome<Trajectory>>) | undefined;
  validate(trajectory: Trajectory): { errors: Reason[]; warnings: Reason[] };
  judge?: ((trajectory: Trajectory, sourceText: string) => Promise<JudgeOutcome>) | undefined;
}

export interface PipelineOptions {
  /** The command (`run`, `synthesize`, `filter`): finished documents are remembered per mode. */
  mode: string;
  /** Documents processed at once. Minimum 1. */
  documentConcurrency: number;
  /** Segments processed at once, over all documents. Minimum 1. @default documentConcurrency */
  segmentConcurrency?: number | undefined;
  /** Process only the first N documents (after sharding). */
  maxDocs?: number | undefined;
  shard?: { index: number; count: number } | undefined;
  /** Stop requested (SIGINT): finish what is in flight, start nothing new. */
  signal?: AbortSignal | undefined;
}

export interface PipelineResult {
  /** Documents read from the input this time (after sharding and max-docs). */
  documentsSeen: number;
  /** Documents skipped because an earlier run finished them. */
  documentsSkipped: number;
  /** Set when the run stopped early; the message says why. */
  stoppedBy: FatalEndpointError | undefined;
  interrupted: boolean;
}

/** A step's result when an endpoint failure made its record retryable (rejection written). */
const RETRYABLE = Symbol('retryable');
/** A step's result when the endpoint refused this one request (too long, content policy). */
class Refused {
  constructor(readonly reason: Reason) {}
}

export async function runPipeline(
  input: AsyncIterable<InputItem>,
  steps: PipelineSteps,
  dir: RunDirectory,
  options: PipelineOptions,
  progress: Progress,
): Promise<PipelineResult> {
  const state = dir.s;
  const runner = new BoundedRunner(options.documentConcurrency);
  const segmentSlots = new Semaphore(options.segmentConcurrency ?? options.documentConcurrency);
  let seen = 0;
  let skipped = 0;
  let fatal: FatalEndpointError | undefined;

  const reject = (rejection: Rejection): void => dir.reject(rejection);

  /** Runs a step; turns endpoint failures into rejections (retryable when the endpoint was at fault). */
  async function guarded<T>(stage: Rejection['stage'], id: string, source: Rejection['source'], fn: () => Promise<T>): Promise<T | typeof RETRYABLE | Refused> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof RequestRejectedError) return new Refused({ check: error.check, message: error.message });
      if (error instanceof TransientEndpointError) {
        reject({
          stage,
          id,
          source,
          retryable: true,
          reasons: [{ check: 'llm_unavailable', message: error.message }],
        });
        return RETRYABLE;
      }
      throw error;
    }
  }

  async function finishTrajectory(trajectory: Trajectory, sourceText: string): Promise<boolean> {
    const id = trajectory.id;
    if (state.final.has(id) || dir.rejectedAt('validate', id) || dir.rejectedAt('judge', id)) return true;
    const check = steps.validate(trajectory);
    if (check.errors.length > 0) {
      reject({ stage: 'validate', id, source: trajectory.source, reasons: check.errors });
      progress.tick('rejected');
      return true;
    }
    let final: Trajectory = check.warnings.length > 0 ? withMeta(trajectory, { warnings: check.warnings }) : trajectory;
    if (steps.judge !== undefined) {
      const judged = await guarded('judge', id, trajectory.source, () => steps.judge!(final, sourceText));
      if (judged === RETRYABLE) return false;
      if (judged instanceof Refused) {
        reject({ stage: 'judge', id, source: trajectory.source, reasons: [judged.reason] });
        return true;
      }
      if (!judged.ok) {
        reject({ stage: 'judge', id, source: trajectory.source, reasons: judged.reasons });
        progress.tick('rejected');
        return true;
      }
      const warnings = [...(final.meta?.warnings ?? []), ...(judged.warnings ?? [])];
      final = withMeta(final, warnings.length > 0 ? { judge: judged.verdict, warnings } : { judge: judged.verdict });
    }
    state.final.write(final);
    progress.tick('passed');
    return true;
  }

  async function refineAndFinish(raw: Trajectory, sourceText: string): Promise<boolean> {
    const stored = state.refined.get(raw.id);
    if (stored !== undefined) return finishTrajectory(stored, sourceText);
    let candidate = raw;
    if (steps.refine !== undefined) {
      const refined = await guarded('refine', raw.id, raw.source, () => steps.refine!(raw, sourceText));
      if (refined === RETRYABLE) return false;
      candidate =
        refined instanceof Refused
          ? withMeta(raw, { refine_fallback: [refined.reason] })
          : chooseRefined(raw, refined, (t) => steps.validate(t));
      state.refined.write(candidate);
      progress.tick('refine');
    }
    return finishTrajectory(candidate, sourceText);
  }

  async function processWorkflow(extraction: Extraction, k: number, sourceText: string, id: string): Promise<boolean> {
    if (state.final.has(id) || dir.rejectedAt('generate', id) || dir.rejectedAt('validate', id) || dir.rejectedAt('judge', id)) return true;
    // Resumed: a trajectory generated before the stop is read back, not generated again.
    const stored = state.raw.get(id);
    if (stored !== undefined) return refineAndFinish(stored, sourceText);
    const generated = await guarded('generate', id, { ...extraction.source, workflow_index: k }, () => steps.generate!(extraction, k, sourceText));
    if (generated === RETRYABLE) return false;
    if (generated instanceof Refused) {
      reject({ stage: 'generate', id, source: { ...extraction.source, workflow_index: k }, reasons: [generated.reason] });
      return true;
    }
    if (!generated.ok) {
      reject({ stage: 'generate', id, source: { ...extraction.source, workflow_index: k }, reasons: generated.reasons, raw: generated.raw });
      progress.tick('rejected');
      return true;
    }
    state.raw.write(generated.value);
    progress.tick('generate');
    return refineAndFinish(generated.value, sourceText);
  }

  async function processKept(segment: Segment): Promise<boolean> {
    const source = { doc_id: segment.doc_id, segment_id: segment.id };
    if (steps.synthesize !== undefined) {
      const id = trajectoryId(segment.id, 0);
      if (state.final.has(id) || dir.rejectedAt('synthesize', id) || dir.rejectedAt('validate', id) || dir.rejectedAt('judge', id)) return true;
      const stored = state.raw.get(id);
      if (stored !== undefined) return finishTrajectory(stored, segment.text);
      const out = await guarded('synthesize', id, source, () => steps.synthesize!(segment));
      if (out === RETRYABLE) return false;
      if (out instanceof Refused) {
        reject({ stage: 'synthesize', id, source, reasons: [out.reason] });
        return true;
      }
      if (!out.ok) {
        reject({ stage: 'synthesize', id, source, reasons: out.reasons, raw: out.raw });
        progress.tick('rejected');
        return true;
      }
      state.raw.write(out.value);
      progress.tick('synthesize');
      return finishTrajectory(out.value, segment.text);
    }
    if (steps.extract === undefined || steps.generate === undefined) return true;
    if (dir.rejectedAt('extract', segment.id)) return true;
    const stored = state.extractions.get(segment.id);
    if (stored !== undefined) return processWorkflows(stored, segment);
    const extracted = await guarded('extract', segment.id, source, () => steps.extract!(segment));
    if (extracted === RETRYABLE) return false;
    if (extracted instanceof Refused) {
      reject({ stage: 'extract', id: segment.id, source, reasons: [extracted.reason] });
      return true;
    }
    if (!extracted.ok) {
      reject({ stage: 'extract', id: segment.id, source, reasons: extracted.reasons, raw: extracted.raw });
      progress.tick('rejected');
      return true;
    }
    const extraction = extracted.warnings.length > 0 ? { ...extracted.value, meta: { ...extracted.value.meta, warnings: extracted.warnings } } : extracted.value;
    if (state.extractions.write(extraction)) progress.tick('extract');
    return processWorkflows(extraction, segment);
  }

  async function processWorkflows(extraction: Extraction, segment: Segment): Promise<boolean> {
    const results = await settleAll(extraction.workflows.map((_, k) => processWorkflow(extraction, k, segment.text, trajectoryId(segment.id, k))));
    return results.every(Boolean);
  }

  async function processSegment(draft: SegmentDraft): Promise<boolean> {
    const stored = state.segments.get(draft.id);
    if (stored !== undefined) return stored.keep ? processKept(stored) : true;
    const decision = await guarded('filter', draft.id, { doc_id: draft.doc_id, segment_id: draft.id }, () => steps.filter(draft));
    if (decision === RETRYABLE) return false;
    // Refused by the endpoint (too long, content policy): dropped with the reason.
    const segment: Segment =
      decision instanceof Refused ? { ...draft, score: 0, keep: false, by: 'error', reason: decision.reason.message } : { ...draft, ...decision };
    if (state.segments.write(segment)) progress.tick('segments');
    if (!segment.keep) return true;
    return processKept(segment);
  }

  async function processDocument(doc: Document): Promise<void> {
    const drafts = steps.segment(doc);
    if (drafts.length === 0) {
      reject({ stage: 'segment', id: doc.id, source: { doc_id: doc.id }, reasons: [{ check: 'segment_empty', message: 'no text left after removing markup' }] });
      state.progress.write({ id: doc.id, mode: options.mode });
      progress.tick('documents');
      return;
    }
    // Segments share one bound across documents, so one huge document cannot flood the queue.
    const results = await settleAll(drafts.map((draft) => segmentSlots.use(() => processSegment(draft))));
    // A document with a retryable failure stays unfinished so that a rerun retries it.
    if (results.every(Boolean)) state.progress.write({ id: doc.id, mode: options.mode });
    progress.tick('documents');
  }

  for await (const item of input) {
    if (fatal !== undefined || options.signal?.aborted === true) break;
    const id = item.kind === 'document' ? item.document.id : item.id;
    if (options.shard !== undefined && shardOf(id, options.shard.count) !== options.shard.index) continue;
    if (options.maxDocs !== undefined && seen >= options.maxDocs) break;
    seen++;
    if (item.kind === 'rejection') {
      reject({ stage: 'input', id: item.id, source: { doc_id: item.id }, reasons: item.reasons });
      progress.tick('documents');
      continue;
    }
    if (state.progress.has(`${options.mode}:${item.document.id}`)) {
      skipped++;
      progress.tick('documents');
      continue;
    }
    const doc = item.document;
    await runner.run(async () => {
      // Ctrl-C while this document waited for a slot: leave it for the rerun.
      if (options.signal?.aborted === true) return;
      try {
        await processDocument(doc);
      } catch (error) {
        if (error instanceof FatalEndpointError) fatal ??= error;
        else throw error;
      }
    });
    if (runner.error !== undefined) break;
  }
  await runner.drain();
  if (runner.error !== undefined) throw runner.error;
  return { documentsSeen: seen, documentsSkipped: skipped, stoppedBy: fatal, interrupted: options.signal?.aborted === true };
}

function withMeta(trajectory: Trajectory, extra: Record<string, unknown>): Trajectory {
  return { ...trajectory, meta: { ...trajectory.meta, ...extra } };
}

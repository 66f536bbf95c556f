/**
 * A pipeline step: a named unit with declared input and output record kinds and one function
 * `(record, context) → outcome`. A pipeline is an ordered list of steps (see `pipelines.ts`);
 * one runner (`engine.ts`) owns what every step would otherwise repeat: the guarded model
 * call, rejection writing, retryable marking, progress ticks and resume. The funnel, the
 * run.json counts, the report's funnel and `--estimate` are derived from the list, so a new
 * step gets them by being in it.
 *
 * Adding a step: one file under `src/pipeline/steps/`, one entry in a list of `pipelines.ts`,
 * its options in the config schema (and their mapping in `steps/options.ts`).
 */
import type { Reason, Rejection } from '../records.js';
import type { RunState } from './run-dir.js';

/** What flows between steps. A step's `output` kind must be the next step's `input` kind. */
export type RecordKind = 'document' | 'segment_draft' | 'segment' | 'extraction' | 'workflow' | 'trajectory' | 'eval_turn' | 'turn_score';

/** Files of the run directory a step's outputs can be stored in (resume reads them back). */
export type StoreName = Exclude<keyof RunState, 'rejected' | 'progress'>;

/** What the runner hands a step with each record. */
export interface StepContext {
  /**
   * Text of the segment the record descends from: what extraction, generation, refinement and
   * the judge's rule-faithfulness rubric are checked against. `undefined` when unknown (a
   * single-stage command without a segments file, a foreign dataset under `validate`).
   */
  sourceText: string | undefined;
  /** Aborted on Ctrl-C: steps pass it to model calls so nothing new is started. */
  signal?: AbortSignal | undefined;
}

/**
 * The result of one step on one record.
 * - `out`: the records it made (0 or more; a step with a `store` makes at most one). Records
 *   the next step does not `accept` end here (a dropped segment is an output, not a rejection).
 * - `reject`: the data is unusable; written to rejected.jsonl with every reason. Final.
 * - `retryable`: the endpoint failed (retries exhausted); written as a retryable rejection, the
 *   document is left unfinished and a rerun tries the record again.
 * - `refused`: the endpoint refused this one request (too long, content policy). The step's
 *   `onRefused` decides; by default it is a final rejection with the endpoint's reason.
 * Steps rarely return the last two themselves: the runner turns the gateway's
 * `TransientEndpointError` and `RequestRejectedError` into them.
 */
export type StepOutcome<O> =
  | { kind: 'out'; records: O[] }
  | { kind: 'reject'; reasons: Reason[]; raw?: string | undefined }
  | { kind: 'retryable'; reason: Reason }
  | { kind: 'refused'; reason: Reason };

/** Expected work of one step for an `--estimate`, per record that reaches it. */
export interface StepEstimate {
  /** Model calls (re-asks included). */
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  /**
   * Records passed on. Real records when the step can decide without a model (segmenting, the
   * local scorer); otherwise the expected number of outputs, which flow on as placeholders.
   */
  out: unknown[] | number;
  /** Size of each output in tokens, when it is a model answer later steps read (a trajectory). */
  outTokens?: number | undefined;
}

/** What `estimate` sees of a record: the record when it is real, and the sizes that matter. */
export interface EstimateItem {
  /** The real record, when every earlier step could produce one without a model. */
  record: unknown;
  /** Characters of the source text this record descends from. */
  textChars: number;
  /** Size of the record itself in tokens when a model wrote it (0 for text). */
  recordTokens: number;
}

export interface Step<I = unknown, O = unknown> {
  /**
   * Stable name: the `stage` of this step's rejections, its progress and funnel label, and
   * its usage bucket when it calls a model. Lower snake case.
   */
  readonly name: string;
  readonly input: RecordKind;
  readonly output: RecordKind;
  /**
   * Where outputs are written, so that a resumed run reads them back instead of redoing the
   * step. Absent for pure, cheap steps, which are recomputed. The last step's store holds the
   * pipeline's product.
   */
  readonly store?: StoreName | undefined;
  /**
   * The step's decisions depend on the records it saw before (deduplication). The runner calls
   * ordered steps on one input item at a time, in input order, before the item's records fan
   * out to concurrent work, so a rerun decides the same whatever the concurrency. Only leading
   * steps may be ordered, and they must be quick and call no model: input reading waits on them.
   */
  readonly ordered?: boolean | undefined;
  /**
   * Whether a record is work for this step. Records that are not end at the previous step
   * (the filter's dropped segments). @default every record
   */
  accepts?(record: I): boolean;
  /**
   * The id this step files its output and its rejection under for `record`: the resume key.
   * Steps with a store keep it equal to the output record's id.
   */
  keyOf(record: I): string;
  /** Provenance written on this step's rejections. */
  sourceOf(record: I): Rejection['source'];
  /** Source text this output carries for later steps (the segment's own text). */
  textOf?(output: O): string | undefined;
  run(record: I, context: StepContext): Promise<StepOutcome<O>> | StepOutcome<O>;
  /** What a refused request means here (refine keeps the original; the filter drops). */
  onRefused?(record: I, reason: Reason): StepOutcome<O>;
  /** A label per output for the funnel (`kept`/`dropped`, `refined`/`fallback`). */
  tally?(output: O): string[];
  /** Expected calls and outputs for `--estimate`; absent = no calls, one output per record. */
  estimate?(item: EstimateItem): StepEstimate;
  /** Outputs of a pure step, for counting a run directory's funnel without a model. */
  expand?(record: I): O[];
  /**
   * Makes the step's state durable (commits the dedup index). The runner calls it before it
   * marks an input item done, so a resumed run never skips an item whose decisions were lost.
   */
  flush?(): void;
  /** Releases what the step holds open (an index file); called once when the session ends. */
  close?(): void;
}

/** Number of leading `ordered` steps: the part of a pipeline run in input order. */
export function orderedPrefix(steps: readonly Step[]): number {
  let n = 0;
  while (n < steps.length && steps[n]?.ordered === true) n++;
  return n;
}

/** The record kinds must chain: each step's output is the next one's input. */
export function checkChain(steps: readonly Step[]): void {
  for (let i = 1; i < steps.length; i++) {
    const prev = steps[i - 1] as Step;
    const step = steps[i] as Step;
    if (prev.output !== step.input) {
      throw new TypeError(`pipeline: step "${step.name}" takes ${step.input} records but "${prev.name}" makes ${prev.output}`);
    }
  }
  const late = steps.slice(orderedPrefix(steps)).find((s) => s.ordered === true);
  if (late !== undefined) throw new TypeError(`pipeline: ordered step "${late.name}" must come before every unordered step`);
  const names = steps.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new TypeError(`pipeline: two steps are named "${dup}"`);
}

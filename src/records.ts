/**
 * Records that flow through gemtraj (DESIGN.md §2). These are promises to users: every
 * JSONL file gemtraj writes holds exactly these shapes, in snake_case with OpenAI wire names.
 * Change them only with a migration note in the README.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EXIT_BAD_INPUT, GemtrajError } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Provenance

/** Where a record came from. Every dataset line can be traced back to its text. */
export const SourceSchema = z.object({
  /** Id of the input document (its `--id-field`, or `doc_` + a hash of its text). */
  doc_id: z.string().min(1),
  /** Id of the segment (`<doc_id>#<index>`); absent for records imported from other datasets. */
  segment_id: z.string().min(1).optional(),
  /** Index of the workflow in the segment's extraction that the trajectory was generated from. */
  workflow_index: z.number().int().nonnegative().optional(),
});
export type Source = z.infer<typeof SourceSchema>;

// ---------------------------------------------------------------------------------------------
// Input

/** An input document after reading: text plus a stable id. */
export const DocumentSchema = z.object({
  id: z.string().min(1),
  text: z.string(),
  /** Page address when the input has one (a WET record's WARC-Target-URI, a `url` field or column). */
  url: z.string().optional(),
  /**
   * Markup of the text when the input declares it: `html` for a `.html` file or a record whose
   * `format`/`mime`/`content_type` field says HTML; `markdown` for `.md`/`.txt`/`.rst` files,
   * WET records (extracted text) and records declared markdown or plain text. Absent: the
   * segmenter sniffs (see src/stages/segment/detect.ts).
   */
  markup: z.enum(['html', 'markdown']).optional(),
  /**
   * Where the document was read from, for error messages: the file (`-` for stdin) and the
   * 1-based line (JSONL, CSV), row (Parquet, CSV, JSON array) or byte offset (WET record).
   */
  origin: z
    .object({
      file: z.string(),
      line: z.number().int().positive().optional(),
      row: z.number().int().positive().optional(),
      offset: z.number().int().nonnegative().optional(),
    })
    .optional(),
});
export type Document = z.infer<typeof DocumentSchema>;

// ---------------------------------------------------------------------------------------------
// Tools (exactly the OpenAI tool format)

/** A JSON Schema object. Kept open: validity is checked by ajv, not by this shape. */
export const JsonSchemaObjectSchema = z.record(z.string(), z.unknown());
export type JsonSchemaObject = z.infer<typeof JsonSchemaObjectSchema>;

/** OpenAI's rule for function names (checked by the validator and the extract post-check). */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export const ToolFunctionSchema = z.object({
  /** Function name; OpenAI requires {@link TOOL_NAME_PATTERN} (checked by the validator). */
  name: z.string().min(1),
  description: z.string().optional(),
  /** JSON Schema of the arguments object. Absent means "no arguments". */
  parameters: JsonSchemaObjectSchema.optional(),
  strict: z.boolean().optional(),
});
export const ToolSchema = z.object({
  type: z.literal('function'),
  function: ToolFunctionSchema,
});
export type Tool = z.infer<typeof ToolSchema>;

// ---------------------------------------------------------------------------------------------
// Messages (OpenAI chat format)

export const ToolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({
    name: z.string(),
    /** JSON-encoded arguments object, as on the wire (a string, not an object). */
    arguments: z.string(),
  }),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

export const SystemMessageSchema = z.object({ role: z.literal('system'), content: z.string() });
export const UserMessageSchema = z.object({ role: z.literal('user'), content: z.string() });
export const AssistantMessageSchema = z.object({
  role: z.literal('assistant'),
  /** Text of the turn; `null` (or absent) when the turn only calls tools. */
  content: z.string().nullable().optional(),
  tool_calls: z.array(ToolCallSchema).optional(),
  /** Hidden reasoning, when a source carries it; never required. */
  reasoning_content: z.string().optional(),
  /** OpenAI fine-tuning: 0 = do not train on this turn, 1 = train (the default). Kept through validate and export. */
  weight: z.union([z.literal(0), z.literal(1)]).optional(),
});
export const ToolMessageSchema = z.object({
  role: z.literal('tool'),
  tool_call_id: z.string(),
  content: z.string(),
  /** Name of the tool answered; some chat templates (Hermes) need it. */
  name: z.string().optional(),
});
export const MessageSchema = z.discriminatedUnion('role', [
  SystemMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
]);
export type SystemMessage = z.infer<typeof SystemMessageSchema>;
export type UserMessage = z.infer<typeof UserMessageSchema>;
export type AssistantMessage = z.infer<typeof AssistantMessageSchema>;
export type ToolMessage = z.infer<typeof ToolMessageSchema>;
export type Message = z.infer<typeof MessageSchema>;

// ---------------------------------------------------------------------------------------------
// Usage

export const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

// ---------------------------------------------------------------------------------------------
// Segment (one line of segments.jsonl)

/** Judge-assigned labels (paper taxonomies); absent when the local scorer decided alone. */
export const SegmentLabelsSchema = z.object({
  summary: z.string(),
  platform: z.string(),
  domain: z.string(),
  task_category: z.string(),
});
export type SegmentLabels = z.infer<typeof SegmentLabelsSchema>;

export const SegmentSchema = z.object({
  /** `<doc_id>#<index>`: stable across reruns for the same text and segmenter settings. */
  id: z.string().min(1),
  doc_id: z.string().min(1),
  /** 0-based position of the segment in its document. */
  index: z.number().int().nonnegative(),
  text: z.string(),
  /** Character offsets [start, end) into the document text as read (before markup reduction). */
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  /** Nearest heading above the segment, when the document had headings. */
  heading: z.string().optional(),
  /** Relevance score in [0, 1] from the local scorer (the judge's confidence when it decided). */
  score: z.number().min(0).max(1),
  keep: z.boolean(),
  /** What decided `keep`: the local scorer, the LLM judge, or a trained model. */
  by: z.enum(['heuristic', 'model', 'llm', 'cascade-low', 'cascade-high', 'error']),
  labels: SegmentLabelsSchema.optional(),
  /** Why it was dropped, in a sentence (judge reason or scorer summary). */
  reason: z.string().optional(),
});
export type Segment = z.infer<typeof SegmentSchema>;

/** A segment before the filter has scored it: what segmenting a document makes. */
export type SegmentDraft = Omit<Segment, 'score' | 'keep' | 'by' | 'labels' | 'reason'>;

// ---------------------------------------------------------------------------------------------
// Extraction (one line of extractions.jsonl)

export const WorkflowStepSchema = z.object({
  /** What the step does, in one sentence. */
  action: z.string(),
  /** Name of the tool the step calls (must be one of the extraction's tools). */
  tool: z.string(),
  /** 0-based indexes of earlier steps that must finish first. */
  depends_on: z.array(z.number().int().nonnegative()),
  /** Condition under which the step runs or branches ("only if the order is delivered"). */
  condition: z.string().nullable().optional(),
});
export type WorkflowStep = z.infer<typeof WorkflowStepSchema>;

export const WorkflowSchema = z.object({
  name: z.string(),
  description: z.string(),
  /** The user intent(s) this workflow serves. */
  intents: z.array(z.string()),
  steps: z.array(WorkflowStepSchema),
  /** `(login)->(search_order)->(refund)` style execution graph, derived from steps in code. */
  execution_graph: z.string(),
  /** Rules the text states: dependencies, conditions, uniqueness and limits. */
  rules: z.array(z.string()),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

export const ExtractionSchema = z.object({
  /** Same as the segment id: one extraction per segment. */
  id: z.string().min(1),
  source: SourceSchema,
  domain: z.string(),
  platform: z.string(),
  task_category: z.string(),
  /** The domain's rules as the text states them, for the trajectory's system prompt. */
  rules: z.array(z.string()),
  workflows: z.array(WorkflowSchema),
  tools: z.array(ToolSchema),
  meta: z
    .object({
      model: z.string().optional(),
      prompt_version: z.string().optional(),
      usage: UsageSchema.optional(),
    })
    .passthrough()
    .optional(),
});
export type Extraction = z.infer<typeof ExtractionSchema>;

// ---------------------------------------------------------------------------------------------
// Trajectory (one line of trajectories*.jsonl)

export const TrajectoryStageSchema = z.enum(['generated', 'refined', 'synthesized', 'imported']);
export type TrajectoryStage = z.infer<typeof TrajectoryStageSchema>;

/** One problem found by a check; also used for warnings that do not reject. */
export const ReasonSchema = z.object({
  /** Stable check id, e.g. `arguments_schema`, `unknown_tool`, `judge_R1`. */
  check: z.string(),
  /** JSON path into the record, e.g. `messages[3].tool_calls[0]`. */
  path: z.string().optional(),
  message: z.string(),
  /** What the finding points to: the kept segment a duplicate repeats, the benchmark file a contaminated record shares text with. */
  ref: z.string().optional(),
  /** The shared text (a contaminated record's span, in normalised words). */
  span: z.string().optional(),
});
export type Reason = z.infer<typeof ReasonSchema>;

export const TrajectoryMetaSchema = z
  .object({
    stage: TrajectoryStageSchema.optional(),
    model: z.string().optional(),
    prompt_version: z.string().optional(),
    usage: UsageSchema.optional(),
    /** Non-fatal findings (e.g. `argument_provenance` in warn mode). */
    warnings: z.array(ReasonSchema).optional(),
    /** LLM judge verdicts by rubric id (1 = pass), when the judge ran. */
    judge: z.record(z.string(), z.number()).optional(),
    /** The judge's reason per rubric id, passes included, when the judge ran. */
    judge_reasons: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();
export type TrajectoryMeta = z.infer<typeof TrajectoryMetaSchema>;

export const TrajectorySchema = z.object({
  id: z.string().min(1),
  source: SourceSchema,
  domain: z.string().optional(),
  tools: z.array(ToolSchema),
  messages: z.array(MessageSchema),
  meta: TrajectoryMetaSchema.optional(),
});
export type Trajectory = z.infer<typeof TrajectorySchema>;

// ---------------------------------------------------------------------------------------------
// Rejection (one line of rejected.jsonl)

export const StageNameSchema = z.enum([
  'input',
  'segment',
  'filter',
  'extract',
  'generate',
  'refine',
  'validate',
  'judge',
  'synthesize',
  'import',
  /** `gemtraj eval`: the evaluated model's turns, and the optional judge of its questions. */
  'eval',
  'eval_judge',
]);
export type StageName = z.infer<typeof StageNameSchema>;

export const RejectionSchema = z.object({
  /** The step that rejected the record (`input`, `import`, or a pipeline step's name). */
  stage: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a step name'),
  /** Id of the rejected record (document, segment, extraction or trajectory id). */
  id: z.string(),
  source: SourceSchema.optional(),
  reasons: z.array(ReasonSchema).min(1),
  /** Raw model text of a final parse failure, kept for debugging (truncated to 20k chars). */
  raw: z.string().optional(),
  /**
   * True when the failure was the endpoint's, not the data's (retries exhausted): a rerun
   * on the same run directory tries the record again instead of counting it as done.
   */
  retryable: z.boolean().optional(),
});
export type Rejection = z.infer<typeof RejectionSchema>;

// ---------------------------------------------------------------------------------------------
// Ids

/** Stable trajectory id for (segment, workflow): the same on every rerun. */
export function trajectoryId(segmentId: string, workflowIndex: number): string {
  return `traj_${createHash('sha256').update(`${segmentId}\u0000${workflowIndex}`).digest('hex').slice(0, 20)}`;
}

/** Sequential call ids `call_1`, `call_2`, … for formats that carry none. */
export class CallIds {
  private n = 0;
  next(): string {
    this.n += 1;
    return `call_${this.n}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing foreign input with a precise location

/** Formats a zod issue path as a JSON path: `messages[3].tool_calls[0].id`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** The first problem of a zod error as `path: message`. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid value';
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** Where a parsed value came from, for error text. */
export interface Location {
  file: string;
  /** 1-based line number for JSONL input; absent for whole-file JSON. */
  line?: number | undefined;
}

export function formatLocation(loc: Location): string {
  return loc.line === undefined ? loc.file : `${loc.file}:${loc.line}`;
}

/** Thrown when a record read from a file does not have the expected shape. Exit status 2. */
export class RecordError extends GemtrajError {
  constructor(
    readonly location: Location,
    /** JSON path of the first problem inside the record. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${formatLocation(location)}: ${path}: ${detail}`, EXIT_BAD_INPUT);
    this.name = 'RecordError';
  }
}

/** Parses `value` with `schema`, throwing a {@link RecordError} naming file, line and path. */
export function parseRecord<T>(schema: z.ZodType<T>, value: unknown, location: Location): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new RecordError(
    location,
    issue === undefined ? '(root)' : formatPath(issue.path),
    issue?.message ?? 'invalid value',
  );
}

/**
 * The model gateway's public interface. Stages depend on this file only; the transport,
 * cache, limits and retries behind it live in the other files of `src/llm/`.
 */
import type { z } from 'zod';
import type { Message, StageName, Tool, ToolCall, Usage } from '../records.js';

/** How a call that expects JSON asks for it. */
export type StructuredOutputMode = 'json_schema' | 'json_object' | 'prompt';

/** Sampling parameters sent with a request; every one is part of the cache key. */
export interface SamplingParams {
  /** @default the endpoint's own */
  temperature?: number | undefined;
  top_p?: number | undefined;
  /** Upper bound on completion tokens. @default the endpoint's own */
  max_tokens?: number | undefined;
  seed?: number | undefined;
}

export interface CompletionRequest extends SamplingParams {
  /** Stage the call serves: picks the per-stage model and the usage bucket. */
  stage: StageName;
  messages: Message[];
  /** Tools offered to the model (native tool calling). Rarely used: stages ask for JSON. */
  tools?: Tool[] | undefined;
  /**
   * Distinguishes deliberate repeated samples of the same prompt in the cache key.
   * @default 0
   */
  sampleIndex?: number | undefined;
  /** Aborts the call (and its retries). */
  signal?: AbortSignal | undefined;
}

export interface CompletionResult {
  /** Assistant text, `''` when the model returned none. */
  text: string;
  /** `stop`, `length`, `tool_calls`, `content_filter`; `unknown` when the endpoint omits it. */
  finishReason: string;
  usage: Usage;
  /** Model that answered (the request's model when the endpoint does not say). */
  model: string;
  /** True when served from the response cache (no paid call was made). */
  cached: boolean;
  /** Function tool calls of the answer, when the request offered `tools` and the model called some. */
  toolCalls?: ToolCall[] | undefined;
}

export interface StructuredRequest<T> extends CompletionRequest {
  /** Zod schema the answer must satisfy; its JSON Schema is what `json_schema` mode sends. */
  schema: z.ZodType<T>;
  /** Name for `response_format.json_schema.name` (`^[a-zA-Z0-9_-]{1,64}$`). */
  schemaName: string;
  /**
   * How many times to re-ask with the validation errors after a bad answer.
   * @default 2
   */
  maxRepairs?: number | undefined;
  /**
   * Put the field guide (names, meanings, allowed values of the answer's fields) into the
   * prompt, in every structured-output mode, and send the schema without numeric bounds
   * (the guide states them). `false`: the request as gemtraj 0.2 built it. @default true
   */
  fieldGuide?: boolean | undefined;
}

export type StructuredResult<T> =
  | {
      ok: true;
      value: T;
      /** Text of the accepted answer. */
      raw: string;
      model: string;
      /** Summed over all attempts of this request. */
      usage: Usage;
      /** 1 when the first answer was accepted. */
      attempts: number;
    }
  | {
      ok: false;
      /** Why the last answer was refused (`path: message` of the first problems). */
      error: string;
      /** Raw text of the last answer, for the rejection record. */
      raw: string;
      model: string;
      usage: Usage;
      attempts: number;
    };

/** The one way stages reach a model. */
export interface LlmClient {
  /** A plain chat completion. Throws {@link import('./errors.js').LlmError} subclasses. */
  complete(request: CompletionRequest): Promise<CompletionResult>;
  /**
   * A completion parsed into `T`: strips think blocks and fences, repairs JSON, validates,
   * re-asks with the errors. A bad answer is `ok: false`, never a throw; endpoint failures throw.
   */
  structured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>>;
  /** Model that a stage's calls go to (after per-stage overrides). */
  modelFor(stage: StageName): string;
}

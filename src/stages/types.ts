/**
 * What every stage function returns. Stages are pure with respect to files and the CLI:
 * `(record, options, llm) → outcome`. A bad model answer is data (`ok: false` with reasons);
 * an endpoint failure is thrown by the gateway and handled by the pipeline.
 */
import type { Reason, Usage } from '../records.js';

export type StageOutcome<T> =
  | {
      ok: true;
      value: T;
      /** Non-fatal findings (a dropped workflow, a renamed tool). */
      warnings: Reason[];
    }
  | {
      ok: false;
      reasons: Reason[];
      /** Raw model text of a final parse failure, for the rejection record. */
      raw?: string | undefined;
      /** Tokens spent on the failed attempt(s), for accounting. */
      usage?: Usage | undefined;
    };

export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage {
  return {
    prompt_tokens: (a?.prompt_tokens ?? 0) + (b?.prompt_tokens ?? 0),
    completion_tokens: (a?.completion_tokens ?? 0) + (b?.completion_tokens ?? 0),
  };
}

const REFUSAL = /^\s*(i'?m sorry|i am sorry|i can(?:no|')t|i cannot|i won'?t|as an ai|sorry,? (?:but )?i)/i;

/** True when a model's non-JSON answer reads like a refusal rather than a formatting slip. */
export function looksLikeRefusal(raw: string): boolean {
  return REFUSAL.test(raw.replace(/<think>[\s\S]*?<\/think>/g, ''));
}

/**
 * What to do about answers cut off at a stage's completion cap: the cap and the flag that
 * raises it. `cap` undefined: no cap was sent, the endpoint's own default cut it.
 */
export function capAdvice(stage: string, cap: number | undefined): string {
  if (cap === undefined) return `the endpoint's default completion cap cut the ${stage} answer off: set one with --stage-max-tokens ${stage}=N`;
  return (
    `the ${stage} completion cap is ${cap} tokens: raise it with --stage-max-tokens ${stage}=${cap * 2} ` +
    `(config stage_max_tokens.${stage}; --max-tokens sets every stage)`
  );
}

/** The reason for a structured-output failure: a refusal, an answer cut off at the cap, or an unparseable answer. */
export function structuredFailure(stage: string, error: string, raw: string, cap?: number): Reason {
  if (looksLikeRefusal(raw)) return { check: `${stage}_refusal`, message: `the model refused: ${raw.trim().slice(0, 200)}` };
  // Cut off at the token limit: raise the cap (or shorten the input) rather than re-asking.
  if (error.includes('finish_reason "length"')) return { check: `${stage}_truncated`, message: `${error}; ${capAdvice(stage, cap)}` };
  return { check: `${stage}_unparseable`, message: error };
}

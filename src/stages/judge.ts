/**
 * The LLM judge stage: one strict structured call per trajectory, binary verdicts on the
 * rubrics of prompts/judge.ts. A failing required rubric rejects the trajectory with a
 * `judge_R<n>` reason carrying the judge's own explanation; a failing rubric that is not
 * required is only a warning. An answer that cannot be parsed is `judge_unparseable`.
 * Endpoint failures (LlmError) propagate: the pipeline marks the record retryable.
 */
import type { LlmClient } from '../llm/types.js';
import type { Reason, Trajectory, Usage } from '../records.js';
import {
  JUDGE_PROMPT_VERSION,
  JUDGE_SCHEMA_NAME,
  JudgeAnswerSchema,
  JudgeAnswerWithSourceSchema,
  RUBRIC_TITLES,
  buildJudgeMessages,
  judgeRubricsFor,
  type JudgeAnswer,
  type JudgeRubric,
  type RenderOptions,
} from '../prompts/judge.js';
import { looksLikeRefusal, structuredFailure } from './types.js';
import { promptVersion, usesFieldGuide, type PromptSet } from '../prompts/versions.js';
import { asNow } from '../prompts/now.js';

/** 1 = pass, 0 = fail, per rubric the judge was asked about (R4 only with a source text). */
export type JudgeVerdict = Partial<Record<JudgeRubric, 0 | 1>>;

export interface JudgeOptions {
  /** Text the trajectory was generated from. Enables R4; empty or absent = R4 not judged. */
  sourceText?: string | undefined;
  /**
   * Rubrics that must pass for `ok`. Rubrics not judged (R4 without a source text) are
   * ignored. Failures of the other judged rubrics become `warnings`.
   * @default all judged rubrics (R1–R3, plus R4 with a source text)
   */
  requiredRubrics?: readonly JudgeRubric[] | undefined;
  /** Prompt set v1: message texts longer than this are cut in the middle for the judge. 0 = never. @default 0 */
  maxMessageChars?: number | undefined;
  /**
   * Prompt set v2: characters of message text the judge sees beside the complete system
   * prompt; beyond it the longest messages are cut with a marker. 0 = no limit. @default {@link JUDGE_BUDGET_CHARS}
   */
  budgetChars?: number | undefined;
  /** Re-asks after a malformed answer. @default the gateway's (2) */
  maxRepairs?: number | undefined;
  /** Upper bound on the judge's completion tokens. @default the endpoint's own */
  maxTokens?: number | undefined;
  /** Prompt set (config `prompts`): v1 sends the answer format as gemtraj 0.2 did. @default 'v2' */
  promptSet?: PromptSet | undefined;
  /** Aborts the call. */
  signal?: AbortSignal | undefined;
}

export interface JudgeResult {
  /** True when every required, judged rubric passed and the answer parsed. */
  ok: boolean;
  /** Verdicts of the judged rubrics (empty when the answer did not parse). For `meta.judge`. */
  verdict: JudgeVerdict;
  /** Why the trajectory is rejected: `judge_R<n>` per failed required rubric, or `judge_unparseable`. */
  reasons: Reason[];
  /** Failed rubrics that are not required (`judge_R<n>`), to keep in `meta.warnings`. */
  warnings: Reason[];
  /** Rubrics the judge was asked about. */
  judged: JudgeRubric[];
  /** The judge's explanation per judged rubric (also for passes), for reports. */
  explanations: Partial<Record<JudgeRubric, string>>;
  usage: Usage;
  model: string;
  promptVersion: string;
  /** Raw answer when it did not parse, for the rejection record. */
  raw?: string | undefined;
}

/**
 * Default message budget of the judge, in characters (about 16k tokens): with the rubrics, a
 * source text and the judge's completion cap it fits a 32k-token context.
 */
export const JUDGE_BUDGET_CHARS = 64_000;

/** Judges one trajectory. One call; strict JSON; temperature 0. */
export async function judgeTrajectory(trajectory: Trajectory, options: JudgeOptions, llm: LlmClient): Promise<JudgeResult> {
  const judged = judgeRubricsFor(options.sourceText);
  const required = new Set<JudgeRubric>((options.requiredRubrics ?? judged).filter((r) => judged.includes(r)));
  // v2 never cuts the system prompt (R4 judges it) and cuts the rest only beyond a budget.
  const v1 = options.promptSet === 'v1';
  const render: RenderOptions = v1 ? { maxMessageChars: options.maxMessageChars } : { budgetChars: options.budgetChars ?? JUDGE_BUDGET_CHARS };
  const messages = buildJudgeMessages({
    trajectory,
    sourceText: options.sourceText,
    render,
    omissionNote: !v1,
    promptSet: options.promptSet ?? 'v2',
    now: asNow(trajectory.meta?.now),
  });
  const request = {
    stage: 'judge' as const,
    schemaName: JUDGE_SCHEMA_NAME,
    messages,
    temperature: 0,
    max_tokens: options.maxTokens,
    maxRepairs: options.maxRepairs,
    fieldGuide: usesFieldGuide(options.promptSet),
    signal: options.signal,
  };
  // Two schemas rather than a nullable R4: with strict output the model cannot skip R4 when
  // the source is given, nor invent one when it is not.
  const result = judged.includes('R4')
    ? await llm.structured({ ...request, schema: JudgeAnswerWithSourceSchema })
    : await llm.structured({ ...request, schema: JudgeAnswerSchema });

  const base = { judged, usage: result.usage, model: result.model, promptVersion: promptVersion('judge', options.promptSet) };
  if (!result.ok) {
    const refused = looksLikeRefusal(result.raw);
    return {
      ...base,
      ok: false,
      verdict: {},
      explanations: {},
      reasons: [
        refused
          ? { check: 'judge_unparseable', message: `the judge refused: ${result.raw.trim().slice(0, 200)}` }
          : structuredFailure('judge', `the judge's answer could not be used: ${result.error}`, result.raw, options.maxTokens),
      ],
      warnings: [],
      raw: result.raw,
    };
  }

  const answer: JudgeAnswer = result.value;
  const verdict: JudgeVerdict = {};
  const explanations: Partial<Record<JudgeRubric, string>> = {};
  const reasons: Reason[] = [];
  const warnings: Reason[] = [];
  for (const rubric of judged) {
    const v = answer[rubric];
    if (v === undefined) continue; // cannot happen with the strict schema; keeps types honest
    verdict[rubric] = v.pass ? 1 : 0;
    explanations[rubric] = v.reason;
    if (v.pass) continue;
    const reason: Reason = { check: `judge_${rubric}`, message: `${RUBRIC_TITLES[rubric]}: ${v.reason.trim() || 'no reason given'}` };
    (required.has(rubric) ? reasons : warnings).push(reason);
  }
  return { ...base, ok: reasons.length === 0, verdict, explanations, reasons, warnings };
}

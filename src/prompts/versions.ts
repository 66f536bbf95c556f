/**
 * Prompt sets: which version of every stage's prompt a run uses. `v2` (the default) puts a
 * field guide of the answer into every structured prompt, sends the schema without numeric
 * bounds and caps every stage's completion (config `stage_max_tokens`). `v1` sends the
 * requests exactly as gemtraj 0.2 did, so an old run resumes on its cached answers and
 * reproduces. A new set adds a column here; every record's `meta.prompt_version` and
 * `run.json` name the version used.
 */

/** Prompt sets, oldest first (config `prompts`). */
export type PromptSet = 'v1' | 'v2';
export const DEFAULT_PROMPT_SET: PromptSet = 'v2';

const VERSIONS = {
  filter: { v1: 'filter-v1', v2: 'filter-v2' },
  extract: { v1: 'extract-v1', v2: 'extract-v2' },
  generate: { v1: 'generate-v1', v2: 'generate-v2' },
  refine: { v1: 'refine-v1', v2: 'refine-v2' },
  judge: { v1: 'judge-v1', v2: 'judge-v2' },
  // Free-text answer (the synthesizer's own format): no field guide, unchanged in v2.
  synthesize: { v1: 'synthesize-v1', v2: 'synthesize-v1' },
} as const satisfies Record<string, Record<PromptSet, string>>;

export type PromptStage = keyof typeof VERSIONS;

/** The version of `stage`'s prompt in `set`. */
export function promptVersion(stage: PromptStage, set: PromptSet = DEFAULT_PROMPT_SET): string {
  return VERSIONS[stage][set];
}

/** Every stage's version in `set`, for run.json and the run fingerprint. */
export function promptVersions(set: PromptSet = DEFAULT_PROMPT_SET): Record<string, string> {
  return Object.fromEntries(Object.entries(VERSIONS).map(([stage, v]) => [stage, v[set]]));
}

/** Whether structured calls carry the field guide (and the schema is sent without bounds). */
export function usesFieldGuide(set: PromptSet = DEFAULT_PROMPT_SET): boolean {
  return set !== 'v1';
}

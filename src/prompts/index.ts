/** Versions of every prompt template, recorded in run.json and on each record's meta. */
import { EXTRACT_PROMPT_VERSION } from './extract.js';
import { FILTER_PROMPT_VERSION } from './filter.js';
import { GENERATE_PROMPT_VERSION } from './generate.js';
import { JUDGE_PROMPT_VERSION } from './judge.js';
import { REFINE_PROMPT_VERSION } from './refine.js';
import { SYNTHESIZE_PROMPT_VERSION } from './synthesize.js';

export const PROMPT_VERSIONS: Record<string, string> = {
  filter: FILTER_PROMPT_VERSION,
  extract: EXTRACT_PROMPT_VERSION,
  generate: GENERATE_PROMPT_VERSION,
  refine: REFINE_PROMPT_VERSION,
  judge: JUDGE_PROMPT_VERSION,
  synthesize: SYNTHESIZE_PROMPT_VERSION,
};

export { DEFAULT_PROMPT_SET, promptVersion, promptVersions, usesFieldGuide, type PromptSet, type PromptStage } from './versions.js';

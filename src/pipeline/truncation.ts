/**
 * The end-of-run lines about answers cut off at a completion cap: per stage, how many, the cap
 * that was used and the flag that raises it. A cut-off answer is a lost record (or, in
 * refinement, an unrefined one), and the fix is one flag away.
 */
import { STAGE_MODEL_KEYS, type Config } from '../config.js';
import { capAdvice } from '../stages/types.js';
import type { Funnel } from './counts.js';
import { stageMaxTokens } from './steps/options.js';

export function truncationSummary(funnel: Funnel, config: Pick<Config, 'max_tokens' | 'stage_max_tokens' | 'prompts'>): string[] {
  const lines: string[] = [];
  for (const stage of STAGE_MODEL_KEYS) {
    const rejected = funnel.rejections[stage]?.[`${stage}_truncated`] ?? 0;
    const keptOriginal = stage === 'refine' ? (funnel.steps.find((s) => s.step === 'refine')?.tally.truncated ?? 0) : 0;
    if (rejected + keptOriginal === 0) continue;
    const what = keptOriginal > 0 ? `${keptOriginal} rewrite(s) cut off (the unrefined conversation was kept)` : `${rejected} answer(s) cut off and rejected`;
    lines.push(`${stage}: ${what} at the completion cap; ${capAdvice(stage, stageMaxTokens(config, stage))}`);
  }
  return lines;
}

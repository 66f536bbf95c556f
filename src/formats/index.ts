/**
 * Entry point of the format converters: one dispatcher for exports, re-exports of every
 * format's import/export functions.
 */
import type { Trajectory } from '../records.js';
import { toHermesWithNotes, type HermesExportOptions } from './hermes.js';
import { toOpenAI } from './openai.js';
import { toSftPair, type SftPairOptions } from './sft-pairs.js';
import { toShareGPTWithNotes } from './sharegpt.js';
import type { ExportOutcome } from './types.js';

/** Formats `gemtraj export` writes. */
export type ExportFormat = 'openai' | 'sharegpt' | 'hermes' | 'sft-pairs';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['openai', 'sharegpt', 'hermes', 'sft-pairs'];

export interface ExportContext {
  /** Source segment text, required by `sft-pairs`. */
  sourceText?: string | undefined;
  hermes?: HermesExportOptions;
  sftPairs?: SftPairOptions;
}

/** Exports one trajectory; throws ExportError when the format cannot represent it. */
export function exportTrajectory(format: ExportFormat, trajectory: Trajectory, context: ExportContext = {}): ExportOutcome<Record<string, unknown>> {
  switch (format) {
    case 'openai':
      return { record: { ...toOpenAI(trajectory) }, notes: [] };
    case 'sharegpt': {
      const out = toShareGPTWithNotes(trajectory);
      return { record: { ...out.record }, notes: out.notes };
    }
    case 'hermes': {
      const out = toHermesWithNotes(trajectory, context.hermes);
      return { record: { ...out.record }, notes: out.notes };
    }
    case 'sft-pairs':
      return { record: { ...toSftPair(trajectory, context.sourceText, context.sftPairs) }, notes: [] };
  }
}

export * from './types.js';
export { fromOpenAI, toOpenAI, type OpenAIRecord } from './openai.js';
export { fromShareGPT, toShareGPT, toShareGPTWithNotes, datasetInfoEntry, type ShareGPTRecord } from './sharegpt.js';
export { fromHermes, toHermes, toHermesWithNotes, type HermesRecord, type HermesExportOptions } from './hermes.js';
export { fromTauBench, toTauBench, inferTools } from './taubench.js';
export { fromSftPair, toSftPair, formatSynthesizerOutput } from './sft-pairs.js';
export { parseSynthesizerOutput, SYNTHESIZER_CHECKS, SYNTHESIZER_INSTRUCTION, type SynthesizerOutput } from '../prompts/synthesize.js';
export { normalizeSchema, normalizeTool, normalizeTools } from '../parse/tool-schema.js';
export { detectFormat, readForeign, importRecord, FORMAT_NAMES } from './detect.js';
// Parquet (formats/parquet.ts) is imported where it is used: its writer is ~55 modules that every command would load.
export { loadChatTemplate, compileChatTemplate, checkRecords, summarizeTemplateChecks, expectationsOf, type WrittenRecord, type TemplateCheckResult } from './template-check.js';
export { canonicalCallIds } from './common.js';
export { exportTarget, allTargets, TARGET_NAMES, type ExportTarget, type TargetName } from './targets/registry.js';
export { jinja2Available, renderWithJinja2 } from './jinja2-render.js';

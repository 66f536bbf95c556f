/**
 * Training pairs for a Trajectory Synthesizer (GEM §"Data & synthesizer"): the prompt is the
 * instruction plus a source segment, the target is the tools and the whole trajectory in ONE
 * generation, written in the tagged text format that src/prompts/synthesize.ts defines (and
 * whose parser, `parseSynthesizerOutput`, `gemtraj synthesize` uses on the model's output).
 */
import type { Message, Tool, Trajectory } from '../records.js';
import { finishImport, importMeta, stableId } from './common.js';
import { argumentsObject, isObject, type JsonObject } from '../parse/json.js';
import { buildSynthesizePrompt, parseSynthesizerOutput, SYNTHESIZER_INSTRUCTION } from '../prompts/synthesize.js';
import { ExportError, type ImportOptions, type ImportResult } from './types.js';

export interface SftPairRecord {
  messages: [{ role: 'system' | 'user'; content: string }, { role: 'assistant'; content: string }];
}

export interface SftPairOptions {
  /** Instruction placed before the segment text (default {@link SYNTHESIZER_INSTRUCTION}). */
  instruction?: string;
  /** Role of the prompt message (default `user`). */
  promptRole?: 'system' | 'user';
}

/** Writes tools and conversation in the synthesizer output format (src/prompts/synthesize.ts). */
export function formatSynthesizerOutput(tools: readonly Tool[], messages: readonly Message[]): string {
  const out: string[] = [`<tools>\n[\n${tools.map((t) => JSON.stringify(t)).join(',\n')}\n]\n</tools>`];
  messages.forEach((m, i) => {
    if (m.role === 'assistant') {
      const parts: string[] = [];
      if (m.content !== undefined && m.content !== null && m.content !== '') parts.push(m.content);
      (m.tool_calls ?? []).forEach((c, j) => {
        const args = argumentsObject(c.function.arguments);
        if (!args.ok) throw new ExportError(args.error, `messages[${i}].tool_calls[${j}].function.arguments`);
        parts.push(`<tool_call>${JSON.stringify({ name: c.function.name, arguments: args.value })}</tool_call>`);
      });
      out.push(`<assistant>${parts.join('\n')}</assistant>`);
    } else out.push(`<${m.role}>${m.content}</${m.role}>`);
  });
  return out.join('\n');
}

/**
 * Exports a trajectory as a synthesizer training pair. Throws {@link ExportError} when the
 * source text is unknown (a pair without its input teaches nothing) or arguments are not JSON.
 * Lossy: call ids, tool-message `name`, `reasoning_content`, outer whitespace of texts.
 */
export function toSftPair(trajectory: Trajectory, sourceText: string | undefined, options: SftPairOptions = {}): SftPairRecord {
  if (sourceText === undefined || sourceText.trim() === '') {
    throw new ExportError(`source text unknown for segment ${trajectory.source.segment_id ?? '(none)'}`, 'source.segment_id');
  }
  return {
    messages: [
      { role: options.promptRole ?? 'user', content: buildSynthesizePrompt(sourceText, options.instruction) },
      { role: 'assistant', content: formatSynthesizerOutput(trajectory.tools, trajectory.messages) },
    ],
  };
}

/** Imports a synthesizer training pair (its assistant message parsed with {@link parseSynthesizerOutput}). */
export function fromSftPair(record: unknown, options: ImportOptions = {}): ImportResult {
  if (!isObject(record) || !Array.isArray(record.messages)) return { ok: false, error: 'messages: not a list' };
  const target = [...record.messages].reverse().find((m) => isObject(m) && m.role === 'assistant');
  if (!isObject(target) || typeof target.content !== 'string') return { ok: false, error: 'messages: no assistant message' };
  const parsed = parseSynthesizerOutput(target.content);
  if ('error' in parsed) return { ok: false, error: `messages[1].content: ${parsed.error}` };
  const id = stableId('sftpair', record);
  const draft: JsonObject = {
    id,
    source: { doc_id: options.docId ?? id },
    tools: parsed.tools,
    messages: parsed.messages,
    meta: importMeta('sft-pairs', parsed.warnings),
  };
  return finishImport(draft);
}

/** A trajectory's conversation as the synthesizer would write it (for tests and previews). */
export function trajectoryToSynthesizerText(t: Trajectory): string {
  return formatSynthesizerOutput(t.tools, t.messages);
}

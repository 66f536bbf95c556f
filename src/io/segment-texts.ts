/**
 * Source texts of a run's kept segments by segment id, for the commands that need a
 * trajectory's source (single stages, the judge's R4, sft-pairs export). Dropped segments are
 * skipped: no trajectory comes from them, and they are the large majority of a corpus.
 */
import { existsSync } from 'node:fs';
import { readRecordFile } from './record-file.js';

/** Segment id → text; an empty map when the file does not exist. Unreadable lines are skipped. */
export async function loadSegmentTexts(file: string): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  if (!existsSync(file)) return texts;
  for await (const entry of readRecordFile(file)) {
    const s = entry.value as { id?: unknown; text?: unknown; keep?: unknown } | null | undefined;
    if (s !== null && typeof s === 'object' && s.keep !== false && typeof s.id === 'string' && typeof s.text === 'string') texts.set(s.id, s.text);
  }
  return texts;
}

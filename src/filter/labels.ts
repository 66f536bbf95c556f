/**
 * Label files for training and evaluating the local filter. Accepted lines (JSONL):
 * - `{"text": "...", "label": true}` (also `procedural` or `keep` as the label key; booleans or 0/1);
 * - `{"id": "...", "procedural": true}` joined by id with the texts of an `--input` JSONL file
 *   (`{"id", "text"}` lines);
 * - a previous run's `segments.jsonl`: lines with `by` are labels only when `by` is `"llm"`
 *   (the judge's decisions); the local scorer's own decisions would teach it nothing.
 * Errors name the file and the 1-based line.
 */
import { readFileSync } from 'node:fs';
import { RecordError } from '../records.js';

export interface LabelledExample {
  text: string;
  label: boolean;
  id?: string;
  /** Where the label came from, for messages. */
  file: string;
  line: number;
}

export interface LabelStats {
  /** Lines read as labels. */
  used: number;
  /** segments.jsonl lines skipped because the local scorer, not the judge, decided them. */
  skippedNotLlm: number;
}

const LABEL_KEYS = ['label', 'procedural', 'keep'] as const;

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split('\n');
  } catch (error) {
    throw new RecordError({ file }, '(root)', `cannot read: ${(error as Error).message}`);
  }
}

function parseLine(raw: string, file: string, line: number): Record<string, unknown> | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new RecordError({ file, line }, '(root)', `invalid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RecordError({ file, line }, '(root)', 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

function toBoolean(value: unknown, file: string, line: number, key: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  throw new RecordError({ file, line }, key, `label must be true/false or 0/1, got ${JSON.stringify(value)}`);
}

/** Reads `{id, text}` lines of an input JSONL file into a map. */
export function readTexts(file: string, textField = 'text', idField = 'id'): Map<string, string> {
  const texts = new Map<string, string>();
  readLines(file).forEach((raw, i) => {
    const record = parseLine(raw, file, i + 1);
    if (record === undefined) return;
    const id = record[idField];
    const text = record[textField];
    if (typeof id !== 'string' && typeof id !== 'number') throw new RecordError({ file, line: i + 1 }, idField, 'missing id');
    if (typeof text !== 'string') throw new RecordError({ file, line: i + 1 }, textField, 'missing text');
    texts.set(String(id), text);
  });
  return texts;
}

/**
 * Reads a label file (see the file header). `inputFile` supplies texts for lines that only
 * have an id.
 */
export function readLabelledExamples(
  labelsFile: string,
  inputFile?: string,
): { examples: LabelledExample[]; stats: LabelStats } {
  const texts = inputFile !== undefined ? readTexts(inputFile) : undefined;
  const examples: LabelledExample[] = [];
  const stats: LabelStats = { used: 0, skippedNotLlm: 0 };
  readLines(labelsFile).forEach((raw, i) => {
    const line = i + 1;
    const record = parseLine(raw, labelsFile, line);
    if (record === undefined) return;
    if ('by' in record) {
      // A segments.jsonl line: only the judge's decisions are labels.
      if (record.by !== 'llm') {
        stats.skippedNotLlm++;
        return;
      }
    }
    const key = LABEL_KEYS.find((k) => k in record);
    if (key === undefined) {
      throw new RecordError({ file: labelsFile, line }, '(root)', `no label: expected one of ${LABEL_KEYS.join(', ')}`);
    }
    const label = toBoolean(record[key], labelsFile, line, key);
    const id = typeof record.id === 'string' || typeof record.id === 'number' ? String(record.id) : undefined;
    let text = typeof record.text === 'string' ? record.text : undefined;
    if (text === undefined) {
      if (id === undefined) throw new RecordError({ file: labelsFile, line }, 'text', 'no text and no id');
      if (texts === undefined) {
        throw new RecordError({ file: labelsFile, line }, 'text', `no text for id "${id}": pass --input with the texts`);
      }
      text = texts.get(id);
      if (text === undefined) {
        throw new RecordError({ file: labelsFile, line }, 'id', `id "${id}" not found in ${inputFile ?? 'the input'}`);
      }
    }
    const example: LabelledExample = { text, label, file: labelsFile, line };
    if (id !== undefined) example.id = id;
    examples.push(example);
    stats.used++;
  });
  return { examples, stats };
}

/**
 * Decontamination: the word n-grams of benchmark texts, and the first one a record shares.
 *
 * Rule: a text is contaminated when it contains `n` consecutive words (lowercased letters and
 * digits, see words.ts) that also occur consecutively in a benchmark text — 13 by default, as
 * in GPT-3's decontamination and most since: long enough that common phrases ("click the
 * button at the top of the page") never match, short enough that a copied question or policy
 * paragraph does. Benchmark texts shorter than `n` words but of at least {@link MIN_WHOLE_WORDS}
 * (a BFCL question) match when they occur whole. Shorter strings (ids, names, numbers) are
 * ignored: they would match by chance.
 *
 * Benchmark files: JSONL (every string value of every line), JSON (every string value), or any
 * other file as plain text. Only the n-gram hashes are kept in memory (a few bytes each).
 */
import { readFileSync, statSync } from 'node:fs';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';
import { sequenceHash, wordHashes, words } from './words.js';

/** Fewest words of a benchmark text that is matched whole when it is shorter than n. */
export const MIN_WHOLE_WORDS = 8;
/** Longest span quoted in a rejection, in characters. */
const SPAN_CHARS = 300;

export interface ContaminationHit {
  /** The benchmark file, as given. */
  file: string;
  /** The shared words, as they read in the record (lowercased), cut at 300 characters. */
  span: string;
}

/** Every string of a JSON value, depth first. */
function strings(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
}

/** The texts of one benchmark file. */
function benchmarkTexts(file: string): string[] {
  let text: string;
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new GemtrajError(`--decontaminate ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, EXIT_BAD_INPUT);
  }
  const lower = file.toLowerCase();
  const out: string[] = [];
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        strings(JSON.parse(line) as unknown, out);
      } catch {
        out.push(line); // not JSON: the line is text
      }
    }
    return out;
  }
  if (lower.endsWith('.json')) {
    try {
      strings(JSON.parse(text) as unknown, out);
      return out;
    } catch {
      // not JSON after all: read as text
    }
  }
  return [text];
}

export class BenchmarkIndex {
  /** n-gram hash → index of the first file that has it. */
  private readonly grams = new Map<number, number>();
  /** Whole short texts by word count → hash → file index. */
  private readonly whole = new Map<number, Map<number, number>>();

  private constructor(
    readonly files: readonly string[],
    readonly n: number,
  ) {}

  /** Reads the benchmark files; throws naming a file that cannot be read or holds no usable text. */
  static load(files: readonly string[], n: number): BenchmarkIndex {
    const index = new BenchmarkIndex(files, n);
    files.forEach((file, f) => {
      const before = index.grams.size + index.wholeCount();
      for (const text of benchmarkTexts(file)) index.addText(text, f);
      if (index.grams.size + index.wholeCount() === before) {
        throw new GemtrajError(`--decontaminate ${file}: no text of ${MIN_WHOLE_WORDS} words or more in it (nothing to compare against)`, EXIT_BAD_INPUT);
      }
    });
    return index;
  }

  /** Distinct n-grams and whole short texts indexed. */
  get size(): number {
    return this.grams.size + this.wholeCount();
  }

  /** The first benchmark passage `text` shares, or `undefined` when it is clean. */
  find(text: string): ContaminationHit | undefined {
    const hashes = wordHashes(text);
    const n = this.n;
    for (let i = 0; i + n <= hashes.length; i++) {
      const f = this.grams.get(sequenceHash(hashes, i, n));
      if (f === undefined) continue;
      // Extend the span while the following n-grams are shared too.
      let end = i + n;
      while (end < hashes.length && this.grams.has(sequenceHash(hashes, end - n + 1, n))) end++;
      return this.hit(text, f, i, end);
    }
    for (const [m, table] of this.whole) {
      for (let i = 0; i + m <= hashes.length; i++) {
        const f = table.get(sequenceHash(hashes, i, m));
        if (f !== undefined) return this.hit(text, f, i, i + m);
      }
    }
    return undefined;
  }

  private hit(text: string, file: number, start: number, end: number): ContaminationHit {
    const span = words(text).slice(start, end).join(' ');
    return { file: this.files[file] as string, span: span.length > SPAN_CHARS ? `${span.slice(0, SPAN_CHARS)}…` : span };
  }

  private addText(text: string, file: number): void {
    const hashes = wordHashes(text);
    const n = this.n;
    if (hashes.length >= n) {
      for (let i = 0; i + n <= hashes.length; i++) {
        const h = sequenceHash(hashes, i, n);
        if (!this.grams.has(h)) this.grams.set(h, file);
      }
    } else if (hashes.length >= MIN_WHOLE_WORDS) {
      let table = this.whole.get(hashes.length);
      if (table === undefined) this.whole.set(hashes.length, (table = new Map()));
      const h = sequenceHash(hashes, 0, hashes.length);
      if (!table.has(h)) table.set(h, file);
    }
  }

  private wholeCount(): number {
    let count = 0;
    for (const table of this.whole.values()) count += table.size;
    return count;
  }
}

const loaded = new Map<string, BenchmarkIndex>();

/** One index per (files, n) per process: the segment and trajectory steps share it. */
export function benchmarkIndex(files: readonly string[], n: number): BenchmarkIndex {
  const key = JSON.stringify([files, n]);
  let index = loaded.get(key);
  if (index === undefined) loaded.set(key, (index = BenchmarkIndex.load(files, n)));
  return index;
}

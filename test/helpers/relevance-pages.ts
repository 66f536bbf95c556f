/**
 * The relevance fixture (`test/fixtures/relevance/pages.jsonl`, README.md beside it): real web
 * pages labelled procedural or not, with a fixed tune / held-out split by id hash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface RelevancePage {
  id: string;
  source: string;
  license: string;
  procedural: boolean;
  length: number;
  split: 'tune' | 'held-out';
  text: string;
}

export const RELEVANCE_PAGES = fileURLToPath(new URL('../fixtures/relevance/pages.jsonl', import.meta.url));

/** Pages of at least this many characters count as long. */
export const LONG_PAGE_CHARS = 3000;

/** The split rule: the first byte of SHA-256(id), mod 5, below 2 is held out (about 40%). */
export function splitOf(id: string): 'tune' | 'held-out' {
  return (createHash('sha256').update(id).digest()[0] as number) % 5 < 2 ? 'held-out' : 'tune';
}

export function loadRelevancePages(): RelevancePage[] {
  return readFileSync(RELEVANCE_PAGES, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RelevancePage);
}

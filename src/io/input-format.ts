/**
 * Which reader an input file needs: told by its name (`.jsonl.zst`, `.warc.wet.gz`,
 * `train-00000-of-00042.parquet`) or, for pipes and names without an extension, by its
 * first bytes.
 */
import { basename } from 'node:path';
import type { Compression } from './byte-stream.js';

/** How the records of a file are laid out. */
export type InputFormat = 'jsonl' | 'json' | 'csv' | 'tsv' | 'parquet' | 'wet' | 'text';

/** What a name says: each part is `'sniff'` when the name does not tell it (pipes, `foo.gz`). */
export interface FileKind {
  format: InputFormat | 'sniff';
  compression: Compression | 'sniff';
}

const BY_EXTENSION: Record<string, InputFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.parquet': 'parquet',
  '.wet': 'wet',
  '.warc': 'wet',
  '.txt': 'text',
  '.md': 'text',
  '.markdown': 'text',
  '.html': 'text',
  '.htm': 'text',
  '.rst': 'text',
};

const BY_COMPRESSION: Record<string, Compression> = { '.gz': 'gzip', '.gzip': 'gzip', '.zst': 'zstd', '.zstd': 'zstd' };

/** The extensions gemtraj reads, for messages. */
export const SUPPORTED_TYPES = '.jsonl, .ndjson, .json (lines or an array), .csv, .tsv, .parquet, .warc.wet, .txt, .md, .html (any of them .gz or .zst)';

/**
 * Markup a text file's name declares: `.html`/`.htm` are HTML; `.md`, `.markdown`, `.txt` and
 * `.rst` are read as markdown (plain text is valid markdown); a name without one of these
 * (a pipe, `notes`) declares nothing and the segmenter sniffs.
 */
export function markupFromName(path: string): 'html' | 'markdown' | undefined {
  let name = basename(path);
  const outer = lastExtension(name);
  if (BY_COMPRESSION[outer] !== undefined) name = name.slice(0, -outer.length);
  const ext = lastExtension(name);
  if (ext === '.html' || ext === '.htm') return 'html';
  return BY_EXTENSION[ext] === 'text' ? 'markdown' : undefined;
}

/** Last extension of a name, lower case ('' when none). */
function lastExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

/** The kind a file name says, or `undefined` for an extension gemtraj does not read. */
export function kindFromName(path: string): FileKind | undefined {
  let name = basename(path);
  let compression: Compression | 'sniff' = 'sniff';
  const outer = lastExtension(name);
  if (BY_COMPRESSION[outer] !== undefined) {
    compression = BY_COMPRESSION[outer];
    name = name.slice(0, -outer.length);
  }
  const ext = lastExtension(name);
  if (ext === '') return { format: 'sniff', compression };
  const format = BY_EXTENSION[ext];
  if (format === undefined) return undefined;
  // A plain `.jsonl` may still be compressed by mistake: the first bytes decide.
  return { format, compression };
}

/**
 * The layout told by the first (decompressed) bytes: `PAR1` Parquet, `WARC/` a WET file,
 * `[` a JSON array, `{` JSON Lines; anything else is a text document.
 */
export function sniffFormat(head: Buffer): InputFormat {
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('WARC/')) return 'wet';
  if (text.startsWith('[')) return 'json';
  if (text.startsWith('{')) return 'jsonl';
  return 'text';
}

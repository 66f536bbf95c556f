/**
 * The word view of text that deduplication and decontamination compare: lowercased runs of
 * letters and digits (any script). Punctuation, markup remnants and spacing are ignored, so
 * that a page copied with other quotes, bullets or line breaks still compares equal.
 *
 * Hot path (megabytes per second per core): words are hashed in one pass over the character
 * codes, without making a string per word; ASCII is decided by table, other characters once each.
 */

const LETTER_OR_DIGIT = /[\p{L}\p{N}\p{M}]/u;
/** Lowercased code of each ASCII character that belongs to words, 0 for the rest. */
const ASCII = new Uint16Array(128);
for (let c = 48; c <= 57; c++) ASCII[c] = c;
for (let c = 97; c <= 122; c++) ASCII[c] = c;
for (let c = 65; c <= 90; c++) ASCII[c] = c + 32;
/** Non-ASCII code units seen so far → lowercased code (0: not part of a word). */
const WIDE = new Map<number, number>();

function wide(code: number): number {
  let lower = WIDE.get(code);
  if (lower === undefined) {
    // Surrogate halves are kept as they are: a pair stays one piece of a word.
    const ch = String.fromCharCode(code);
    if (code >= 0xd800 && code <= 0xdfff) lower = code;
    else if (!LETTER_OR_DIGIT.test(ch)) lower = 0;
    else {
      const l = ch.toLowerCase();
      lower = l.length === 1 ? l.charCodeAt(0) : code;
    }
    WIDE.set(code, lower);
  }
  return lower;
}

/** Calls `each(start, end)` for every word of `text` (offsets in UTF-16 code units). */
function scan(text: string, each: (hash: number, start: number, end: number) => void): void {
  let h = 0x811c9dc5;
  let start = -1;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    const code = i < n ? text.charCodeAt(i) : 32;
    const c = code < 128 ? (ASCII[code] as number) : wide(code);
    if (c !== 0) {
      if (start < 0) {
        start = i;
        h = 0x811c9dc5;
      }
      h = Math.imul(h ^ c, 0x01000193);
    } else if (start >= 0) {
      each(h >>> 0, start, i);
      start = -1;
    }
  }
}

/** Word hashes of `text`, in order (FNV-1a of each lowercased word), in an array of their own (a view of a larger one). */
export function wordHashes(text: string): Uint32Array {
  return hashWords(text, new Uint32Array(Math.max(16, text.length >>> 2)));
}

/** Reused by {@link transientWordHashes}: grows to the longest text seen, never shrinks. */
let scratch: Uint32Array = new Uint32Array(4096);

/**
 * {@link wordHashes} in a buffer that the next call overwrites: for a caller that is done with
 * them before it calls again (deduplication hashes every segment; a fresh array per segment was
 * a fifth of the bytes allocated per model call).
 */
export function transientWordHashes(text: string): Uint32Array {
  const out = hashWords(text, scratch);
  scratch = out.buffer.byteLength > scratch.byteLength ? new Uint32Array(out.buffer) : scratch;
  return out;
}

/** The scan of {@link scan}, inlined: this is the hot loop. Writes into `out` (or a bigger copy of it) and returns the filled part. */
function hashWords(text: string, out: Uint32Array): Uint32Array {
  let n = 0;
  let h = 0x811c9dc5;
  let inWord = false;
  const len = text.length;
  for (let i = 0; i <= len; i++) {
    const code = i < len ? text.charCodeAt(i) : 32;
    const c = code < 128 ? (ASCII[code] as number) : wide(code);
    if (c !== 0) {
      if (!inWord) {
        inWord = true;
        h = 0x811c9dc5;
      }
      h = Math.imul(h ^ c, 0x01000193);
    } else if (inWord) {
      inWord = false;
      if (n === out.length) {
        const bigger = new Uint32Array(out.length * 2);
        bigger.set(out);
        out = bigger;
      }
      out[n++] = h >>> 0;
    }
  }
  return out.subarray(0, n);
}

/** Words of `text`, lowercased (for spans shown to people; hashing uses {@link wordHashes}). */
export function words(text: string): string[] {
  const out: string[] = [];
  scan(text, (_hash, start, end) => out.push(text.slice(start, end).toLowerCase()));
  return out;
}

/** murmur3's finaliser: spreads every input bit over the output. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Hash of the `n` values of `hashes` from `start`, as a number below 2^53 (two independent
 * 32-bit folds; `seed` separates families): collisions between distinct n-grams are
 * negligible for millions of them.
 */
export function sequenceHash(hashes: Uint32Array, start: number, n: number, seed = 0): number {
  let a = mix32(0x9e3779b9 ^ n ^ Math.imul(seed, 0x85ebca6b));
  let b = mix32(0x7f4a7c15 ^ Math.imul(n, 0x27d4eb2f) ^ seed);
  for (let i = start; i < start + n; i++) {
    const w = hashes[i] as number;
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul((b ^ w) + 0x632be5ab, 0x85ebca6b) ^ (b >>> 15);
  }
  return (mix32(a) & 0x1fffff) * 0x100000000 + mix32(b);
}

/** 32-bit hash of `n` values from `start`: a shingle's identity (cheap, for the hot loop). */
export function shingleHash(hashes: Uint32Array, start: number, n: number): number {
  let h = 0x9e3779b9 ^ n;
  for (let i = start; i < start + n; i++) h = Math.imul((h << 5) | (h >>> 27), 0x01000193) ^ (hashes[i] as number);
  return mix32(h);
}

/**
 * The packer: fills segments with pieces up to `maxChars` and, when one would overflow, cuts
 * at the cheapest break in it. A list is cut only when no other break exists, so a list of
 * steps stays whole whenever it fits.
 */
import { COST_AFTER_HEADING, COST_BLOCK, COST_HEADING, COST_LEAD_IN, type Piece } from './piece.js';

export function joinPieces(group: readonly Piece[]): string {
  let out = '';
  for (let i = 0; i < group.length; i++) {
    const piece = group[i] as Piece;
    out += i === 0 ? piece.text : piece.sep + piece.text;
  }
  return out;
}

export function pack(pieces: readonly Piece[], maxChars: number, minChars: number): Piece[][] {
  const segments: Piece[][] = [];
  let cur: Piece[] = [];
  let curLen = 0;
  const lengthOf = (group: readonly Piece[]): number => {
    let n = 0;
    for (let i = 0; i < group.length; i++) {
      const p = group[i] as Piece;
      n += p.text.length + (i === 0 ? 0 : p.sep.length);
    }
    return n;
  };
  for (const piece of pieces) {
    while (cur.length > 0 && curLen + piece.sep.length + piece.text.length > maxChars) {
      const k = bestCut(cur, piece, minChars);
      segments.push(cur.slice(0, k));
      cur = cur.slice(k);
      curLen = lengthOf(cur);
    }
    curLen += cur.length === 0 ? piece.text.length : piece.sep.length + piece.text.length;
    cur.push(piece);
  }
  if (cur.length > 0) segments.push(cur);
  // A tiny tail reads better as the end of the previous segment, when it fits.
  if (segments.length >= 2) {
    const last = segments[segments.length - 1] as Piece[];
    const prev = segments[segments.length - 2] as Piece[];
    const lastLen = lengthOf(last);
    if (lastLen < minChars) {
      const merged = prev.concat(last);
      if (lengthOf(merged) <= maxChars) segments.splice(segments.length - 2, 2, merged);
    }
  }
  return segments;
}

/**
 * Where to end the current segment `cur` (about to overflow with `next`): the index k of the
 * first piece of the remainder (1..cur.length; cur.length = break before `next`). A cut inside
 * a list is taken only when there is no other; then cuts leaving a first part under
 * `minChars` are avoided; then the cheapest wins, the latest among equals.
 */
function bestCut(cur: readonly Piece[], next: Piece, minChars: number): number {
  // Ranked by: not inside a list, first part at least minChars, cheapest, latest.
  let best = cur.length;
  let bestKey: [number, number, number] = [Infinity, Infinity, Infinity];
  let prefix = (cur[0] as Piece).text.length;
  for (let k = 1; k <= cur.length; k++) {
    const after = k === cur.length ? next : (cur[k] as Piece);
    const key: [number, number, number] = [after.inList === true ? 1 : 0, prefix >= minChars ? 0 : 1, after.cost];
    if (key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] <= bestKey[2])))) {
      best = k;
      bestKey = key;
    }
    if (k < cur.length) prefix += after.sep.length + after.text.length;
  }
  return best;
}

/** Applies the cost rules that depend on neighbours, and the nearest-heading propagation. */
export function finishPieces(pieces: Piece[]): Piece[] {
  let heading: string | undefined;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as Piece;
    const prev = i > 0 ? pieces[i - 1] : undefined;
    if (piece.isHeading) {
      heading = piece.text;
      piece.cost = COST_HEADING;
    }
    if (prev !== undefined) {
      if (prev.isHeading) piece.cost = Math.max(piece.cost, COST_AFTER_HEADING);
      else if (piece.cost === COST_BLOCK && piece.leadIn === true && /:\s*$/.test(prev.text)) {
        // "Do the following:" belongs with the list or code that follows it.
        piece.cost = COST_LEAD_IN;
      }
    }
    piece.heading = heading;
  }
  return pieces;
}

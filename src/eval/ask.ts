/**
 * Rule-based check of whether an assistant text asks the user for something: a question
 * (outside a closing pleasantry such as "Is there anything else I can help with?") or a
 * request phrased as one ("please provide your order number"). Cheap and explainable; the
 * optional LLM judge of `gemtraj eval --judge-model` decides the hard cases instead.
 */

/** Closing lines that end a finished answer with a question but ask for nothing. */
const PLEASANTRIES = [
  /\b(?:is there )?anything else\b/i,
  /\b(?:how )?(?:else )?can i (?:help|assist)\b/i,
  /\bhelp (?:you )?with (?:anything|something) else\b/i,
  /\bdo you have any (?:other|more|further) questions\b/i,
  /\bwould you like (?:help|assistance) with (?:anything|something) else\b/i,
];

/** Requests for information that need not end with a question mark. */
const REQUESTS = [
  /\b(?:please|kindly) (?:provide|share|send|give|tell|confirm|specify|enter|let me know|select|choose)\b/i,
  /\b(?:could|can|would|will) you (?:please )?(?:provide|share|send|give|tell|confirm|specify|let me know|clarify)\b/i,
  /\bi (?:will|'ll|would) need (?:your|the|a|an|to know)\b/i,
  /\bi need (?:your|the|a|an|to know)\b/i,
  /\blet me know (?:your|the|which|what|whether|if)\b/i,
];

/** Sentences of a text, each with its closing punctuation. */
function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** True when `text` asks the user for information or a decision. */
export function asksUser(text: string): boolean {
  for (const sentence of sentences(text)) {
    if (PLEASANTRIES.some((p) => p.test(sentence))) continue;
    if (sentence.includes('?')) return true;
    if (REQUESTS.some((p) => p.test(sentence))) return true;
  }
  return false;
}

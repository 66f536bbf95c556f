/**
 * A Trajectory Synthesizer's answers with the slips a small fine-tuned model makes, and
 * answers cut at the token limit. The clean answer is the rich fixture in the sft-pairs
 * text format; markers in the segment text pick a variant. `synthesizerHandler` serves them
 * from the mock server (other stages go to the scripted teacher).
 */
import { canonicalCallIds } from '../../src/formats/common.js';
import { formatSynthesizerOutput } from '../../src/formats/sft-pairs.js';
import type { MockHandler, MockReply } from '../../src/testing/mock-server.js';
import { scriptedTeacher, stageOf } from '../../src/testing/scripted-teacher.js';
import { richTrajectory } from '../formats-fixture.js';

/** The fixture as the model writes it, and its one call with several arguments. */
export const RICH = canonicalCallIds(richTrajectory());
export const CLEAN = formatSynthesizerOutput(RICH.tools, RICH.messages);
const REFUND_CALL = '{"name":"refund","arguments":{"order_id":"A17","items":[2],"reason":"broken"}}';
/** Index of the assistant message holding the refund call (system prompt included). */
export const REFUND_MESSAGE = 7;

/** The four call slips of the issue: each one repairable JSON. */
export const CALL_SLIPS = {
  'slip-unquoted': '{"name":"refund","arguments":{"order_id":A17,"items":[2],"reason":"broken"}}',
  'slip-bracket': '{"name":"refund","arguments":{"order_id":"A17","reason":"broken","items":[2}}',
  'slip-unescaped-quote': '{"name":"refund","arguments":{"order_id":"A17","items":[2],"reason":"the "broken" one"}}',
  'slip-single-quotes': "{'name':'refund','arguments':{'order_id':'A17','items':[2],'reason':'broken'}}",
} as const;

/** Answers cut at the token limit: inside a message, inside a call, between two turns. */
export const CUTS = {
  'cut-message': CLEAN.slice(0, CLEAN.indexOf('A17 was delivered') + 'A17 was deliv'.length),
  'cut-call': CLEAN.slice(0, CLEAN.indexOf('"reason":"broken"') + '"reason":"bro'.length),
  'cut-between-turns': CLEAN.slice(0, CLEAN.indexOf('<tool>Refund R-9 created.</tool>') + '<tool>Refund R-9 created.</tool>'.length),
} as const;

export type SynthMarker = keyof typeof CALL_SLIPS | keyof typeof CUTS | 'slip-tags' | 'clean';

/** The answer for a marker; `length` when the answer was cut. */
export function synthesizerAnswer(marker: SynthMarker): { text: string; finishReason: 'stop' | 'length' } {
  if (marker in CUTS) return { text: CUTS[marker as keyof typeof CUTS], finishReason: 'length' };
  if (marker in CALL_SLIPS) {
    if (!CLEAN.includes(REFUND_CALL)) throw new Error('fixture changed: the refund call is not where the slips expect it');
    return { text: CLEAN.replace(REFUND_CALL, CALL_SLIPS[marker as keyof typeof CALL_SLIPS]), finishReason: 'stop' };
  }
  // A tag slip: the close tag of the first user message forgotten.
  if (marker === 'slip-tags') return { text: CLEAN.replace('Where are orders A17 and B2?</user>', 'Where are orders A17 and B2?'), finishReason: 'stop' };
  return { text: CLEAN, finishReason: 'stop' };
}

const MARKERS: readonly SynthMarker[] = [...Object.keys(CALL_SLIPS), ...Object.keys(CUTS), 'slip-tags'] as SynthMarker[];

/** Mock handler: synthesizer requests answered by marker (`[[cut-call]]`), the rest by the scripted teacher. */
export function synthesizerHandler(): MockHandler {
  const teacher = scriptedTeacher();
  return (request, index) => {
    if (stageOf(request) !== 'synthesize') return teacher(request, index);
    const prompt = String(request.body.messages?.[0]?.content ?? '');
    const marker = MARKERS.find((m) => prompt.includes(`[[${m}]]`)) ?? 'clean';
    const answer = synthesizerAnswer(marker);
    const reply: MockReply = { kind: 'text', content: answer.text, finishReason: answer.finishReason };
    return reply;
  };
}

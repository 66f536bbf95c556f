import { describe, expect, it } from 'vitest';
import { canonicalCallIds } from '../src/formats/common.js';
import { formatSynthesizerOutput } from '../src/formats/sft-pairs.js';
import { parseSynthesizerOutput, SYNTHESIZER_CHECKS, type SynthesizerOutput } from '../src/prompts/synthesize.js';
import { richTrajectory } from './formats-fixture.js';
import { CALL_SLIPS, REFUND_MESSAGE, synthesizerAnswer } from './helpers/mock-synthesizer.js';

const x = canonicalCallIds(richTrajectory());
const clean = formatSynthesizerOutput(x.tools, x.messages);

function parsed(text: string): SynthesizerOutput {
  const r = parseSynthesizerOutput(text);
  if ('error' in r) throw new Error(r.error);
  return r;
}

const messagesOf = (r: SynthesizerOutput): string[] => r.warnings.map((w) => w.message);

describe('parseSynthesizerOutput', () => {
  it('reads the clean format', () => {
    const r = parsed(clean);
    expect(r).toMatchObject({ tools: x.tools, messages: x.messages });
    expect(r.warnings).toEqual([]);
  });
  it('tolerates code fences, a think block and prose before/after', () => {
    const text = `<think>I should list the tools first.</think>\nHere is the trajectory:\n\`\`\`xml\n${clean}\n\`\`\`\nHope this helps!`;
    const r = parsed(text);
    expect(r.messages).toEqual(x.messages);
    expect(r.tools).toEqual(x.tools);
    expect(r.warnings).toContainEqual({ check: 'synthesizer_format', message: 'think block removed' });
  });
  it('tolerates trailing commas in tools and calls, and says so', () => {
    const text = clean
      .replace('"required":["order_id"]}}}', '"required":["order_id",]},}}')
      .replace('{"order_id":"B2"}}', '{"order_id":"B2",},}');
    expect(text).not.toBe(clean);
    const r = parsed(text);
    expect(r.messages).toEqual(x.messages);
    expect(r.tools).toEqual(x.tools);
    expect(r.warnings.map((w) => [w.check, w.path])).toEqual([
      ['synthesizer_tools_repaired', 'tools'],
      ['synthesizer_call_repaired', 'messages[2].tool_calls[1]'],
    ]);
  });
  it('tolerates a truncated final closing tag', () => {
    const r = parsed(clean.replace(/<\/assistant>$/, ''));
    expect(r.messages).toEqual(x.messages);
    expect(r.warnings).toContainEqual({ check: 'synthesizer_tags', path: `messages[${x.messages.length - 1}]`, message: 'missing </assistant> at the end' });
  });
  it('tolerates a missing </tools> and bare-function tools', () => {
    const r = parsed('<tools>[{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}]\n<user>hi</user><assistant><tool_call>{"name":"f","arguments":{}}</tool_call></assistant><tool>ok</tool><assistant>done</assistant>');
    expect(r.tools).toEqual([{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object', properties: {} } } }]);
    expect(r.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });
  it('keeps a close-tag lookalike inside message text', () => {
    const r = parsed('<tools>[]</tools><user>what does </user> mean in XML?</user><assistant>It closes a tag.</assistant>');
    expect(r.messages[0]).toEqual({ role: 'user', content: 'what does </user> mean in XML?' });
  });
  it('returns an error for unusable output', () => {
    expect(messagesOf(parsed(clean))).toEqual([]);
    expect(parseSynthesizerOutput('Sorry, I cannot help with that.')).toHaveProperty('error');
    expect(parseSynthesizerOutput('<tools>[{"name": </tools><user>x</user>')).toMatchObject({ error: expect.stringContaining('<tools>') });
    expect(parseSynthesizerOutput('<tools>[]</tools><user>x</user><assistant><tool_call>not json at all</tool_call></assistant>')).toHaveProperty('error');
  });
});

describe('parseSynthesizerOutput: every repair is a warning with its place', () => {
  for (const slip of Object.keys(CALL_SLIPS) as Array<keyof typeof CALL_SLIPS>) {
    it(`${slip}: the call is repaired and the warning names the message, the call and what the model wrote`, () => {
      const r = parsed(synthesizerAnswer(slip).text);
      const call = r.messages[REFUND_MESSAGE];
      expect(call?.role === 'assistant' && call.tool_calls?.[0]?.function.name).toBe('refund');
      expect(r.warnings).toEqual([
        {
          check: SYNTHESIZER_CHECKS.callRepaired,
          path: `messages[${REFUND_MESSAGE}].tool_calls[0]`,
          message: `<tool_call> JSON repaired; the model wrote ${JSON.stringify(CALL_SLIPS[slip])}`,
        },
      ]);
    });
  }
  it('the repaired arguments are the values the slips meant', () => {
    const args = (slip: keyof typeof CALL_SLIPS): unknown => {
      const m = parsed(synthesizerAnswer(slip).text).messages[REFUND_MESSAGE];
      return m?.role === 'assistant' ? JSON.parse(m.tool_calls?.[0]?.function.arguments ?? '') : undefined;
    };
    expect(args('slip-unquoted')).toEqual({ order_id: 'A17', items: [2], reason: 'broken' });
    expect(args('slip-bracket')).toEqual({ order_id: 'A17', reason: 'broken', items: [2] });
    expect(args('slip-single-quotes')).toEqual({ order_id: 'A17', items: [2], reason: 'broken' });
    expect(args('slip-unescaped-quote')).toEqual({ order_id: 'A17', items: [2], reason: 'the "broken" one' });
  });
  it('a missing close tag inside the conversation is a tag warning on that message', () => {
    const r = parsed(synthesizerAnswer('slip-tags').text);
    expect(r.messages).toEqual(x.messages);
    expect(r.warnings).toEqual([{ check: 'synthesizer_tags', path: 'messages[1]', message: 'missing </user> before the next block' }]);
  });
  it('a missing </tool_call>, a result without a call and a missing </tools> are tag warnings', () => {
    const r = parsed('<tools>[]<user>hi</user><assistant><tool_call>{"name":"f","arguments":{}}</assistant><tool>ok</tool><tool>extra</tool><assistant>done</assistant>');
    expect(r.warnings.map((w) => [w.check, w.path, w.message])).toEqual([
      ['synthesizer_tags', 'tools', 'missing </tools>'],
      ['synthesizer_tags', 'messages[1].tool_calls[0]', 'missing </tool_call>'],
      ['synthesizer_tags', 'messages[3]', '<tool> without an open call'],
    ]);
  });
  it('text between blocks is a format warning, not silently dropped', () => {
    const r = parsed('<tools>[]</tools>\n<user>hi</user> (the user is polite)\n<assistant>hello</assistant>');
    expect(r.messages).toEqual([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }]);
    expect(r.warnings).toEqual([{ check: 'synthesizer_format', path: 'messages[1]', message: 'text before this block ignored' }]);
  });
  it('tool schemas normalised on the way in are warnings too', () => {
    const r = parsed('<tools>[{"name":"f","description":"d","parameters":{"type":"dict","properties":{"n":{"type":"int"}}}}]</tools><user>hi</user><assistant>ok</assistant>');
    expect(r.warnings.every((w) => w.check === 'schema_normalized' && w.path?.startsWith('tools[0]'))).toBe(true);
    expect(r.warnings.length).toBeGreaterThan(0);
  });
});

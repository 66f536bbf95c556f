import { describe, expect, it } from 'vitest';
import { canonicalCallIds } from '../src/formats/common.js';
import { formatSynthesizerOutput } from '../src/formats/sft-pairs.js';
import { parseSynthesizerOutput, type SynthesizerOutput } from '../src/prompts/synthesize.js';
import { richTrajectory } from './formats-fixture.js';

const x = canonicalCallIds(richTrajectory());
const clean = formatSynthesizerOutput(x.tools, x.messages);

function parsed(text: string): SynthesizerOutput {
  const r = parseSynthesizerOutput(text);
  if ('error' in r) throw new Error(r.error);
  return r;
}

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
    expect(r.warnings).toContain('think block removed');
  });
  it('tolerates trailing commas in tools and calls', () => {
    const text = clean
      .replace('"required":["order_id"]}}}', '"required":["order_id",]},}}')
      .replace('{"order_id":"B2"}}', '{"order_id":"B2",},}');
    expect(text).not.toBe(clean);
    const r = parsed(text);
    expect(r.messages).toEqual(x.messages);
    expect(r.tools).toEqual(x.tools);
  });
  it('tolerates a truncated final closing tag', () => {
    const r = parsed(clean.replace(/<\/assistant>$/, ''));
    expect(r.messages).toEqual(x.messages);
    expect(r.warnings).toContain('missing </assistant> at the end');
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
    expect(parseSynthesizerOutput('Sorry, I cannot help with that.')).toHaveProperty('error');
    expect(parseSynthesizerOutput('<tools>[{"name": </tools><user>x</user>')).toMatchObject({ error: expect.stringContaining('<tools>') });
    expect(parseSynthesizerOutput('<tools>[]</tools><user>x</user><assistant><tool_call>not json at all</tool_call></assistant>')).toHaveProperty('error');
  });
});

import { describe, expect, it } from 'vitest';
import { fieldGuide, wireSchema } from '../src/llm/field-guide.js';
import { toJsonSchema } from '../src/llm/structured.js';
import { ExtractionAnswerSchema } from '../src/prompts/extract.js';
import { JudgeAnswerSchema } from '../src/prompts/judge.js';

describe('the field guide', () => {
  const extraction = toJsonSchema(ExtractionAnswerSchema).schema;
  const guide = fieldGuide(extraction);

  it('names every field with its meaning, allowed values and range, nested fields indented', () => {
    expect(guide).toContain('- procedural (true or false): false when the text holds no multi-step operation');
    expect(guide).toContain('- access (one of: read | write): read = looks up state; write = changes state');
    expect(guide).toMatch(/\n {4}- depends_on \(list of integer, 0 to 100\): 0-based indexes of earlier steps/);
    expect(guide).toContain('- condition (text, or null): when the step applies or branches');
    expect(guide).toContain('- platform (one of: operator | computer | phone | machine | other)');
  });

  it('is compact: a fraction of the JSON Schema it describes', () => {
    expect(guide.length).toBeLessThan(JSON.stringify(extraction).length);
  });

  it('describes every answer schema the stages send', () => {
    expect(fieldGuide(toJsonSchema(JudgeAnswerSchema).schema)).toMatch(/^Fields of the JSON answer/);
  });
});

describe('the wire schema', () => {
  it('leaves numeric bounds out (OpenAI fine-tuned models refuse them) and keeps the rest', () => {
    const wire = JSON.stringify(wireSchema(toJsonSchema(ExtractionAnswerSchema).schema));
    expect(wire).not.toMatch(/"(minimum|maximum|exclusiveMinimum|exclusiveMaximum)"/);
    expect(wire).toContain('"additionalProperties":false');
    // The range is still enforced in code.
    expect(ExtractionAnswerSchema.shape.workflows.element.shape.steps.element.shape.depends_on.safeParse([101]).success).toBe(false);
  });

  it('keeps a field that is itself called minimum', () => {
    const schema = { type: 'object', properties: { minimum: { type: 'number', minimum: 0 } }, required: ['minimum'], additionalProperties: false };
    expect(wireSchema(schema)).toEqual({ type: 'object', properties: { minimum: { type: 'number' } }, required: ['minimum'], additionalProperties: false });
  });
});

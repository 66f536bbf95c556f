/**
 * Nested parameters (prompt set v2): object and array-of-object parameters declare their
 * fields in the extraction and refinement answers, the prompts ask for them, the tool check
 * judges them, and the validator checks call arguments against the nested shape.
 */
import { describe, expect, it } from 'vitest';
import { fieldGuide, wireSchema } from '../src/llm/field-guide.js';
import { buildStructuredRequest, isStrictCompatible, toJsonSchema } from '../src/llm/structured.js';
import { buildExtractMessages, extractAnswerSchema, ExtractionAnswerSchema } from '../src/prompts/extract.js';
import { buildRefineMessages, refineAnswerSchema } from '../src/prompts/refine.js';
import type { ToolParamSpecV2, ToolSpecV2 } from '../src/prompts/tool-spec.js';
import type { Message, Tool, Trajectory } from '../src/records.js';
import { compileToolSchemas } from '../src/stages/schema-check.js';
import { checkToolSpecs, specToTool } from '../src/stages/tool-spec.js';
import { validateTrajectory } from '../src/validate/index.js';

const field = (name: string, type: ToolParamSpecV2['properties'][number]['type'], required = true) => ({
  name,
  type,
  description: `the ${name}`,
  required,
  enum: [],
  format: 'none' as const,
});

const lineItems: ToolParamSpecV2 = {
  name: 'items',
  type: 'object_array',
  description: 'the lines to return',
  required: true,
  enum: [],
  format: 'none',
  properties: [field('sku', 'string'), field('quantity', 'integer'), field('gift_note', 'string', false)],
};
const address: ToolParamSpecV2 = { ...lineItems, name: 'pickup_address', type: 'object', required: false, properties: [field('street', 'string'), field('postcode', 'string')] };
const orderId: ToolParamSpecV2 = { name: 'order_id', type: 'string', description: 'order number', required: true, enum: [], format: 'none', properties: [] };
const returnSpec: ToolSpecV2 = { name: 'create_return', description: 'Open a return; returns the return id.', access: 'write', parameters: [orderId, lineItems, address] };

describe('the answer schema sent (v2)', () => {
  it('lets object parameters declare one level of fields, and stays strict-compatible', () => {
    const { schema, strict } = toJsonSchema(extractAnswerSchema('v2'));
    expect(strict).toBe(true);
    const wire = JSON.stringify(wireSchema(schema));
    // parameters[].properties[] with name, type, description, required, enum, format.
    expect(wire).toMatch(/"properties":\{"type":"array","items":\{"type":"object","properties":\{"name":/);
    expect(wire).toContain('"object_array"');
    expect(wire).toContain('"object"');
    const refine = toJsonSchema(refineAnswerSchema('v2'));
    expect(refine.strict).toBe(true);
    expect(JSON.stringify(refine.schema)).toContain('for type object or object_array: the fields of the object');
  });

  it('leaves v1 unchanged: no nested fields, no object type', () => {
    expect(extractAnswerSchema('v1')).toBe(ExtractionAnswerSchema);
    const v1 = JSON.stringify(toJsonSchema(extractAnswerSchema('v1')).schema);
    expect(v1).not.toContain('for type object or object_array');
    expect(JSON.stringify(toJsonSchema(refineAnswerSchema('v1')).schema)).not.toContain('for type object or object_array');
  });

  it('the request carries the nested fields in the schema and in the field guide', () => {
    const request = buildStructuredRequest('json_schema', buildExtractMessages({ text: 't', maxWorkflows: 1 }), extractAnswerSchema('v2'), 'workflow_extraction');
    const system = request.messages[0]?.content ?? '';
    expect(system).toMatch(/\n {4}- properties \(list of objects\): for type object or object_array: the fields/);
    expect(system).toMatch(/\n {6}- required \(true or false\): true when every object must carry this field/);
    expect(request.responseFormat?.type === 'json_schema' && request.responseFormat.json_schema.strict).toBe(true);
    expect(fieldGuide(toJsonSchema(extractAnswerSchema('v1')).schema)).not.toContain('- properties');
  });
});

describe('the prompts ask for nested fields (v2 only)', () => {
  const v2 = buildExtractMessages({ text: 't', maxWorkflows: 1 })[0]?.content ?? '';
  const v1 = buildExtractMessages({ text: 't', maxWorkflows: 1, promptSet: 'v1' })[0]?.content ?? '';
  it('extraction', () => {
    expect(v2).toContain('declares the fields of that object in properties');
    expect(v1).not.toContain('declares the fields');
  });
  it('refinement', () => {
    const messages: Message[] = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }];
    const r2 = buildRefineMessages({ sourceText: 'x', tools: [], messages })[0]?.content ?? '';
    const r1 = buildRefineMessages({ sourceText: 'x', tools: [], messages, promptSet: 'v1' })[0]?.content ?? '';
    expect(r2).toContain('declares the fields of that object in properties');
    expect(r1).not.toContain('declares the fields');
  });
});

describe('specToTool and the tool check', () => {
  it('builds closed nested object schemas with their required lists', () => {
    const tool = specToTool(returnSpec);
    const props = (tool.function.parameters as { properties: Record<string, unknown> }).properties;
    expect(props.items).toEqual({
      type: 'array',
      items: {
        type: 'object',
        properties: { sku: { type: 'string', description: 'the sku' }, quantity: { type: 'integer', description: 'the quantity' }, gift_note: { type: 'string', description: 'the gift_note' } },
        required: ['sku', 'quantity'],
        additionalProperties: false,
      },
      description: 'the lines to return',
    });
    expect(props.pickup_address).toMatchObject({ type: 'object', required: ['street', 'postcode'], additionalProperties: false });
    expect(compileToolSchemas([tool])).toEqual([]);
    // No fields declared: an open object, as before.
    expect(specToTool({ ...returnSpec, parameters: [{ ...lineItems, properties: [] }] }).function.parameters).toMatchObject({ properties: { items: { type: 'array', items: { type: 'object' } } } });
  });

  it('judges nested names, repeats, enums, and fields on a non-object type', () => {
    const bad: ToolSpecV2 = {
      ...returnSpec,
      parameters: [
        { ...orderId, properties: [field('x', 'string')] },
        { ...lineItems, properties: [field('sku', 'string'), field('sku', 'string'), { ...field('bad name', 'integer'), enum: ['a'] }] },
      ],
    };
    const reasons = checkToolSpecs([bad]);
    expect(reasons.map((r) => [r.check, r.path])).toEqual([
      ['parameter_properties', 'tools[0].parameters[0]'],
      ['parameter_name', 'tools[0].parameters[1].properties[1]'],
      ['parameter_name', 'tools[0].parameters[1].properties[2]'],
      ['parameter_enum', 'tools[0].parameters[1].properties[2]'],
    ]);
    expect(reasons[1]?.message).toContain('"create_return".items');
  });

  it('the one tool-schema check refuses a closed nested object requiring an undeclared field', () => {
    const tool: Tool = specToTool(returnSpec);
    const items = (tool.function.parameters as { properties: { items: { items: { required: string[] } } } }).properties.items.items;
    items.required.push('colour');
    const reasons = compileToolSchemas([tool]);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]?.message).toContain('items[]: required "colour" not declared in properties');
  });
});

describe('the validator checks arguments against the nested shape', () => {
  const tool = specToTool(returnSpec);
  const trajectory = (args: Record<string, unknown>): Trajectory => ({
    id: 't',
    source: { doc_id: 'd' },
    tools: [tool],
    messages: [
      { role: 'system', content: 'Returns desk.' },
      { role: 'user', content: 'Return 2 of LAMP-2 from order W1001, pickup at 1 Main St, 94110.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'create_return', arguments: JSON.stringify(args) } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"return_id":"R1"}' },
      { role: 'assistant', content: 'Return R1 is open.' },
    ],
  });
  const schemaErrors = (args: Record<string, unknown>) => validateTrajectory(trajectory(args)).errors.filter((r) => r.check === 'arguments_schema').map((r) => r.message);

  it('accepts a call that fits', () => {
    expect(schemaErrors({ order_id: 'W1001', items: [{ sku: 'LAMP-2', quantity: 2 }], pickup_address: { street: '1 Main St', postcode: '94110' } })).toEqual([]);
  });

  it('reports a missing nested field, a wrong nested type and an unknown nested field as arguments_schema', () => {
    expect(schemaErrors({ order_id: 'W1001', items: [{ sku: 'LAMP-2' }] })).toEqual(['items[0]: missing required argument "quantity"']);
    expect(schemaErrors({ order_id: 'W1001', items: [{ sku: 'LAMP-2', quantity: 'two' }] })).toEqual(['items[0].quantity: must be integer']);
    expect(schemaErrors({ order_id: 'W1001', items: [], pickup_address: { street: '1 Main St', postcode: 94110 } })).toEqual(['pickup_address.postcode: must be string']);
    expect(schemaErrors({ order_id: 'W1001', items: [{ sku: 'LAMP-2', quantity: 2, colour: 'red' }] })).toEqual(['items[0]: unexpected argument "colour" (additionalProperties is false)']);
  });
});

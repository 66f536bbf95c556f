import { describe, expect, it } from 'vitest';
import { TOOL_NAME_PATTERN, ToolSchema, type Tool } from '../src/records.js';
import { PARAM_TYPES, STRING_FORMATS, ToolSpecSchema, type ToolParamSpec, type ToolSpec } from '../src/prompts/tool-spec.js';
import { checkToolSpecs, specToTool, toolToSpec } from '../src/stages/tool-spec.js';
import { compileToolSchemas } from '../src/stages/schema-check.js';

function param(name: string, type: ToolParamSpec['type'], extra: Partial<ToolParamSpec> = {}): ToolParamSpec {
  return { name, type, description: `the ${name}`, required: true, enum: [], format: 'none', ...extra };
}

function spec(name: string, parameters: ToolParamSpec[], extra: Partial<ToolSpec> = {}): ToolSpec {
  return { name, description: `Does ${name}. Returns the record; fails when not found.`, access: 'read', parameters, ...extra };
}

function props(tool: Tool): Record<string, Record<string, unknown>> {
  return (tool.function.parameters as { properties: Record<string, Record<string, unknown>> }).properties;
}

describe('specToTool', () => {
  it('builds an OpenAI function tool with a closed object schema and a required list', () => {
    const tool = specToTool(
      spec('get_order_details', [param('order_id', 'string'), param('include_items', 'boolean', { required: false })]),
    );
    expect(tool).toEqual({
      type: 'function',
      function: {
        name: 'get_order_details',
        description: 'Does get_order_details. Returns the record; fails when not found.',
        parameters: {
          type: 'object',
          properties: {
            order_id: { type: 'string', description: 'the order_id' },
            include_items: { type: 'boolean', description: 'the include_items' },
          },
          required: ['order_id'],
          additionalProperties: false,
        },
      },
    });
    expect(ToolSchema.safeParse(tool).success).toBe(true);
  });

  it.each([
    ['string', { type: 'string' }],
    ['integer', { type: 'integer' }],
    ['number', { type: 'number' }],
    ['boolean', { type: 'boolean' }],
    ['string_array', { type: 'array', items: { type: 'string' } }],
    ['integer_array', { type: 'array', items: { type: 'integer' } }],
    ['number_array', { type: 'array', items: { type: 'number' } }],
    ['object_array', { type: 'array', items: { type: 'object' } }],
  ] as const)('param type %s → %j', (type, schema) => {
    const tool = specToTool(spec('t', [param('p', type)]));
    expect(props(tool).p).toEqual({ ...schema, description: 'the p' });
  });

  it('covers every PARAM_TYPE', () => {
    expect([...PARAM_TYPES]).toEqual(['string', 'integer', 'number', 'boolean', 'string_array', 'integer_array', 'number_array', 'object_array']);
    const tool = specToTool(spec('all_types', PARAM_TYPES.map((t) => param(`p_${t}`, t))));
    expect(Object.keys(props(tool))).toEqual(PARAM_TYPES.map((t) => `p_${t}`));
    expect(compileToolSchemas([tool])).toEqual([]);
  });

  it('string enums (deduplicated) and formats', () => {
    const tool = specToTool(
      spec('t', [
        param('cabin', 'string', { enum: ['basic_economy', 'economy', 'business', 'economy'] }),
        param('date', 'string', { format: 'date' }),
        param('when', 'string', { format: 'date-time' }),
        param('email', 'string', { format: 'email' }),
        param('link', 'string', { format: 'uri' }),
        param('plain', 'string', { format: 'none' }),
        param('tags', 'string_array', { enum: ['a', 'b', 'a'] }),
      ]),
    );
    const p = props(tool);
    expect(p.cabin).toEqual({ type: 'string', enum: ['basic_economy', 'economy', 'business'], description: 'the cabin' });
    expect(p.date).toEqual({ type: 'string', format: 'date', description: 'the date' });
    expect(p.when?.format).toBe('date-time');
    expect(p.email?.format).toBe('email');
    expect(p.link?.format).toBe('uri');
    expect(p.plain).not.toHaveProperty('format');
    expect(p.tags).toEqual({ type: 'array', items: { type: 'string', enum: ['a', 'b'] }, description: 'the tags' });
    expect(compileToolSchemas([tool])).toEqual([]);
  });

  it('a tool without parameters has an empty closed object schema', () => {
    const tool = specToTool(spec('list_all_airports', []));
    expect(tool.function.parameters).toEqual({ type: 'object', properties: {}, required: [], additionalProperties: false });
    expect(compileToolSchemas([tool])).toEqual([]);
  });

  it('the schema validates the arguments it describes (enum, format, required, no extras)', async () => {
    const { SchemaCache } = await import('../src/validate/schema-cache.js');
    const cache = new SchemaCache();
    const tool = specToTool(
      spec('book', [
        param('cabin', 'string', { enum: ['economy', 'business'] }),
        param('date', 'string', { format: 'date' }),
        param('seats', 'integer'),
        param('names', 'string_array', { required: false }),
      ]),
    );
    const compiled = cache.get(tool.function.parameters ?? {});
    if (!compiled.ok) throw new Error(compiled.error);
    const v = compiled.validate;
    expect(v({ cabin: 'economy', date: '2024-05-01', seats: 2 })).toBe(true);
    expect(v({ cabin: 'economy', date: '2024-05-01', seats: 2, names: ['A'] })).toBe(true);
    expect(v({ cabin: 'first', date: '2024-05-01', seats: 2 })).toBe(false);
    expect(v({ cabin: 'economy', date: 'tomorrow', seats: 2 })).toBe(false);
    expect(v({ cabin: 'economy', date: '2024-05-01', seats: 2.5 })).toBe(false);
    expect(v({ cabin: 'economy', date: '2024-05-01' })).toBe(false);
    expect(v({ cabin: 'economy', date: '2024-05-01', seats: 2, extra: 1 })).toBe(false);
  });
});

describe('toolToSpec', () => {
  it('inverts specToTool for every type, enum, format and required flag', () => {
    const original = spec('update_reservation', [
      param('reservation_id', 'string'),
      param('cabin', 'string', { enum: ['economy', 'business'], required: false }),
      param('depart_on', 'string', { format: 'date' }),
      param('contact', 'string', { format: 'email', required: false }),
      param('bags', 'integer'),
      param('amount', 'number', { required: false }),
      param('insured', 'boolean'),
      param('flight_numbers', 'string_array'),
      param('seat_classes', 'string_array', { enum: ['window', 'aisle'] }),
      param('legs', 'integer_array'),
      param('prices', 'number_array'),
      param('passengers', 'object_array'),
    ]);
    const back = toolToSpec(specToTool(original));
    // access is not part of the OpenAI format: it comes back as read.
    expect(back).toEqual({ ...original, access: 'read' });
    expect(ToolSpecSchema.safeParse(back).success).toBe(true);
    expect(specToTool(back)).toEqual(specToTool(original));
  });

  it('reads foreign tools: no parameters, no description, unknown types and formats', () => {
    const bare: Tool = { type: 'function', function: { name: 'ping' } };
    expect(toolToSpec(bare)).toEqual({ name: 'ping', description: '', access: 'read', parameters: [] });

    const foreign: Tool = {
      type: 'function',
      function: {
        name: 'search',
        description: 'Search.',
        parameters: {
          type: 'object',
          properties: {
            q: { type: 'string', format: 'regex' },
            filters: { type: 'object' },
            limit: { type: 'integer', enum: [10, 20] },
            kinds: { type: 'array' },
          },
          required: ['q', 'not_a_property'],
        },
      },
    };
    const s = toolToSpec(foreign);
    expect(s.parameters).toEqual([
      { name: 'q', type: 'string', description: '', required: true, enum: [], format: 'none' },
      { name: 'filters', type: 'string', description: '', required: false, enum: [], format: 'none' },
      { name: 'limit', type: 'integer', description: '', required: false, enum: ['10', '20'], format: 'none' },
      { name: 'kinds', type: 'string_array', description: '', required: false, enum: [], format: 'none' },
    ]);
  });
});

describe('checkToolSpecs', () => {
  const good = [
    spec('get_order_details', [param('order_id', 'string')]),
    spec('cancel_order', [param('order_id', 'string'), param('reason', 'string', { enum: ['no longer needed', 'ordered by mistake'] })], { access: 'write' }),
  ];

  it('accepts a good tool set', () => {
    expect(checkToolSpecs(good)).toEqual([]);
  });

  it.each(['get order', 'get.order', '', 'x'.repeat(65), 'café', 'get/order'])('refuses the tool name %j', (name) => {
    const reasons = checkToolSpecs([spec(name, [])]);
    expect(reasons).toContainEqual({ check: 'tool_name', path: 'tools[0]', message: `tool name "${name}" must match ^[a-zA-Z0-9_-]{1,64}$` });
  });

  it.each(['get-order', 'GetOrder', 'x'.repeat(64), '1st_step', 'a'])('accepts the tool name %j', (name) => {
    expect(TOOL_NAME_PATTERN.test(name)).toBe(true);
    expect(checkToolSpecs([spec(name, [])])).toEqual([]);
  });

  it('reports a duplicate tool at the second definition', () => {
    expect(checkToolSpecs([...good, spec('get_order_details', [])])).toEqual([
      { check: 'duplicate_tool', path: 'tools[2]', message: 'tool "get_order_details" is defined twice' },
    ]);
  });

  it('reports a missing description', () => {
    expect(checkToolSpecs([spec('t', [], { description: '  ' })])).toEqual([
      { check: 'tool_description', path: 'tools[0]', message: 'tool "t" has no description' },
    ]);
  });

  it.each(['order id', '1order', 'order-id', '', 'x'.repeat(65), 'ordér'])('refuses the parameter name %j', (name) => {
    const reasons = checkToolSpecs([spec('t', [param(name, 'string')])]);
    expect(reasons).toEqual([{ check: 'parameter_name', path: 'tools[0].parameters[0]', message: `parameter "${name}" of "t" is not a valid identifier` }]);
  });

  it('reports a parameter listed twice', () => {
    const reasons = checkToolSpecs([spec('t', [param('a', 'string'), param('b', 'string'), param('a', 'integer')])]);
    expect(reasons).toEqual([{ check: 'parameter_name', path: 'tools[0].parameters[2]', message: 'parameter "a" of "t" is listed twice' }]);
  });

  it.each(['integer', 'number', 'boolean', 'integer_array', 'number_array', 'object_array'] as const)('refuses an enum on type %s', (type) => {
    const reasons = checkToolSpecs([spec('t', [param('x', type, { enum: ['1', '2'] })])]);
    expect(reasons).toEqual([{ check: 'parameter_enum', path: 'tools[0].parameters[0]', message: `parameter "x" of "t" has an enum but type ${type}` }]);
  });

  it('uses the path prefix and reports every problem', () => {
    const reasons = checkToolSpecs(
      [spec('ok', []), spec('bad name', [param('1x', 'string'), param('n', 'integer', { enum: ['1'] })], { description: '' })],
      'answer.tools',
    );
    expect(reasons.map((r) => [r.check, r.path])).toEqual([
      ['tool_name', 'answer.tools[1]'],
      ['tool_description', 'answer.tools[1]'],
      ['parameter_name', 'answer.tools[1].parameters[0]'],
      ['parameter_enum', 'answer.tools[1].parameters[1]'],
    ]);
  });
});

describe('ToolSpecSchema', () => {
  it('is strict: every field is required and no extra field is allowed', () => {
    const s = spec('t', [param('a', 'string')]);
    expect(ToolSpecSchema.safeParse(s).success).toBe(true);
    expect(ToolSpecSchema.safeParse({ ...s, extra: 1 }).success).toBe(false);
    const { access: _a, ...noAccess } = s;
    expect(ToolSpecSchema.safeParse(noAccess).success).toBe(false);
    expect(ToolSpecSchema.safeParse({ ...s, parameters: [{ ...param('a', 'string'), format: 'time' }] }).success).toBe(false);
    expect(ToolSpecSchema.safeParse({ ...s, parameters: [{ ...param('a', 'string'), type: 'object' }] }).success).toBe(false);
    expect([...STRING_FORMATS]).toEqual(['none', 'date', 'date-time', 'email', 'uri']);
  });
});

/**
 * Tools as the model writes them: typed parameter lists, not JSON Schema. Strict
 * `json_schema` structured output cannot carry a free-form JSON Schema (every object needs
 * fixed properties), so the extract and refine answers use this shape and gemtraj builds the
 * JSON Schema in code (src/stages/tool-spec.ts).
 */
import { z } from 'zod';

export const PARAM_TYPES = [
  'string',
  'integer',
  'number',
  'boolean',
  'string_array',
  'integer_array',
  'number_array',
  'object_array',
] as const;

export const STRING_FORMATS = ['none', 'date', 'date-time', 'email', 'uri'] as const;

export const ToolParamSpecSchema = z
  .object({
    name: z.string().describe('snake_case parameter name that explains itself (order_id, not id)'),
    type: z.enum(PARAM_TYPES),
    description: z.string().describe('what the value is, its unit or format, and where the caller gets it'),
    required: z.boolean(),
    enum: z.array(z.string()).describe('allowed values when the text lists options; [] otherwise'),
    format: z.enum(STRING_FORMATS).describe('string format; none when not a date, time, email or URL'),
  })
  .strict();
export type ToolParamSpec = z.infer<typeof ToolParamSpecSchema>;

export const ToolSpecSchema = z
  .object({
    name: z.string().describe('short reusable snake_case verb_object name, e.g. get_order_details'),
    description: z.string().describe('one capability: what it does, what it returns, when it fails'),
    access: z.enum(['read', 'write']).describe('read = looks up state; write = changes state'),
    parameters: z.array(ToolParamSpecSchema),
  })
  .strict();
export type ToolSpec = z.infer<typeof ToolSpecSchema>;

/**
 * Prompt set v2: a parameter may be a plain `object`, and an `object` or `object_array`
 * parameter declares its fields (one level: a field is a scalar or a list of scalars).
 * Strict structured output needs every property present, so scalar parameters answer
 * `properties: []`.
 */
export const PARAM_TYPES_V2 = [...PARAM_TYPES, 'object'] as const;

/** Parameter types whose value is an object (or a list of objects) with declared fields. */
export const OBJECT_PARAM_TYPES: ReadonlySet<string> = new Set(['object', 'object_array']);

/** Types of a nested field: no objects below the first level. */
export const FIELD_TYPES = ['string', 'integer', 'number', 'boolean', 'string_array', 'integer_array', 'number_array'] as const;

/** A field of an object parameter: the parameter spec one level down, without further nesting. */
export const ToolFieldSpecSchema = ToolParamSpecSchema.extend({
  type: z.enum(FIELD_TYPES),
  required: z.boolean().describe('true when every object must carry this field'),
});
export type ToolFieldSpec = z.infer<typeof ToolFieldSpecSchema>;

export const ToolParamSpecV2Schema = z
  .object({
    ...ToolParamSpecSchema.shape,
    type: z.enum(PARAM_TYPES_V2),
    properties: z
      .array(ToolFieldSpecSchema)
      .describe('for type object or object_array: the fields of the object (of each list item); [] for every other type'),
  })
  .strict();
export type ToolParamSpecV2 = z.infer<typeof ToolParamSpecV2Schema>;

export const ToolSpecV2Schema = z
  .object({
    ...ToolSpecSchema.shape,
    parameters: z.array(ToolParamSpecV2Schema),
  })
  .strict();
export type ToolSpecV2 = z.infer<typeof ToolSpecV2Schema>;

/** A tool spec of either prompt set. */
export type AnyToolSpec = ToolSpec | ToolSpecV2;
/** A parameter spec of either prompt set. */
export type AnyParamSpec = ToolParamSpec | ToolParamSpecV2;

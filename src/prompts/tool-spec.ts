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

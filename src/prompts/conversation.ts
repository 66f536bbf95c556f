/**
 * The conversation shape the teacher answers in (generate and refine): turns with a role,
 * content, and calls by tool name with a JSON arguments string. No ids and no links: those
 * are assigned in code (src/stages/conversation.ts), so a model never invents an id.
 */
import { z } from 'zod';

export const TurnCallSchema = z
  .object({
    name: z.string().describe('exact name of a tool from the tool list'),
    arguments: z.string().describe('the arguments as a JSON object encoded in a string, e.g. "{\\"order_id\\": \\"W2378156\\"}"'),
  })
  .strict();

export const TurnSchema = z
  .object({
    role: z.enum(['user', 'assistant', 'tool']),
    content: z.string().describe('user text; assistant text ("" when the turn only calls tools); or the tool result as JSON'),
    tool_calls: z.array(TurnCallSchema).describe('assistant tool calls; [] for every other turn'),
  })
  .strict();
export type Turn = z.infer<typeof TurnSchema>;

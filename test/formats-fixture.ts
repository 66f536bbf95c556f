// Shared fixtures for the format tests (not a test file itself).
import type { Trajectory } from '../src/records.js';
import { SHARED_DATA } from './helpers/shared-data.js';

export const DATA = SHARED_DATA;

/** A refined-style trajectory: system, several user turns, parallel calls, text beside a call. */
export function richTrajectory(): Trajectory {
  return {
    id: 'traj_rich',
    source: { doc_id: 'doc1', segment_id: 'doc1#0' },
    domain: 'shop',
    tools: [
      {
        type: 'function',
        function: {
          name: 'lookup_order',
          description: 'Find an order',
          parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'Order id' } }, required: ['order_id'] },
        },
      },
      {
        type: 'function',
        function: {
          name: 'refund',
          description: 'Refund items',
          parameters: {
            type: 'object',
            properties: { order_id: { type: 'string' }, items: { type: 'array', items: { type: 'integer' } }, reason: { type: 'string' } },
            required: ['order_id', 'items'],
          },
        },
      },
    ],
    messages: [
      { role: 'system', content: 'You are a support agent. Refunds need a delivered order.' },
      { role: 'user', content: 'Where are orders A17 and B2?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"A17"}' } },
          { id: 'call_2', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"B2"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"status":"delivered","items":[1,2]}' },
      { role: 'tool', tool_call_id: 'call_2', content: '{"status":"shipped"}' },
      { role: 'assistant', content: 'A17 was delivered; B2 is on its way.' },
      { role: 'user', content: 'Refund item 2 of A17, it arrived broken — "ünïcode" <ok> & fine.' },
      {
        role: 'assistant',
        content: 'Let me refund that.',
        tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'refund', arguments: '{"order_id":"A17","items":[2],"reason":"broken"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_3', content: 'Refund R-9 created.' },
      { role: 'assistant', content: 'Done: refund R-9.' },
    ],
    meta: { stage: 'refined' },
  };
}

/** A simple trajectory ShareGPT can carry losslessly (no parallel calls, no text beside calls). */
export function simpleTrajectory(): Trajectory {
  const t = richTrajectory();
  return {
    ...t,
    id: 'traj_simple',
    messages: [
      t.messages[0]!,
      { role: 'user', content: 'Where is A17?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"A17"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"status":"delivered"}' },
      { role: 'assistant', content: 'It was delivered.' },
      { role: 'user', content: 'Thanks!' },
      { role: 'assistant', content: 'You are welcome.' },
    ],
  };
}

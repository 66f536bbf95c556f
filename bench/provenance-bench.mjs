// argument_provenance on a worst case for derivations: one call with many numeric arguments
// after 2 MB of digit-rich tool results (issue 12 B8 review: each unit-named argument used to
// search ~250 converted phrases through every message). Run after `npm run build`:
//   node bench/provenance-bench.mjs
// Prints milliseconds per trajectory for arguments with no unit (`v0`), in milliseconds
// (`v0_ms`) and in minutes (`v0_minutes`, values that convert to whole hours).
import { validateTrajectory } from '../dist/validate/index.js';

const big = 'lorem ipsum 12 dolor 3 sit amet 7 '.repeat(32000); // ~1 MB, a number every few words

function trajectory(nargs, suffix, valueOf) {
  const args = {};
  for (let i = 0; i < nargs; i++) args[`v${i}${suffix}`] = valueOf(i);
  const messages = [{ role: 'user', content: 'please' }];
  for (let k = 0; k < 2; k++) {
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `p${k}`, type: 'function', function: { name: 'act', arguments: '{}' } }] });
    messages.push({ role: 'tool', tool_call_id: `p${k}`, content: big });
  }
  messages.push(
    { role: 'assistant', content: 'ok', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'act', arguments: JSON.stringify(args) } }] },
    { role: 'tool', tool_call_id: 'c1', content: '{}' },
    { role: 'assistant', content: 'Done.' },
  );
  return { id: 't', source: { doc_id: 'd' }, tools: [{ type: 'function', function: { name: 'act', parameters: { type: 'object', properties: {} } } }], messages };
}

validateTrajectory(trajectory(4, '', (i) => 100003 + i), { skip: ['unknown_argument'] }); // warm up
for (const [label, suffix, valueOf] of [
  ['no unit', '', (i) => 100003 + i * 17],
  ['_ms', '_ms', (i) => 100003 + i * 17],
  ['_minutes', '_minutes', (i) => 6000 + i * 60],
]) {
  for (const n of [10, 40]) {
    const t = trajectory(n, suffix, valueOf);
    const start = performance.now();
    const r = validateTrajectory(t, { skip: ['unknown_argument'] });
    const ms = performance.now() - start;
    console.log(`${String(n).padStart(2)} numeric args (${label.padEnd(8)}), 2 MB of tool results: ${ms.toFixed(0).padStart(6)} ms, ${r.warnings.length} warnings`);
  }
}

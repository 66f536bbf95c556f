// CPU per paid call of the usage ledger (goal of issue 15: the gateway's own work ≤ 1 ms of CPU
// per call): the two events a paid call appends (`sent`, then `paid` with tokens and cost), each
// one write without fsync, through UsageAccounting as the gateway does. Also the replay time of
// the ledger on resume. Run after `npm run build`:
//   node bench/usage-ledger-bench.mjs [--calls 200000]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageAccounting } from '../dist/llm/usage.js';
import { UsageLedger } from '../dist/llm/usage-ledger.js';

const args = process.argv.slice(2);
const i = args.indexOf('--calls');
const calls = i === -1 ? 200_000 : Number(args[i + 1]);
const dir = mkdtempSync(join(tmpdir(), 'gemtraj-ledger-bench-'));
const path = join(dir, 'usage.jsonl');
try {
  const ledger = new UsageLedger(path);
  const accounting = new UsageAccounting({ teacher: { prompt_per_million: 0.4, completion_per_million: 1.6 } }, (e) => ledger.append(e));
  const stages = ['filter', 'extract', 'generate', 'refine', 'judge'];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let n = 0; n < calls; n++) {
    const stage = stages[n % stages.length];
    accounting.recordSent(stage, 'teacher');
    accounting.recordCall(stage, 'teacher', { prompt_tokens: 1500 + (n % 700), completion_tokens: 300 + (n % 90) });
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  ledger.close();
  const cpuUs = (cpu.user + cpu.system) / calls;
  console.log(`${calls} paid calls: ${(cpuUs).toFixed(1)} µs CPU per call (${(wall * 1000 / calls).toFixed(1)} µs wall), ledger ${(statSync(path).size / calls).toFixed(0)} bytes per call`);
  const r0 = performance.now();
  const replay = new UsageLedger(path);
  const report = replay.previous();
  console.log(`replay on resume: ${(performance.now() - r0).toFixed(0)} ms for ${calls} calls (totals.calls ${report.totals.calls})`);
  replay.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

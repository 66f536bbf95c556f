// CPU per paid call of the usage ledger (goal of issue 15: the gateway's own work ≤ 1 ms of CPU
// per call): the two events a paid call appends (`sent`, then `paid` with tokens and cost), each
// one write without fsync, through UsageAccounting as the gateway does. Then the replay of a
// ledger of `--replay-lines` lines on resume (issue 11: replayed in chunks, so a ledger past V8's
// 512 MB string limit still opens, in memory that does not grow with it): its rate and the
// process's peak RSS, then its compaction and the next resume. Run after `npm run build`:
//   node bench/usage-ledger-bench.mjs [--calls 200000] [--replay-lines 5000000]
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageAccounting } from '../dist/llm/usage.js';
import { UsageLedger } from '../dist/llm/usage-ledger.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const calls = arg('--calls', 200_000);
const replayLines = arg('--replay-lines', 5_000_000);
const dir = mkdtempSync(join(tmpdir(), 'gemtraj-ledger-bench-'));
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const stages = ['filter', 'extract', 'generate', 'refine', 'judge'];
try {
  const path = join(dir, 'usage.jsonl');
  const ledger = new UsageLedger(path);
  const accounting = new UsageAccounting({ teacher: { prompt_per_million: 0.4, completion_per_million: 1.6 } }, (e) => ledger.append(e));
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

  // A big ledger written in blocks (the paid-call lines above, repeated), then replayed.
  const big = join(dir, 'big-usage.jsonl');
  const block = [];
  for (let n = 0; n < 10_000; n++) {
    const s = stages[n % stages.length];
    block.push(JSON.stringify({ e: 'sent', s, m: 'teacher' }));
    block.push(JSON.stringify({ e: 'paid', s, m: 'teacher', p: 1500 + (n % 700), c: 300 + (n % 90), usd: 0.0010843 + n / 1e9 }));
  }
  const text = `${block.join('\n')}\n`;
  for (let written = 0; written < replayLines; written += block.length) appendFileSync(big, text);
  const size = statSync(big).size;
  const rssBefore = process.memoryUsage().rss;
  const r0 = performance.now();
  const replay = new UsageLedger(big);
  const report = replay.previous();
  const ms = performance.now() - r0;
  const peak = process.resourceUsage().maxRSS * 1024;
  // The first append compacts a ledger over 64 MiB into one base line; the next resume reads that.
  const c0 = performance.now();
  replay.append({ e: 'retry', s: 'extract', m: 'teacher' });
  const compactMs = performance.now() - c0;
  replay.close();
  const n0 = performance.now();
  const next = new UsageLedger(big);
  const nextCalls = next.previous().totals.calls;
  const nextMs = performance.now() - n0;
  next.close();
  console.log(
    `replay on resume: ${Math.ceil(replayLines / block.length) * block.length} lines (${mb(size)}) in ${(ms / 1000).toFixed(1)} s ` +
      `(${((size / 2 ** 20) / (ms / 1000)).toFixed(0)} MB/s, ${(report.totals.calls / (ms / 1000) / 1e6).toFixed(2)} M calls/s; totals.calls ${report.totals.calls}); ` +
      `RSS ${mb(rssBefore)} before, peak ${mb(peak)}`,
  );
  console.log(
    `compaction at the first append: ${compactMs.toFixed(0)} ms, ledger now ${statSync(big).size} bytes; ` +
      `next resume replays it in ${nextMs.toFixed(1)} ms (totals.calls ${nextCalls})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// gemtraj benchmarks: end-to-end throughput against a mock endpoint, memory as the corpus
// grows, and the filter and validator micro-benchmarks. Run with `npm run bench` (builds first)
// or `node bench/run-all.mjs` after `npm run build`. Prints figures; exit status 1 only when
// a run fails, never because a goal was missed (the figures say so).
//
// The mock endpoint runs in its own process (bench/mock-server-process.mjs) and gemtraj is a
// real `node dist/cli/main.js run` child process with bench/heap-probe.mjs preloaded (CPU time,
// peak RSS, live heap after major GCs), so the CPU and memory figures are gemtraj's alone.
//
// Settings (environment variables):
//   BENCH_DOCS=2000           documents of the throughput run (full pipeline, judge on; 0 to skip)
//   BENCH_LATENCY_MS=200      mock latency of the throughput run
//   BENCH_JITTER_MS=0         extra uniform jitter of the throughput run
//   BENCH_CONCURRENCY=64      --concurrency of the throughput run
//   BENCH_FAST_DOCS=2000      documents of the fast-endpoint run: the same pipeline against a mock
//                             that answers at once, to show how many calls/s one process drives
//                             ('' or 0 to skip)
//   BENCH_FAST_LATENCY_MS=0   mock latency of the fast-endpoint run
//   BENCH_FAST_JITTER_MS=5    extra uniform jitter of the fast-endpoint run
//   BENCH_FAST_CONCURRENCY=256 --concurrency of the fast-endpoint run
//   BENCH_MEMORY_DOCS=1000,10000,100000   corpus sizes of the memory runs ('' to skip)
//   BENCH_MEMORY_LATENCY_MS=5 mock latency of the memory runs
//   BENCH_MEMORY_CONCURRENCY=128
//   BENCH_MEMORY_NARRATIVE=0.9 share of narrative documents in the memory corpora (dropped by the
//                             local filter with no call), so 100k documents take ~20k calls
//   BENCH_MEMORY_CAP_MB=96    run the largest memory corpus again with node --max-old-space-size=96
//                             to show it fits a small heap ('' or 0 to skip)
//   BENCH_MICRO=1             also run bench/filter-bench.mjs, bench/parquet-bench.mjs, bench/dedup-bench.mjs and bench/validate-bench.mjs (0 to skip)
//   BENCH_KEEP=1              keep the temp directory (runs, corpora) for inspection
//   BENCH_ARGS='--dedup off'  extra flags for the gemtraj run of the throughput benchmark
//   BENCH_NODE_FLAGS='--single-threaded-gc'  extra node flags for that gemtraj process
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeCorpus } from '../dist/testing/corpus.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : process.env[name]);
const num = (name, fallback) => Number(env(name, String(fallback)));

const DOCS = num('BENCH_DOCS', 2000);
const LATENCY = num('BENCH_LATENCY_MS', 200);
const JITTER = num('BENCH_JITTER_MS', 0);
const CONCURRENCY = num('BENCH_CONCURRENCY', 64);
const FAST_DOCS = num('BENCH_FAST_DOCS', 2000);
const FAST_LATENCY = num('BENCH_FAST_LATENCY_MS', 0);
const FAST_JITTER = num('BENCH_FAST_JITTER_MS', 5);
const FAST_CONCURRENCY = num('BENCH_FAST_CONCURRENCY', 256);
const MEMORY_DOCS = (process.env.BENCH_MEMORY_DOCS ?? '1000,10000,100000').split(',').filter((s) => s.trim() !== '').map(Number);
const MEMORY_LATENCY = num('BENCH_MEMORY_LATENCY_MS', 5);
const MEMORY_CONCURRENCY = num('BENCH_MEMORY_CONCURRENCY', 128);
const MEMORY_NARRATIVE = num('BENCH_MEMORY_NARRATIVE', 0.9);
const MEMORY_CAP_MB = num('BENCH_MEMORY_CAP_MB', 96);
const MICRO = env('BENCH_MICRO', '1') !== '0';
const PROBE = pathToFileURL(join(ROOT, 'bench', 'heap-probe.mjs')).href;

if (!existsSync(CLI)) {
  console.error('dist/ is missing: run `npm run build` first (or `npm run bench`).');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'gemtraj-bench-'));
const children = new Set();
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  if (process.env.BENCH_KEEP !== '1') rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

// ---------------------------------------------------------------------------------------------
// The mock endpoint process

async function startMock({ latency, jitter }) {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'mock-server-process.mjs'), '--latency', String(latency), '--jitter', String(jitter)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout });
  const pending = [];
  lines.on('line', (line) => pending.shift()?.(JSON.parse(line)));
  const next = () => new Promise((resolve) => pending.push(resolve));
  const hello = await next();
  return {
    url: hello.url,
    async stats() {
      const reply = next();
      child.stdin.write('stats\n');
      return reply;
    },
    async close() {
      child.stdin.end('quit\n');
      await new Promise((resolve) => child.once('exit', resolve));
      children.delete(child);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A measured `gemtraj run`

/** Runs `gemtraj …` as a child process with bench/heap-probe.mjs preloaded; returns its figures. */
async function gemtraj(args, nodeFlags = []) {
  const probe = join(work, `probe-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, '--import', PROBE, CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OPENAI_API_KEY: '', GEMTRAJ_BENCH_PROBE: probe },
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.resume();
  const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
  children.delete(child);
  const wallS = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`gemtraj ${args.join(' ')} exited ${code}:\n${stderr}`);
  const p = JSON.parse(readFileSync(probe, 'utf8'));
  return { wallS, cpuS: p.cpuS, userS: p.userS, systemS: p.systemS, peakMb: p.peakRssMb, liveHeapMb: p.liveHeapMaxMb, elu: p.eventLoopUtilization, runQueueWaitS: p.runQueueWaitS, mainThreadCpuS: p.mainThreadCpuS, otherThreadsCpuS: p.otherThreadsCpuS, cpuSamples: p.cpuSamples };
}

function runJsonOf(out) {
  return JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

/**
 * A full-pipeline `gemtraj run` (plus $BENCH_ARGS) of a fresh corpus against its own mock;
 * gives the process figures, the mock's stats, run.json, calls and the pipeline time.
 */
async function pipelineRun({ name, docs, seed, latency, jitter, concurrency }) {
  const corpus = join(work, `corpus-${name}-${docs}.jsonl`);
  await writeCorpus(corpus, { count: docs, seed });
  const mock = await startMock({ latency, jitter });
  const out = join(work, `run-${name}`);
  try {
    const extra = (process.env.BENCH_ARGS ?? '').split(' ').filter(Boolean);
    const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const m = await gemtraj(['run', corpus, '--out', out, '--base-url', mock.url, '--model', 'm', '--concurrency', String(concurrency), '--quiet', ...extra], nodeFlags);
    const server = await mock.stats();
    const run = runJsonOf(out);
    return { m, server, run, calls: run.usage.totals.calls, sessionS: run.sessions.at(-1).duration_s };
  } finally {
    await mock.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Throughput at the configured concurrency, full pipeline (filter cascade, refine, judge)

async function throughput() {
  if (!(DOCS > 0)) return undefined;
  const { m, server, run, calls, sessionS } = await pipelineRun({ name: 'throughput', docs: DOCS, seed: 1, latency: LATENCY, jitter: JITTER, concurrency: CONCURRENCY });
  const meanLatency = LATENCY + JITTER / 2;
  const ideal = CONCURRENCY / (meanLatency / 1000);
  const achieved = calls / sessionS;
  const achievedWall = calls / m.wallS;
  console.log(`\n== throughput: ${DOCS} documents, full pipeline (cascade filter, extract, generate, refine, judge)`);
  console.log(`   mock latency ${LATENCY} ms${JITTER > 0 ? ` + jitter [0, ${JITTER}) ms` : ''}, --concurrency ${CONCURRENCY}, ${cpus().length} cores`);
  console.log(`   calls ${calls} (${fmt(calls / DOCS, 2)}/document; server saw ${server.count}, in flight: max ${server.maxInFlight}, mean while busy ${fmt(server.meanInFlight)})`);
  console.log(`   passed ${run.counts.passed}, balanced ${run.counts.balanced}`);
  console.log(`   pipeline time ${fmt(sessionS, 2)} s (process wall ${fmt(m.wallS, 2)} s, incl. start-up)`);
  console.log(`   achieved ${fmt(achieved)} calls/s vs ideal ${fmt(ideal)} (concurrency / latency) → ${fmt((100 * achieved) / ideal)}% of ideal` +
    ` (${fmt((100 * achievedWall) / ideal)}% over process wall time)`);
  // The unavoidable tail: the last documents' chains of dependent calls drain with fewer in flight.
  const chain = calls / DOCS;
  const bound = (calls / ideal) / (calls / ideal + (chain * meanLatency) / 1000 / 2);
  console.log(`   sustained ${fmt(server.sustainedPerS)} calls/s over the middle 80% of requests → ${fmt((100 * server.sustainedPerS) / ideal)}% of ideal`);
  console.log(`   (tail bound: a ${fmt(chain, 1)}-call dependent chain per document caps a ${DOCS}-document run at ≈${fmt(100 * bound)}%)`);
  console.log(`   gemtraj CPU ${fmt(m.cpuS, 2)} s → ${fmt((1000 * m.cpuS) / calls, 3)} ms per call (${fmt((100 * m.cpuS) / m.wallS)}% of one core); peak RSS ${fmt(m.peakMb)} MB, live heap ≤ ${fmt(m.liveHeapMb)} MB`);
  console.log(`   event loop busy ${fmt(100 * m.elu)}% of the wall time; main thread waited ${m.runQueueWaitS === undefined ? 'n/a' : `${fmt(m.runQueueWaitS, 2)} s`} for a core (other processes had it)`);
  console.log(`   mock server CPU ${fmt(server.cpuMs / 1000, 2)} s (separate process)`);
  return { calls, achieved, ideal, sustained: server.sustainedPerS, cpuPerCallMs: (1000 * m.cpuS) / calls, peakMb: m.peakMb, liveHeapMb: m.liveHeapMb, sessionS };
}

/** The process's CPU seconds (since it started) at epoch ms `t`, interpolated between the probe's samples (the first sample's before it). */
function cpuAtMs(samples, t) {
  if (!Array.isArray(samples) || samples.length === 0) return undefined;
  if (t <= samples[0][0]) return samples[0][1];
  const k = samples.findIndex((s) => s[0] >= t);
  if (k === -1) return samples.at(-1)[1];
  const [t0, c0] = samples[k - 1];
  const [t1, c1] = samples[k];
  return t1 === t0 ? c0 : c0 + ((t - t0) / (t1 - t0)) * (c1 - c0);
}

/**
 * CPU per call between the arrival of the first and the last request of the middle 80% (mock
 * server's clock and the probe's samples are both epoch ms), interpolating the probe's samples.
 */
function steadyCpu(samples, middle) {
  if (!Array.isArray(samples) || samples.length < 2 || middle === undefined || !(middle.calls > 0)) return undefined;
  const at = (t, i) => {
    let k = samples.findIndex((s) => s[0] >= t);
    if (k <= 0) k = k === 0 ? 1 : samples.length - 1;
    const [t0, ...v0] = samples[k - 1];
    const [t1, ...v1] = samples[k];
    const f = t1 === t0 ? 0 : Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
    return v0[i] === undefined || v1[i] === undefined ? undefined : v0[i] + f * (v1[i] - v0[i]);
  };
  const cpu = at(middle.toMs, 0) - at(middle.fromMs, 0);
  const main0 = at(middle.fromMs, 1);
  const main1 = at(middle.toMs, 1);
  return {
    perCallMs: (1000 * cpu) / middle.calls,
    mainPerCallMs: main0 === undefined || main1 === undefined ? undefined : (1000 * (main1 - main0)) / middle.calls,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. A fast endpoint: how many calls/s one gemtraj process drives when the model answers at once

async function fastEndpoint() {
  if (!(FAST_DOCS > 0)) return undefined;
  const { m, server, calls, sessionS } = await pipelineRun({ name: 'fast', docs: FAST_DOCS, seed: 3, latency: FAST_LATENCY, jitter: FAST_JITTER, concurrency: FAST_CONCURRENCY });
  const cpuPerCallMs = (1000 * m.cpuS) / calls;
  console.log(`\n== fast endpoint: ${FAST_DOCS} documents, full pipeline, mock latency ${FAST_LATENCY} ms + jitter [0, ${FAST_JITTER}) ms, --concurrency ${FAST_CONCURRENCY}`);
  console.log(`   calls ${calls} in ${fmt(sessionS, 2)} s → ${fmt(calls / sessionS)} calls/s (sustained ${fmt(server.sustainedPerS)} calls/s over the middle 80%; in flight: max ${server.maxInFlight}, mean while busy ${fmt(server.meanInFlight)})`);
  console.log(`   gemtraj CPU ${fmt(m.cpuS, 2)} s (user ${fmt(m.userS, 2)}, system ${fmt(m.systemS, 2)}) → ${fmt(cpuPerCallMs, 3)} ms per call (${fmt((100 * m.cpuS) / m.wallS)}% of one core) → one core drives ≈${fmt(1000 / cpuPerCallMs, 0)} calls/s`);
  const steady = steadyCpu(m.cpuSamples, server.middle);
  if (steady !== undefined) {
    console.log(`   steady state (the middle 80% of requests, no start-up): ${fmt(steady.perCallMs, 3)} ms CPU per call` +
      `${steady.mainPerCallMs === undefined ? '' : ` (main thread ${fmt(steady.mainPerCallMs, 3)})`} → one core drives ≈${fmt(1000 / steady.perCallMs, 0)} calls/s`);
  }
  // V8's optimizing compiler keeps compiling (on its own threads) as later stages get hot: the
  // second half of a long run shows what a run of a large corpus pays per call.
  const late = steadyCpu(m.cpuSamples, server.late);
  if (late !== undefined) {
    console.log(`   late in the run (requests 50–90%, the compiler's warm-up mostly behind): ${fmt(late.perCallMs, 3)} ms CPU per call` +
      `${late.mainPerCallMs === undefined ? '' : ` (main thread ${fmt(late.mainPerCallMs, 3)})`} → one core drives ≈${fmt(1000 / late.perCallMs, 0)} calls/s`);
  }
  // Whole run = start-up (process start to the first request) + the calls + wind-down (the
  // last answer to exit: the funnel, run.json, closing files).
  const span = server.span;
  const cpuAt = (t) => cpuAtMs(m.cpuSamples, t);
  if (span !== undefined && cpuAt(span.fromMs) !== undefined) {
    const startS = cpuAt(span.fromMs);
    const callsS = cpuAt(span.toMs) - startS;
    const endS = m.cpuS - cpuAt(span.toMs);
    console.log(`   of the CPU: start-up ${fmt(startS, 2)} s (to the first request), the calls ${fmt(callsS, 2)} s (${fmt((1000 * callsS) / span.calls, 3)} ms per call), wind-down ${fmt(endS, 2)} s (after the last request)`);
  }
  if (m.mainThreadCpuS !== undefined) console.log(`   main thread CPU ${fmt(m.mainThreadCpuS, 2)} s → ${fmt((1000 * m.mainThreadCpuS) / calls, 3)} ms per call (the rest is V8's compiler and GC threads and libuv's pool)`);
  if (m.otherThreadsCpuS !== undefined) console.log(`   other threads (ms per call each, largest first): ${m.otherThreadsCpuS.filter((s) => s > 0).map((s) => fmt((1000 * s) / calls, 3)).join(', ')}`);
  // Busy event loop + time waiting for a core = CPU-bound on a shared machine, not waiting for work.
  console.log(`   event loop busy ${fmt(100 * m.elu)}% of the wall time; main thread waited ${m.runQueueWaitS === undefined ? 'n/a' : `${fmt(m.runQueueWaitS, 2)} s`} for a core (other processes had it)`);
  console.log(`   mock server CPU ${fmt(server.cpuMs / 1000, 2)} s (${fmt(server.cpuMs / calls, 3)} ms per call; it shares the ${cpus().length} cores with gemtraj)`);
  return { calls, perS: calls / sessionS, sustained: server.sustainedPerS, cpuPerCallMs, steadyPerCallMs: steady?.perCallMs, latePerCallMs: late?.perCallMs };
}

// ---------------------------------------------------------------------------------------------
// 3. Memory as the corpus grows (fast settings: local filter, no refine, no judge)

async function memory() {
  if (MEMORY_DOCS.length === 0) return [];
  console.log(`\n== memory: --filter local --no-refine --no-judge, mock latency ${MEMORY_LATENCY} ms, --concurrency ${MEMORY_CONCURRENCY}, ${fmt(100 * MEMORY_NARRATIVE, 0)}% narrative documents (dropped locally, no call)`);
  const mock = await startMock({ latency: MEMORY_LATENCY, jitter: 0 });
  const rows = [];
  try {
    const sizes = MEMORY_DOCS.map((count) => ({ count, cap: undefined }));
    if (MEMORY_CAP_MB > 0) sizes.push({ count: Math.max(...MEMORY_DOCS), cap: MEMORY_CAP_MB });
    for (const { count, cap } of sizes) {
      const corpus = join(work, `corpus-mem-${count}.jsonl`);
      const bytes = existsSync(corpus) ? statSync(corpus).size : await writeCorpus(corpus, { count, seed: 2, narrative: MEMORY_NARRATIVE });
      const out = join(work, `run-mem-${count}${cap === undefined ? '' : '-capped'}`);
      const before = await mock.stats();
      const m = await gemtraj(
        [
          'run', corpus, '--out', out, '--base-url', mock.url, '--model', 'm', '--concurrency', String(MEMORY_CONCURRENCY),
          '--filter', 'local', '--no-refine', '--no-judge', '--quiet',
        ],
        cap === undefined ? [] : [`--max-old-space-size=${cap}`],
      );
      const after = await mock.stats();
      const run = runJsonOf(out);
      const calls = run.usage.totals.calls;
      const cacheMb = statSync(join(out, 'cache.sqlite')).size / 1e6;
      const row = { count, cap, mb: bytes / 1e6, calls, wallS: m.wallS, cpuS: m.cpuS, peakMb: m.peakMb, liveHeapMb: m.liveHeapMb, passed: run.counts.passed, balanced: run.counts.balanced };
      rows.push(row);
      console.log(
        `   ${String(count).padStart(7)} docs (${fmt(row.mb)} MB)${cap === undefined ? '' : ` with --max-old-space-size=${cap}`}: ${calls} calls in ${fmt(m.wallS, 1)} s (${fmt(calls / m.wallS, 0)} calls/s; server saw ${after.count - before.count}),` +
          ` CPU ${fmt((1000 * m.cpuS) / calls, 3)} ms/call, peak RSS ${fmt(m.peakMb)} MB, live heap ≤ ${fmt(m.liveHeapMb)} MB, kept ${run.counts.kept}, passed ${row.passed}, balanced ${row.balanced}, cache ${fmt(cacheMb)} MB`,
      );
      if (process.env.BENCH_KEEP !== '1') rmSync(out, { recursive: true, force: true });
    }
  } finally {
    await mock.close();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// 4. Micro-benchmarks that already exist

function micro() {
  if (!MICRO) return;
  console.log('\n== filter bench (bench/filter-bench.mjs --mb 10)');
  const passages = join(ROOT, '..', 'shared', 'data', 'text', 'passages.jsonl');
  if (!existsSync(passages)) console.log(`   skipped: ${passages} is not available`);
  else {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'filter-bench.mjs'), '--mb', '10'], { encoding: 'utf8' });
    process.stdout.write((r.stdout + r.stderr).replace(/^/gm, '   '));
  }
  console.log('\n== parquet reading bench (bench/parquet-bench.mjs --mb 40)');
  if (!existsSync(passages)) console.log(`   skipped: ${passages} is not available`);
  else {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'parquet-bench.mjs'), '--mb', '40'], { encoding: 'utf8' });
    process.stdout.write((r.stdout + r.stderr).replace(/^/gm, '   '));
  }
  if (existsSync(passages)) {
    console.log('\n== dedup bench (bench/dedup-bench.mjs --sizes 10000,100000)');
    const d = spawnSync(process.execPath, [join(ROOT, 'bench', 'dedup-bench.mjs'), '--sizes', '10000,100000'], { encoding: 'utf8' });
    process.stdout.write((d.stdout + d.stderr).replace(/^/gm, '   '));
  }
  console.log('\n== validate bench (bench/validate-bench.mjs 5000 3)');
  const v = spawnSync(process.execPath, [join(ROOT, 'bench', 'validate-bench.mjs'), '5000', '3'], { encoding: 'utf8' });
  process.stdout.write((v.stdout + v.stderr).replace(/^/gm, '   '));
}

// ---------------------------------------------------------------------------------------------

console.log(`gemtraj benchmark — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; figures of the gemtraj process from process.resourceUsage() (bench/heap-probe.mjs)`);
const t = await throughput();
const fast = await fastEndpoint();
const mem = await memory();
micro();

console.log('\n== summary (markdown)');
console.log('| run | figure |');
console.log('|---|---|');
if (t !== undefined) console.log(`| ${DOCS} docs, full pipeline, latency ${LATENCY} ms, concurrency ${CONCURRENCY} | ${fmt(t.achieved)} calls/s = ${fmt((100 * t.achieved) / t.ideal)}% of ideal ${fmt(t.ideal)} (sustained ${fmt((100 * t.sustained) / t.ideal)}%); ${fmt(t.cpuPerCallMs, 2)} ms CPU/call; peak RSS ${fmt(t.peakMb, 0)} MB; live heap ≤ ${fmt(t.liveHeapMb, 0)} MB |`);
if (fast !== undefined) {
  console.log(`| ${FAST_DOCS} docs, full pipeline, fast endpoint (latency ${FAST_LATENCY}–${FAST_LATENCY + FAST_JITTER} ms), concurrency ${FAST_CONCURRENCY} | ${fmt(fast.perS)} calls/s (sustained ${fmt(fast.sustained)}); ${fmt(fast.cpuPerCallMs, 2)} ms CPU/call (steady state ${fmt(fast.steadyPerCallMs, 2)}, late in the run ${fmt(fast.latePerCallMs, 2)}) → ≈${fmt(1000 / fast.cpuPerCallMs, 0)} calls/s per core |`);
}
for (const r of mem) {
  console.log(`| ${r.count} docs${r.cap === undefined ? '' : ` (heap capped at ${r.cap} MB)`}, local filter, no refine/judge, latency ${MEMORY_LATENCY} ms | ${r.calls} calls in ${fmt(r.wallS, 1)} s; ${fmt((1000 * r.cpuS) / r.calls, 2)} ms CPU/call; peak RSS ${fmt(r.peakMb, 0)} MB; live heap ≤ ${fmt(r.liveHeapMb, 0)} MB |`);
}

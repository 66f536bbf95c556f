// Where gemtraj's CPU goes on a fast endpoint, by kind of work, from Linux perf samples of every
// thread (V8's --cpu-prof sees only the main thread's JavaScript, counts time it spends blocked
// or descheduled, and hides the kernel, the compiler and the GC helpers).
// Run after `npm run build`; needs `perf` (Debian: apt-get install linux-perf) and root or
// kernel.perf_event_paranoid <= 1:
//   node bench/cpu-breakdown.mjs
// Environment:
//   BREAKDOWN_DOCS=4000        documents of the run (the benchmark's generated corpus, seed 3)
//   BREAKDOWN_CONCURRENCY=256  --concurrency
//   BREAKDOWN_HZ=999           perf sampling frequency per thread
//   BREAKDOWN_TOP=25           JavaScript functions listed (main thread, inclusive)
//   BREAKDOWN_LEAVES=25        leaf symbols listed (main thread, self: where the CPU was when sampled)
// Prints, for the whole run and for its second half (the compiler's warm-up mostly behind):
// the share of all samples per category, main thread and helper threads apart, as ms of CPU per
// model call and with the share of it spent in the kernel; then the main thread's JavaScript
// functions (inclusive) and leaf symbols (self) of the second half.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const num = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
const DOCS = num('BREAKDOWN_DOCS', 4000);
const CONCURRENCY = num('BREAKDOWN_CONCURRENCY', 256);
const HZ = num('BREAKDOWN_HZ', 999);
const TOP = num('BREAKDOWN_TOP', 25);
const LEAVES = num('BREAKDOWN_LEAVES', 25);

if (!existsSync(CLI)) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}
if (spawnSync('perf', ['--version']).status !== 0) {
  console.error('bench/cpu-breakdown.mjs needs Linux perf (Debian: apt-get install linux-perf).');
  process.exit(2);
}

/**
 * Categories, first match wins, tested against a sample's whole call chain. The GC and the
 * compiler come first: they run inside JavaScript's frames (a scavenge on allocation, a lazy
 * compile on a first call) and are what the sample was doing.
 */
const CATEGORIES = [
  ['gc', /Scavenge|MarkCompact|ConcurrentMarking|Sweeper|v8::internal::Heap::|MinorMC|IncrementalMarking|MemoryAllocator/],
  ['compiler', /v8::internal::compiler::|Baseline|Maglev|v8::internal::Parser|Compiler::|CompileLazy|BytecodeGenerator|Deoptimizer/],
  ['page faults', /asm_exc_page_fault/],
  ['sqlite', /better_sqlite3/],
  ['dedup', /\/dist\/dedup\//],
  ['filter', /\/dist\/filter\//],
  ['segment', /\/dist\/stages\/segment/],
  ['validate', /\/dist\/validate\//],
  ['zod', /node_modules\/zod\//],
  ['cache key', /chatCacheKey|hashCanonical/],
  ['http (ours + socket)', /\/dist\/llm\/http|do_writev/],
  ['usage ledger', /usage-ledger/],
  ['record files', /\/dist\/pipeline\/run-dir\.js|\/dist\/io\/jsonl\.js|\/dist\/io\/durable\.js/],
  ['input reading', /\/dist\/io\//],
  ['prompts', /\/dist\/prompts\//],
  ['llm (other)', /\/dist\/llm\//],
  ['stages (other)', /\/dist\/stages\//],
  ['engine', /\/dist\/pipeline\//],
  ['node streams, events', /node:internal\/streams|node:events|node:net|stream_base|node:internal\/event_target/],
  ['kernel (other)', /\[kernel\.kallsyms\]/],
];

const work = mkdtempSync(join(tmpdir(), 'gemtraj-breakdown-'));
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const { writeCorpus } = await import(join(ROOT, 'dist', 'testing', 'corpus.js'));
const corpus = join(work, 'corpus.jsonl');
await writeCorpus(corpus, { count: DOCS, seed: 3 });

const mock = spawn(process.execPath, [join(ROOT, 'bench', 'mock-server-process.mjs'), '--latency', '0', '--jitter', '5'], { stdio: ['pipe', 'pipe', 'inherit'] });
children.add(mock);
const hello = await new Promise((resolve) => createInterface({ input: mock.stdout }).once('line', (line) => resolve(JSON.parse(line))));

const data = join(work, 'perf.data');
const runStarted = Date.now();
const run = spawn('perf', ['record', '-q', '-F', String(HZ), '-g', '-o', data, '--', process.execPath, '--perf-basic-prof', '--no-compact-code-space', CLI, 'run', corpus,
  '--out', join(work, 'out'), '--base-url', hello.url, '--model', 'bench-model', '--concurrency', String(CONCURRENCY), '--quiet'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, OPENAI_API_KEY: '' },
});
children.add(run);
const code = await new Promise((resolve) => run.once('exit', resolve));
children.delete(run);
mock.stdin.end('quit\n');
if (code !== 0) {
  console.error(`perf record of gemtraj run exited ${code}`);
  process.exit(1);
}

// V8 appends a line to /tmp/perf-<pid>.map per code object; when a dead object's address is
// reused, perf names the new code after the first line (a module's top-level code showed up as
// 8% of the run). Keep the last line per address: the code that ran there most recently.
// Only the map of the gemtraj process of this run: written since it started, naming this checkout's code.
const maps = readdirSync('/tmp')
  .filter((f) => /^perf-\d+\.map$/.test(f))
  .map((f) => join('/tmp', f))
  .filter((f) => statSync(f).mtimeMs >= runStarted && readFileSync(f, 'utf8').includes(CLI));
for (const path of maps) {
  const byStart = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) if (line !== '') byStart.set(line.slice(0, line.indexOf(' ')), line);
  writeFileSync(path, `${[...byStart.values()].join('\n')}\n`);
}

// perf script: a header line "comm pid/tid time:" per sample, then its call chain, leaf first.
const script = spawn('perf', ['script', '-i', data, '-F', 'comm,pid,tid,time,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
const samples = [];
let current;
for await (const line of createInterface({ input: script.stdout })) {
  if (line === '') continue;
  if (!line.startsWith('\t') && !line.startsWith(' ')) {
    const m = /\s(\d+)\/(\d+)\s+(\d+\.\d+):/.exec(line);
    current = m === null ? undefined : { pid: m[1], tid: m[2], t: Number(m[3]), frames: [] };
    if (current !== undefined) samples.push(current);
  } else current?.frames.push(line.trim());
}
// The gemtraj process is the one whose samples carry dist/ frames (perf itself is sampled too).
const gemtrajPid = samples.find((s) => s.frames.some((f) => f.includes('/dist/')))?.pid;
const ours = samples.filter((s) => s.pid === gemtrajPid);
for (const path of maps) rmSync(path, { force: true });
if (ours.length === 0) {
  console.error('no samples of the gemtraj process');
  process.exit(1);
}

// Model calls of the run, from its run.json (usage totals), to put the samples per call.
const calls = (() => {
  try {
    return JSON.parse(readFileSync(join(work, 'out', 'run.json'), 'utf8')).usage?.totals?.calls ?? 0;
  } catch {
    return 0;
  }
})();
const t0 = ours[0].t;
const t1 = ours[ours.length - 1].t;
function table(title, picked, share) {
  const counts = new Map();
  // Samples per category whose leaf is in the kernel (system calls: a socket's send, a file's write).
  const inKernel = new Map();
  for (const s of picked) {
    const chain = s.frames.join('\n');
    const category = CATEGORIES.find(([, re]) => re.test(chain))?.[0] ?? 'other (V8 runtime, builtins, libc)';
    const key = `${s.tid === s.pid ? 'main' : 'helper threads'} · ${category}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (s.frames[0]?.includes('[kernel.kallsyms]')) inKernel.set(key, (inKernel.get(key) ?? 0) + 1);
  }
  const main = picked.filter((s) => s.tid === s.pid).length;
  // A sample stands for 1/HZ s of one thread's CPU: ms per call lets runs of other lengths compare.
  const msPerCall = (n) => (calls > 0 ? ((n * 1000) / HZ / (calls * share)).toFixed(3) : '?');
  console.log(`\n== ${title}: ${picked.length} samples (${((100 * main) / picked.length).toFixed(1)}% on the main thread), ${msPerCall(picked.length)} ms per call`);
  for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1])) {
    const kernel = `${Math.round((100 * (inKernel.get(key) ?? 0)) / n)}%`.padStart(4);
    console.log(`   ${((100 * n) / picked.length).toFixed(1).padStart(5)}%  ${msPerCall(n).padStart(6)} ms/call  ${kernel} in kernel  ${key}`);
  }
}
table('whole run', ours, 1);
const late = ours.filter((s) => s.t >= t0 + (t1 - t0) / 2);
// Calls in the second half: approximated as half of them (the request rate is flat after start-up).
table('second half of the run', late, 0.5);

// Inclusive share of the main thread's JavaScript functions in the second half.
const inclusive = new Map();
let mainLate = 0;
for (const s of late) {
  if (s.tid !== s.pid) continue;
  mainLate++;
  const seen = new Set();
  for (const f of s.frames) {
    const m = /JS:[*^~]?(\S*) (\S+?)(?::\d+)?(?:\+0x[0-9a-f]+)?\s/.exec(`${f} `);
    if (m === null) continue;
    const name = `${m[1] || '(anonymous)'} ${m[2].replace(/^file:\/\/.*?\/dist\//, '').replace(/^file:\/\/.*?node_modules\//, '')}`;
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
  }
}
console.log(`\n== main thread, second half: JavaScript functions by inclusive share of its ${mainLate} samples`);
for (const [name, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`   ${((100 * n) / mainLate).toFixed(1).padStart(5)}%  ${name}`);

// Self share: the sample's leaf frame (JavaScript, a builtin, libc or the kernel), main thread, second half.
const leaves = new Map();
for (const s of late) {
  if (s.tid !== s.pid || s.frames.length === 0) continue;
  const m = /^[0-9a-f]+\s+(.*?)\s+\((.*)\)$/.exec(s.frames[0]);
  const name = m === null ? s.frames[0] : `${m[1].replace(/\+0x[0-9a-f]+$/, '').replace(/file:\/\/.*?\/(dist|node_modules)\//, '$1/')} [${m[2].split('/').pop()}]`;
  leaves.set(name, (leaves.get(name) ?? 0) + 1);
}
// The kernel's share: system calls and page faults, which a virtual machine can make dear.
const kernel = [...leaves].filter(([name]) => name.endsWith('[[kernel.kallsyms]]')).reduce((n, [, c]) => n + c, 0);
console.log(`\n== main thread, second half: leaf symbols by self share of its ${mainLate} samples (in the kernel: ${((100 * kernel) / mainLate).toFixed(1)}%)`);
for (const [name, n] of [...leaves].sort((a, b) => b[1] - a[1]).slice(0, LEAVES)) console.log(`   ${((100 * n) / mainLate).toFixed(1).padStart(5)}%  ${name}`);

// The mock teacher endpoint in its own process, so that the benchmark measures gemtraj's CPU
// and memory apart from the server's. Run after `npm run build`:
//   node bench/mock-server-process.mjs [--latency 200] [--jitter 20] [--seed 1]
// Prints one JSON line {"url": …, "pid": …} on stdout when listening. Reads commands on stdin,
// one per line: `stats` → one JSON line {count, maxInFlight, inFlight, cpu}; `reset` → zeroes
// maxInFlight bookkeeping (by recording the current count); `quit` → closes and exits.
import { createInterface } from 'node:readline';
import { startMockServer } from '../dist/testing/mock-server.js';
import { scriptedTeacher } from '../dist/testing/scripted-teacher.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};

// Arrival time of every request since the last reset: the sustained rate is measured over the
// middle 80% of them, leaving out the ramp-up (process start, cold JIT) and the tail.
let arrivals = [];
const teacher = scriptedTeacher();
const server = await startMockServer({
  handler: (request, index) => {
    arrivals.push(performance.now());
    return teacher(request, index);
  },
  latencyMs: Number(arg('--latency', '200')),
  jitterMs: Number(arg('--jitter', '0')),
  seed: Number(arg('--seed', '1')),
  recordRequests: false,
});
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);

// Time-weighted in-flight figure: sampled every 2 ms while any request is being answered.
let samples = 0;
let inFlightSum = 0;
const sampler = setInterval(() => {
  if (server.inFlight === 0) return;
  samples++;
  inFlightSum += server.inFlight;
}, 2);
sampler.unref();

function sustained() {
  const n = arrivals.length;
  if (n < 20) return undefined;
  const a = Math.floor(n * 0.1);
  const b = Math.floor(n * 0.9);
  return (b - a) / ((arrivals[b] - arrivals[a]) / 1000);
}

/** Requests `from`–`to` (shares of all, in arrival order): their count and the wall-clock window (epoch ms) they arrived in. */
function window(from, to) {
  const n = arrivals.length;
  if (n < 20) return undefined;
  const a = Math.floor(n * from);
  const b = Math.floor(n * to);
  return { calls: b - a, fromMs: performance.timeOrigin + arrivals[a], toMs: performance.timeOrigin + arrivals[b] };
}

let cpuAtReset = process.cpuUsage();
let countAtReset = 0;
const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const command = line.trim();
  if (command === 'stats') {
    const cpu = process.cpuUsage(cpuAtReset);
    process.stdout.write(
      `${JSON.stringify({
        count: server.count - countAtReset,
        inFlight: server.inFlight,
        maxInFlight: server.maxInFlight,
        meanInFlight: samples === 0 ? 0 : inFlightSum / samples,
        sustainedPerS: sustained(),
        // The middle 80%; and the second half (to 90%), after V8's optimizing compiler has done most of its work.
        middle: window(0.1, 0.9),
        late: window(0.5, 0.9),
        // From the first to the last request: what lies outside is the client's start-up and wind-down.
        span: arrivals.length === 0 ? undefined : { calls: arrivals.length, fromMs: performance.timeOrigin + arrivals[0], toMs: performance.timeOrigin + arrivals.at(-1) },
        cpuMs: (cpu.user + cpu.system) / 1000,
        rssMb: process.memoryUsage().rss / 1e6,
      })}\n`,
    );
  } else if (command === 'reset') {
    cpuAtReset = process.cpuUsage();
    countAtReset = server.count;
    samples = 0;
    arrivals = [];
    inFlightSum = 0;
    process.stdout.write('{"reset":true}\n');
  } else if (command === 'quit') {
    await server.close();
    process.exit(0);
  }
});
rl.on('close', async () => {
  await server.close();
  process.exit(0);
});

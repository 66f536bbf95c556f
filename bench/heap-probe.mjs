// Preloaded into the measured gemtraj process by bench/run-all.mjs
// (`node --import ./bench/heap-probe.mjs dist/cli/main.js run …`), so gemtraj's own code stays
// free of benchmark hooks. At exit it writes one JSON object to the file named by
// $GEMTRAJ_BENCH_PROBE: CPU time, peak RSS, and the largest heap still in use right after a
// major (mark-sweep) garbage collection — the live heap, as opposed to RSS, which also holds
// garbage V8 has not collected yet and heap pages it keeps for later.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';

const file = process.env.GEMTRAJ_BENCH_PROBE;
if (file !== undefined && file !== '') {
  let liveHeapMax = 0;
  let majorGcs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        majorGcs++;
        liveHeapMax = Math.max(liveHeapMax, process.memoryUsage().heapUsed);
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  // CPU over time (epoch ms; process and main-thread CPU seconds), so that the benchmark can
  // take the CPU per call of the middle of the run, without start-up and JIT warm-up.
  const cpuSamples = [];
  const sampleCpu = () => {
    const usage = process.cpuUsage();
    let main;
    try {
      main = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
    } catch {
      main = undefined;
    }
    cpuSamples.push([performance.timeOrigin + performance.now(), (usage.user + usage.system) / 1e6, main]);
  };
  sampleCpu();
  setInterval(sampleCpu, 200).unref();
  process.on('exit', () => {
    sampleCpu();
    const usage = process.resourceUsage();
    // Linux: the main thread's time spent runnable but waiting for a core (other processes had
    // it) — on a loaded machine, the wall time that is neither gemtraj's CPU nor waiting for I/O.
    // The first field is the main thread's own CPU time (the rest of cpuS is V8's compiler and GC
    // threads and libuv's pool).
    let runQueueWaitS;
    let mainThreadCpuS;
    try {
      const fields = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
      mainThreadCpuS = Number(fields[0]) / 1e9;
      runQueueWaitS = Number(fields[1]) / 1e9;
    } catch {
      runQueueWaitS = undefined;
    }
    // CPU of every live thread other than the main one, largest first: V8's platform workers
    // (concurrent compilers, GC helpers) and libuv's pool (Node 20 leaves them unnamed).
    const threads = [];
    try {
      for (const tid of readdirSync('/proc/self/task')) {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        if (tid === String(process.pid)) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        threads.push((Number(fields[11]) + Number(fields[12])) / 100);
      }
    } catch {
      // not Linux
    }
    writeFileSync(
      file,
      JSON.stringify({
        cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
        userS: usage.userCPUTime / 1e6,
        systemS: usage.systemCPUTime / 1e6,
        peakRssMb: usage.maxRSS / 1024,
        liveHeapMaxMb: liveHeapMax / 1e6,
        heapUsedAtExitMb: process.memoryUsage().heapUsed / 1e6,
        majorGcs,
        // Share of the wall time the event loop was busy (not waiting for I/O): near 1 means the
        // process is CPU-bound (or blocked in synchronous calls such as fsync).
        eventLoopUtilization: performance.eventLoopUtilization().utilization,
        runQueueWaitS,
        mainThreadCpuS,
        otherThreadsCpuS: threads.sort((a, b) => b - a),
        cpuSamples,
      }),
    );
  });
}

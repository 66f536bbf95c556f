// Throughput of the local filter: heuristic scorer (goal >= 20 MB/s on one core), segmenter,
// and the hashed model scorer. Run after `npm run build`:
//   node bench/filter-bench.mjs [--mb 40] [--model model.json]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { heuristicScore } from '../dist/filter/heuristic.js';
import { segmentDocument } from '../dist/stages/segment.js';
import { loadModel, scoreWithModel, trainModel } from '../dist/filter/model.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const targetMb = Number(arg('--mb', '40'));
// The shared data folder next to the repository root.
const DATA = fileURLToPath(new URL('../../shared/data/text', import.meta.url));

// Real texts: the passages and the banking articles, cycled up to the target size.
const texts = [
  ...readFileSync(`${DATA}/passages.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).text),
  ...readFileSync(`${DATA}/sources/tau2-banking-knowledge.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).content),
];
const corpus = [];
let bytes = 0;
for (let i = 0; bytes < targetMb * 1e6; i++) {
  const t = texts[i % texts.length];
  corpus.push(t);
  bytes += Buffer.byteLength(t, 'utf8');
}
const mb = bytes / 1e6;

// Throughput by wall clock and by CPU time of this process, best of `runs`: on a shared machine
// the wall clock also counts time spent waiting for a core, the CPU time does not.
function bench(name, fn, sizeMb = mb, runs = 3) {
  fn(corpus.slice(0, 200)); // warm-up
  let best = { seconds: Infinity, cpuSeconds: Infinity, sink: '' };
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const sink = fn(corpus);
    const cpu = process.cpuUsage(c0);
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (cpuSeconds < best.cpuSeconds) best = { seconds, cpuSeconds, sink };
  }
  console.log(
    `${name.padEnd(22)} ${sizeMb.toFixed(1).padStart(6)} MB in ${best.seconds.toFixed(2)} s  → ${(sizeMb / best.seconds).toFixed(1)} MB/s wall, ${(sizeMb / best.cpuSeconds).toFixed(1)} MB/s CPU  (${best.sink}; best of ${runs})`,
  );
  return sizeMb / best.cpuSeconds;
}

console.log(`corpus: ${corpus.length} texts, ${mb.toFixed(1)} MB (UTF-8), node ${process.version}`);
const heuristic = bench('heuristic score', (list) => {
  let s = 0;
  for (const t of list) s += heuristicScore(t);
  return `mean ${(s / list.length).toFixed(3)}`;
});
bench('segment (6000 chars)', (list) => {
  let n = 0;
  for (let i = 0; i < list.length; i++) n += segmentDocument({ id: `d${i}`, text: list[i] }).length;
  return `${n} segments`;
}, mb, 1);
const modelFile = arg('--model', undefined);
const model = modelFile
  ? loadModel(modelFile)
  : trainModel(texts.slice(0, 200).map((text) => ({ text, label: heuristicScore(text) >= 0.5 })), { epochs: 3 });
const small = corpus.slice(0, Math.ceil(corpus.length / 8));
const smallMb = small.reduce((s, t) => s + Buffer.byteLength(t, 'utf8'), 0) / 1e6;
{
  const t0 = performance.now();
  let s = 0;
  for (const t of small) s += scoreWithModel(model, t);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${'model score'.padEnd(22)} ${smallMb.toFixed(1).padStart(6)} MB in ${seconds.toFixed(2)} s  → ${(smallMb / seconds).toFixed(1)} MB/s  (mean ${(s / small.length).toFixed(3)})`);
}
if (heuristic < 20) {
  console.error(`heuristic scorer below 20 MB/s of CPU time (${heuristic.toFixed(1)})`);
  process.exitCode = 1;
}

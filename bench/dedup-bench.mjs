// Near-duplicate detection throughput (goal >= 10 MB/s of text on one core) and memory from
// 10k to 1M segments, with the index on disk as in a run (dedup.sqlite). Run after `npm run build`:
//   node bench/dedup-bench.mjs [--sizes 10000,100000,1000000] [--mode near|exact|near,exact] [--corpus passages|templated]
// Per size: MB/s of text per CPU-second of SegmentIndex.check (and wall), µs per segment, peak
// RSS and heap (sampled every 10,000 segments), the index on disk, and the CPU time to reopen it
// (what a resumed run pays: the Bloom filter is rebuilt from the band runs).
// passages (default): real passages cut to ~1.5 kB and made distinct by seeded word
// substitutions; one in ten is a planted near-duplicate (a few words changed) of an earlier one.
// templated: the segments of the throughput benchmark's generated corpus (src/testing/corpus.ts,
// seed 3): help-centre pages filled into a few templates, so that most segments share bands with
// hundreds of kept ones (candidates that are compared and rejected) and most are duplicates.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { SegmentIndex } from '../dist/dedup/segment-index.js';
import { CONFIG_DEFAULTS } from '../dist/config.js';
import { writeCorpus } from '../dist/testing/corpus.js';
import { segmentDocument } from '../dist/stages/segment.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const sizes = arg('--sizes', '10000,100000').split(',').map(Number);
const modes = arg('--mode', 'near').split(',');
const corpus = arg('--corpus', 'passages');
if (corpus !== 'passages' && corpus !== 'templated') {
  console.error(`--corpus: passages or templated, not ${corpus}`);
  process.exit(2);
}

/** The first `n` segments of the generated corpus (about one per document). */
async function templatedSegments(n) {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-dedup-corpus-'));
  try {
    const file = join(dir, 'corpus.jsonl');
    await writeCorpus(file, { count: n, seed: 3 });
    const texts = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '' || texts.length >= n) continue;
      const doc = JSON.parse(line);
      for (const segment of segmentDocument({ id: doc.id, text: doc.text, markup: doc.markup })) texts.push(segment.text);
    }
    return texts.slice(0, n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const DATA = fileURLToPath(new URL('../../shared/data/text', import.meta.url));
const texts = [
  ...readFileSync(`${DATA}/passages.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).text),
  ...readFileSync(`${DATA}/sources/tau2-banking-knowledge.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).content),
];
const chunks = texts.flatMap((t) => t.match(/[\s\S]{1,1500}/g) ?? []).filter((c) => c.length > 400);
const vocab = [...new Set(texts.join(' ').split(/\s+/))].slice(0, 50_000);

// xorshift32: the same corpus on every run.
let state = 2463534242;
const rand = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
};
function mutate(text, share) {
  return text
    .split(' ')
    .map((w) => (rand() < share ? vocab[Math.floor(rand() * vocab.length)] : w))
    .join(' ');
}

// Machine calibration: a fixed integer loop (warmed up, best of 3), so that figures from a
// slow or loaded machine can be read.
{
  const loop = () => {
    let x = 0;
    for (let i = 0; i < 2e7; i++) x = (Math.imul(x, 31) + i) >>> 0;
    return x;
  };
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const c = process.cpuUsage();
    loop();
    const cpu = process.cpuUsage(c);
    best = Math.min(best, (cpu.user + cpu.system) / 1000);
  }
  console.log(`calibration: 2e7 dependent multiply-adds in ${best.toFixed(0)} ms CPU (an idle 3 GHz core: ~27 ms, 4 cycles each)`);
}
for (const mode of modes) {
  const settings = { ...CONFIG_DEFAULTS.dedup, mode };
  console.log(`dedup bench: ${corpus} corpus, mode ${mode}, shingle ${settings.shingle} words, ${settings.bands} bands x ${settings.rows} rows, threshold ${settings.threshold}`);
  for (const n of sizes) {
    state = 2463534242;
    const dir = mkdtempSync(join(tmpdir(), 'gemtraj-dedup-bench-'));
    const index = new SegmentIndex(join(dir, 'dedup.sqlite'), settings);
    const recent = [];
    let bytes = 0;
    let dups = 0;
    let checkMs = 0;
    let checkCpu = 0;
    let peakRss = 0;
    let peakHeap = 0;
    const sample = () => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
    };
    const t0 = performance.now();
    // Texts are made a batch at a time and the batch is checked under one clock reading: a
    // reading per segment (two getrusage calls) cost ~5 % of the figure it measured.
    const BATCH = 1000;
    const templated = corpus === 'templated' ? await templatedSegments(n) : undefined;
    const total = templated?.length ?? n;
    for (let from = 0; from < total; from += BATCH) {
      const batch = [];
      for (let i = from; i < Math.min(total, from + BATCH); i++) {
        if (templated !== undefined) {
          bytes += Buffer.byteLength(templated[i], 'utf8');
          batch.push(templated[i]);
          continue;
        }
        let text;
        if (i % 10 === 9 && recent.length > 0) text = mutate(recent[Math.floor(rand() * recent.length)], 0.02);
        else {
          text = mutate(chunks[i % chunks.length], 0.3);
          if (recent.length < 1000) recent.push(text);
          else recent[i % 1000] = text;
        }
        bytes += Buffer.byteLength(text, 'utf8');
        batch.push(text);
      }
      const s = performance.now();
      const c = process.cpuUsage();
      for (let k = 0; k < batch.length; k++) if (index.check(`seg${from + k}`, batch[k]).duplicate) dups++;
      const used = process.cpuUsage(c);
      checkCpu += (used.user + used.system) / 1000;
      checkMs += performance.now() - s;
      if (from % 10_000 === 0) sample();
    }
    sample();
    index.close();
    const r = process.cpuUsage();
    new SegmentIndex(join(dir, 'dedup.sqlite'), settings).close();
    const reopen = process.cpuUsage(r);
    const runsDir = join(dir, 'dedup.sqlite-bands');
    const runFiles = existsSync(runsDir) ? readdirSync(runsDir) : [];
    const disk = statSync(join(dir, 'dedup.sqlite')).size + runFiles.reduce((sum, f) => sum + statSync(join(runsDir, f)).size, 0);
    rmSync(dir, { recursive: true, force: true });
    console.log(
      `${String(total).padStart(8)} segments  ${(bytes / 1e6).toFixed(0).padStart(5)} MB  ` +
        `${(bytes / 1e6 / (checkCpu / 1000)).toFixed(1).padStart(6)} MB/s per CPU-second, ${((checkCpu * 1000) / total).toFixed(1)} µs a segment (${(bytes / 1e6 / (checkMs / 1000)).toFixed(1)} MB/s wall; ${((performance.now() - t0) / 1000).toFixed(0)} s with generation)  ` +
        `duplicates ${dups}${templated === undefined ? ` (planted ${Math.floor(n / 10)})` : ''}  peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, heap+buffers ${(peakHeap / 2 ** 20).toFixed(0)} MiB  ` +
        `index ${(disk / 2 ** 20).toFixed(0)} MiB (${runFiles.length} band runs), reopened in ${((reopen.user + reopen.system) / 1e6).toFixed(1)} s CPU`,
    );
  }
}

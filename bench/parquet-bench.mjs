// Parquet reading throughput (goal >= 50 MB/s of text on one core) and memory as the file
// grows. Writes a FineWeb-shaped file (text, id, url, dump, language_score; snappy, the codec
// Hugging Face datasets write by default) from real texts, then reads it through gemtraj's
// input reader (`readDocuments`, row group by row group, only the text/id/url columns).
// Run after `npm run build`:
//   node bench/parquet-bench.mjs [--mb 100] [--row-group 10000] [--codec SNAPPY|UNCOMPRESSED]
// Prints figures; the exit status does not depend on the goal.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parquetWriteFile } from 'hyparquet-writer';
import { spawnSync } from 'node:child_process';
import { readDocuments } from '../dist/io/documents.js';

// The live heap (after a full GC) is the memory figure: heapUsed alone also counts garbage.
if (typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const targetMb = Number(arg('--mb', '100'));
const rowGroupSize = Number(arg('--row-group', '10000'));
const codec = arg('--codec', 'SNAPPY');
const DATA = fileURLToPath(new URL('../../shared/data/text', import.meta.url));

const texts = [
  ...readFileSync(`${DATA}/passages.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).text),
  ...readFileSync(`${DATA}/sources/tau2-banking-knowledge.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).content),
];

function writeFile(file, mb) {
  const text = [];
  let bytes = 0;
  // A row number in each text keeps rows distinct (ids unique, no dictionary shortcut).
  for (let i = 0; bytes < mb * 1e6; i++) {
    const t = `${texts[i % texts.length]}\n\n(row ${i})`;
    text.push(t);
    bytes += Buffer.byteLength(t, 'utf8');
  }
  const n = text.length;
  parquetWriteFile({
    filename: file,
    codec,
    rowGroupSize,
    columnData: [
      { name: 'text', data: text, type: 'STRING' },
      { name: 'id', data: Array.from({ length: n }, (_, i) => `<urn:uuid:${String(i).padStart(12, '0')}>`), type: 'STRING' },
      { name: 'dump', data: Array.from({ length: n }, () => 'CC-MAIN-2024-10'), type: 'STRING' },
      { name: 'url', data: Array.from({ length: n }, (_, i) => `https://example.org/page/${i}`), type: 'STRING' },
      { name: 'language_score', data: Array.from({ length: n }, (_, i) => 0.9 + (i % 10) / 100), type: 'DOUBLE' },
    ],
  });
  return { rows: n, textBytes: bytes };
}

async function measure(file) {
  global.gc();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let docs = 0;
  let bytes = 0;
  let heapMax = 0;
  let gcCpu = 0;
  let gcWall = 0;
  for await (const item of readDocuments(file, { textField: 'text', idField: 'id' })) {
    if (item.kind !== 'document') throw new Error(`unexpected rejection: ${JSON.stringify(item)}`);
    docs++;
    bytes += Buffer.byteLength(item.document.text, 'utf8');
    if (docs % rowGroupSize === rowGroupSize / 2) {
      // Mid row group: the group's rows are in memory; the GC's time is left out of the rate.
      const g0 = process.cpuUsage();
      const w0 = performance.now();
      global.gc();
      heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
      const g = process.cpuUsage(g0);
      gcCpu += (g.user + g.system) / 1e6;
      gcWall += (performance.now() - w0) / 1000;
    }
  }
  const wall = (performance.now() - t0) / 1000 - gcWall;
  const cpu = process.cpuUsage(cpu0);
  return { docs, bytes, wall, cpu: (cpu.user + cpu.system) / 1e6 - gcCpu, heapMaxMb: heapMax / 1e6 };
}

const dir = mkdtempSync(join(tmpdir(), 'gemtraj-parquet-bench-'));
try {
  console.log(`parquet reading: FineWeb-shaped file, ${codec}, ${rowGroupSize} rows per row group`);
  for (const mb of [targetMb / 4, targetMb]) {
    const file = join(dir, `train-${mb}.parquet`);
    const w = writeFile(file, mb);
    const size = statSync(file).size / 1e6;
    const r = await measure(file);
    const mbps = r.bytes / 1e6 / r.wall;
    const cpuMbps = r.bytes / 1e6 / r.cpu;
    console.log(
      `  ${(w.textBytes / 1e6).toFixed(0).padStart(4)} MB of text, ${w.rows} rows, file ${size.toFixed(1)} MB: ` +
        `${mbps.toFixed(1)} MB/s of text (wall), ${cpuMbps.toFixed(1)} MB/s per CPU second, ` +
        `live heap ${r.heapMaxMb.toFixed(0)} MB  ${cpuMbps >= 50 ? '(goal >= 50 MB/s met)' : '(goal >= 50 MB/s NOT met)'}`,
    );
  }
  console.log('  live heap: after a full GC in the middle of a row group; it follows the row group, not the file (compare the two sizes)');
  console.log('  wall time counts other processes on a shared machine; CPU seconds are the one-core figure');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

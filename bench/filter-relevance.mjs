// Cascade figures of the local scorer on the relevance fixture (test/fixtures/relevance, real
// pages labelled by hand, fixed tune / held-out split) and on the shared dev labels: recall
// (procedural pages not dropped locally), precision (procedural share of what passes), share of
// non-procedural pages dropped without a call and share decided without a call. Run after
// `npm run build`:
//   node bench/filter-relevance.mjs [--low 0.15] [--high 0.8] [--scorer heuristic|model:FILE]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_DEFAULTS } from '../dist/config.js';
import { cascadeFigures } from '../dist/filter/evaluate.js';
import { createScorer } from '../dist/filter/scorer.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const low = Number(arg('--low', CONFIG_DEFAULTS.filter.low));
const high = Number(arg('--high', CONFIG_DEFAULTS.filter.high));
const scorer = createScorer(arg('--scorer', 'heuristic'));
const LONG = 3000;

const readJsonl = (file) => readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
const pages = readJsonl(fileURLToPath(new URL('../test/fixtures/relevance/pages.jsonl', import.meta.url)));
const SHARED = fileURLToPath(new URL('../../shared/data/text', import.meta.url));
const texts = new Map(readJsonl(`${SHARED}/passages.jsonl`).map((p) => [p.id, p.text]));
const dev = readJsonl(`${SHARED}/labels.dev.jsonl`).map((l) => ({ text: texts.get(l.id), procedural: l.procedural, length: texts.get(l.id).length }));

const pct = (x) => `${(100 * x).toFixed(0)}%`;
const row = (name, set) => {
  const f = cascadeFigures(set.map((p) => scorer.score(p.text)), set.map((p) => p.procedural), low, high);
  const P = f.positives.dropped + f.positives.judged + f.positives.kept;
  const N = f.negatives.dropped + f.negatives.judged + f.negatives.kept;
  return `| ${name} | ${P} / ${N} | ${pct(f.recall)} (${P - f.positives.dropped}/${P}) | ${pct(f.precision)} | ${pct(f.negativesDropped)} (${f.negatives.dropped}/${N}) | ${pct(f.decidedLocally)} |`;
};
console.log(`scorer ${scorer.name}, cascade low ${low}, high ${high}; long = ${LONG}+ characters\n`);
console.log('| pages | procedural / other | recall (procedural not dropped) | precision (of what passes) | others dropped without a call | decided without a call |');
console.log('|---|---|---|---|---|---|');
for (const split of ['tune', 'held-out']) {
  const all = pages.filter((p) => p.split === split);
  console.log(row(`${split}, all`, all));
  console.log(row(`${split}, short`, all.filter((p) => p.length < LONG)));
  console.log(row(`${split}, long`, all.filter((p) => p.length >= LONG)));
}
console.log(row('shared dev labels (../shared/data/text)', dev));

/**
 * A Hugging Face Hub dataset folder from a trajectories file: `data/train-00000-of-00001.parquet`
 * (and `data/test-…` when a test fraction is asked), and a `README.md` dataset card whose YAML
 * header declares the configs, the features (the Parquet schema, from the same tree), the
 * license, tags and size category, followed by how the data was made (from the run's
 * `run.json` when it sits next to the input), counts and the shape figures against the paper's.
 *
 * Rows: `id`, `messages` (a nested list of OpenAI-style messages; call `arguments` are JSON
 * strings, as the OpenAI API gives them — free-form objects have no fixed Parquet type),
 * `tools` (JSON string of the OpenAI tool list, for the same reason), `domain`, `doc_id`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SchemaElement } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import type { Trajectory } from '../records.js';
import { compareToPaper, computeStats, fmt } from '../report/stats.js';

/** A column type: a string, a list of a type, or a struct of named fields. */
export type Feature = 'string' | { list: Feature } | { struct: ReadonlyArray<readonly [string, Feature]> };

const CALL: Feature = { struct: [['id', 'string'], ['type', 'string'], ['function', { struct: [['name', 'string'], ['arguments', 'string']] }]] };
const MESSAGE: Feature = {
  struct: [
    ['role', 'string'],
    ['content', 'string'],
    ['reasoning_content', 'string'],
    ['tool_calls', { list: CALL }],
    ['tool_call_id', 'string'],
    ['name', 'string'],
  ],
};
/** The dataset's columns. */
export const HF_FEATURES: ReadonlyArray<readonly [string, Feature]> = [
  ['id', 'string'],
  ['messages', { list: MESSAGE }],
  ['tools', 'string'],
  ['domain', 'string'],
  ['doc_id', 'string'],
];

/** Parquet schema elements of one field (standard three-level lists). */
function schemaOf(name: string, f: Feature): SchemaElement[] {
  if (f === 'string') return [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }];
  if ('list' in f) {
    const inner = schemaOf('element', f.list);
    return [{ name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 }, { name: 'list', repetition_type: 'REPEATED', num_children: 1 }, ...inner];
  }
  return [{ name, repetition_type: 'OPTIONAL', num_children: f.struct.length }, ...f.struct.flatMap(([n, c]) => schemaOf(n, c))];
}

/** A value shaped to the feature: missing struct fields become null, strings stay strings. */
function shape(value: unknown, f: Feature): unknown {
  if (value === undefined || value === null) return null;
  if (f === 'string') return typeof value === 'string' ? value : JSON.stringify(value);
  if ('list' in f) return Array.isArray(value) ? value.map((v) => shape(v, f.list)) : null;
  const obj = value as Record<string, unknown>;
  return Object.fromEntries(f.struct.map(([n, c]) => [n, shape(obj[n], c)]));
}

/** The `dataset_info.features` YAML of the card, from the same tree. */
function featureYaml(name: string, f: Feature, indent: string): string {
  if (f === 'string') return `${indent}- name: ${name}\n${indent}  dtype: string\n`;
  if ('list' in f) {
    const inner = f.list;
    if (inner !== 'string' && 'struct' in inner) return `${indent}- name: ${name}\n${indent}  list:\n${inner.struct.map(([n, c]) => featureYaml(n, c, `${indent}  `)).join('')}`;
    return `${indent}- name: ${name}\n${indent}  sequence: string\n`;
  }
  return `${indent}- name: ${name}\n${indent}  struct:\n${f.struct.map(([n, c]) => featureYaml(n, c, `${indent}  `)).join('')}`;
}

function row(t: Trajectory): Record<string, unknown> {
  return { id: t.id, messages: t.messages, tools: JSON.stringify(t.tools), domain: t.domain ?? null, doc_id: t.source.doc_id };
}

/** Writes rows to a Parquet file with the dataset's schema. */
export function writeHfParquet(file: string, trajectories: readonly Trajectory[]): void {
  const rows = trajectories.map(row);
  parquetWriteFile({
    filename: file,
    schema: [{ name: 'schema', num_children: HF_FEATURES.length }, ...HF_FEATURES.flatMap(([n, f]) => schemaOf(n, f))],
    columnData: HF_FEATURES.map(([n, f]) => ({ name: n, data: rows.map((r) => shape(r[n], f)) })),
    createdBy: 'gemtraj',
  });
}

export interface HfDatasetOptions {
  /** Fraction of trajectories (0–1, by a hash of the id: stable across runs) put in a `test` split. @default 0 */
  testFraction?: number;
  /** License id for the card (e.g. `apache-2.0`, `cc-by-4.0`). @default 'other' */
  license?: string;
  /** Dataset name shown in the card title. @default the folder name */
  prettyName?: string;
  /** The trajectories file the data came from (its folder's run.json gives the provenance). */
  input?: string;
}

export interface HfDatasetResult {
  files: string[];
  splits: Record<string, number>;
}

function inTest(id: string, fraction: number): boolean {
  if (fraction <= 0) return false;
  const h = createHash('sha256').update(id).digest().readUInt32BE(0) / 0x1_0000_0000;
  return h < fraction;
}

function sizeCategory(n: number): string {
  if (n < 1_000) return 'n<1K';
  if (n < 10_000) return '1K<n<10K';
  if (n < 100_000) return '10K<n<100K';
  if (n < 1_000_000) return '100K<n<1M';
  return '1M<n<10M';
}

/** Provenance lines from the run.json next to the input, when there is one. */
function provenance(input: string | undefined): string {
  const runJson = input === undefined ? undefined : join(dirname(input), 'run.json');
  if (runJson === undefined || !existsSync(runJson)) return 'Made with gemtraj; no `run.json` was found next to the input, so the run settings are not recorded here.\n';
  const run = JSON.parse(readFileSync(runJson, 'utf8')) as Record<string, unknown>;
  const config = (run.config ?? {}) as Record<string, unknown>;
  const pick = (k: string) => (config[k] === undefined ? undefined : `- ${k}: \`${JSON.stringify(config[k])}\``);
  const lines = [
    `- command: \`gemtraj ${String(run.command ?? '?')}\` on \`${String(run.input ?? '?')}\` (gemtraj ${String(run.gemtraj_version ?? '?')})`,
    pick('model'),
    pick('models'),
    ...Object.keys(config).filter((k) => /filter|valid|refine|judge|extract|temperature|seed/.test(k)).map(pick),
    run.versions !== undefined ? `- prompt versions: \`${JSON.stringify((run.versions as Record<string, unknown>).prompts ?? {})}\`` : undefined,
    run.counts !== undefined ? `- funnel: \`${JSON.stringify(run.counts)}\`` : undefined,
  ].filter((l): l is string => l !== undefined);
  return `${lines.join('\n')}\n`;
}

/** Writes the dataset folder; returns the files written and the split sizes. */
export async function writeHfDataset(dir: string, trajectories: readonly Trajectory[], options: HfDatasetOptions = {}): Promise<HfDatasetResult> {
  const fraction = options.testFraction ?? 0;
  if (!(fraction >= 0 && fraction < 1)) throw new Error('test fraction must be in [0, 1)');
  const splits: Record<string, Trajectory[]> = { train: [], test: [] };
  for (const t of trajectories) (inTest(t.id, fraction) ? splits.test : splits.train)?.push(t);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const files: string[] = [];
  const used = Object.entries(splits).filter(([name, rows]) => name === 'train' || rows.length > 0);
  for (const [name, rows] of used) {
    const file = join('data', `${name}-00000-of-00001.parquet`);
    writeHfParquet(join(dir, file), rows);
    files.push(file);
  }
  const stats = await computeStats((async function* () {
    yield* trajectories;
  })());
  const paper = compareToPaper(stats)
    .map((r) => `| ${r.figure} | ${fmt(r.mean)} | ${fmt(r.median)} | ${fmt(r.paper_mean)} | ${r.paper_median === undefined ? '-' : fmt(r.paper_median)} |`)
    .join('\n');
  const name = options.prettyName ?? dir.split(/[\\/]/).filter(Boolean).pop() ?? 'gemtraj dataset';
  const card = `---
license: ${options.license ?? 'other'}
task_categories:
- text-generation
language:
- en
tags:
- tool-use
- function-calling
- agent
- synthetic
- gemtraj
size_categories:
- ${sizeCategory(trajectories.length)}
configs:
- config_name: default
  data_files:
${used.map(([n]) => `  - split: ${n}\n    path: data/${n}-*`).join('\n')}
dataset_info:
  features:
${HF_FEATURES.map(([n, f]) => featureYaml(n, f, '  ')).join('')}  splits:
${used.map(([n, rows]) => `  - name: ${n}\n    num_examples: ${rows.length}`).join('\n')}
---

# ${name}

Multi-turn tool-use trajectories synthesized from text with [gemtraj](https://www.npmjs.com/package/gemtraj),
an implementation of the GEM method (arXiv 2601.10355): relevance filtering, workflow and tool
extraction, trajectory generation, complexity refinement, rule checks and an LLM judge.

## Schema

| column | type | meaning |
|---|---|---|
| id | string | trajectory id |
| messages | list of messages | OpenAI chat messages: \`role\`, \`content\`, \`reasoning_content\`, \`tool_calls\` (\`id\`, \`type\`, \`function.name\`, \`function.arguments\` as a JSON string), \`tool_call_id\`, \`name\`; absent fields are null |
| tools | string | JSON list of OpenAI tools (\`{"type": "function", "function": {name, description, parameters}}\`) |
| domain | string | domain of the source text, when known |
| doc_id | string | source document id (provenance) |

\`\`\`python
import json
from datasets import load_dataset
ds = load_dataset("<repo>", split="train")
row = ds[0]
tools = json.loads(row["tools"])
# Most chat templates want arguments as objects:
for m in row["messages"]:
    for c in m["tool_calls"] or []:
        c["function"]["arguments"] = json.loads(c["function"]["arguments"])
\`\`\`

For a file shaped for one model's chat template or trainer, use \`gemtraj export --target\`
(qwen3, llama3.1, glm4, gpt-oss, …, trl, axolotl, llamafactory, ms-swift, ms-swift-openai).

## How it was made

${provenance(options.input)}
## Counts

${used.map(([n, rows]) => `- ${n}: ${rows.length} trajectories`).join('\n')}

## Shape against the paper

| figure | mean | median | paper mean | paper median |
|---|---|---|---|---|
${paper}
`;
  writeFileSync(join(dir, 'README.md'), card);
  files.push('README.md');
  return { files, splits: Object.fromEntries(used.map(([n, rows]) => [n, rows.length])) };
}

/**
 * `gemtraj filter train|eval`: fit or score the local relevance filter on labelled texts.
 *
 *   gemtraj filter train --labels labeled.jsonl --out model.json [--input passages.jsonl]
 *   gemtraj filter eval  --labels labels.jsonl [--input passages.jsonl] [--scorer heuristic|model:FILE] [--threshold 0.5]
 *
 * `registerFilter` returns the `filter` command so that `gemtraj filter <input> --out <dir>`
 * (segment + filter into segments.jsonl) can be attached to it with `.argument()` and
 * `.action()`: commander runs that action when the first operand is not `train` or `eval`.
 */
import { Command, InvalidArgumentError } from 'commander';
import { CONFIG_DEFAULTS } from '../config.js';
import { describeDefault } from '../config-docs.js';
import { cascadeFigures, evaluate, formatCascade, formatEvaluation, type Evaluation } from '../filter/evaluate.js';
import { readLabelledExamples, type LabelledExample } from '../filter/labels.js';
import { saveModel, scoreWithModel, trainModel, TRAIN_DEFAULTS, type TrainOptions } from '../filter/model.js';
import { createScorer, heuristicScorer } from '../filter/scorer.js';

interface TrainFlags {
  labels: string;
  out: string;
  input?: string;
  epochs?: number;
  l2?: number;
  seed?: number;
  hashBits?: number;
  cv?: number;
  json?: boolean;
}

interface EvalFlags {
  labels: string;
  low?: number;
  high?: number;
  input?: string;
  scorer: string;
  threshold?: number;
  json?: boolean;
}

function intArg(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function numberArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}]`);
    return n;
  };
}

function loadExamples(labels: string, input: string | undefined): LabelledExample[] {
  const { examples, stats } = readLabelledExamples(labels, input);
  if (stats.skippedNotLlm > 0) {
    process.stderr.write(`filter: ${stats.skippedNotLlm} segment line(s) decided by the local scorer skipped (only by:"llm" lines are labels)\n`);
  }
  if (examples.length === 0) throw new Error(`${labels}: no labelled examples`);
  return examples;
}

/** Seeded k-fold split by position (examples are shuffled deterministically first). */
function crossValidate(examples: readonly LabelledExample[], k: number, options: TrainOptions): Evaluation {
  let seed = (options.seed ?? TRAIN_DEFAULTS.seed) >>> 0;
  const order = examples.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const scores = new Array<number>(examples.length).fill(0);
  for (let fold = 0; fold < k; fold++) {
    const test = order.filter((_, i) => i % k === fold);
    const train = order.filter((_, i) => i % k !== fold).map((i) => examples[i] as LabelledExample);
    if (train.length === 0) continue;
    const model = trainModel(train, options);
    for (const i of test) scores[i] = scoreWithModel(model, (examples[i] as LabelledExample).text);
  }
  return evaluate(scores, examples.map((e) => e.label), 0.5);
}

/** Registers `filter train` and `filter eval`; returns the `filter` command. */
export function registerFilter(program: Command): Command {
  const filter =
    program.commands.find((c) => c.name() === 'filter') ??
    program.command('filter').description('segment + filter a corpus, or train / evaluate the local relevance filter');

  filter
    .command('train')
    .description('fit the local filter model (hashed logistic regression) on labelled texts')
    .requiredOption('--labels <file>', 'JSONL labels: {text, label|procedural|keep}, {id, procedural} with --input, or a segments.jsonl')
    .requiredOption('--out <file>', 'where to write the model (JSON)')
    .option('--input <file>', 'JSONL texts {id, text} for label lines that only carry an id')
    .option('--epochs <n>', `passes over the data (default ${TRAIN_DEFAULTS.epochs})`, intArg(1))
    .option('--l2 <x>', `L2 penalty per step (default ${TRAIN_DEFAULTS.l2})`, numberArg(0, 1))
    .option('--seed <n>', `shuffle seed (default ${TRAIN_DEFAULTS.seed})`, intArg(0))
    .option('--hash-bits <n>', `feature space 2^n (default ${TRAIN_DEFAULTS.hashBits})`, intArg(10))
    .option('--cv <k>', 'also report k-fold cross-validated figures (k >= 2)', intArg(2))
    .option('--json', 'print figures as JSON')
    .action((flags: TrainFlags) => {
      const examples = loadExamples(flags.labels, flags.input);
      const options: TrainOptions = { epochs: flags.epochs, l2: flags.l2, seed: flags.seed, hashBits: flags.hashBits };
      const model = trainModel(examples, options);
      saveModel(model, flags.out);
      const labels = examples.map((e) => e.label);
      const train = evaluate(examples.map((e) => scoreWithModel(model, e.text)), labels, model.threshold);
      const cv = flags.cv !== undefined ? crossValidate(examples, Math.min(flags.cv, examples.length), options) : undefined;
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ model: flags.out, examples: examples.length, train, cv })}\n`);
        return;
      }
      process.stdout.write(`wrote ${flags.out}: ${examples.length} examples, ${labels.filter((l) => l).length} positive\n`);
      process.stdout.write(`${formatEvaluation(train, 'training set (optimistic)')}\n`);
      if (cv !== undefined) process.stdout.write(`${formatEvaluation(cv, `${flags.cv}-fold cross-validation`)}\n`);
    });

  filter
    .command('eval')
    .description('score labelled texts with a local scorer: precision, recall, F1, ROC AUC, confusion, best threshold')
    .requiredOption('--labels <file>', 'JSONL labels: {text, label|procedural|keep}, {id, procedural} with --input, or a segments.jsonl')
    .option('--input <file>', 'JSONL texts {id, text} for label lines that only carry an id')
    .option('--scorer <scorer>', 'heuristic or model:FILE', 'heuristic')
    .option('--threshold <x>', `decision threshold (default: the scorer's own; ${heuristicScorer().threshold} for heuristic)`, numberArg(0, 1))
    .option('--low <x>', `cascade band: drop below ${describeDefault('filter.low')}`, numberArg(0, 1))
    .option('--high <x>', `cascade band: keep at or above ${describeDefault('filter.high')}`, numberArg(0, 1))
    .option('--json', 'print figures as JSON')
    .action((flags: EvalFlags) => {
      const examples = loadExamples(flags.labels, flags.input);
      const scorer = createScorer(flags.scorer);
      const scores = examples.map((e) => scorer.score(e.text));
      const labels = examples.map((e) => e.label);
      const result = evaluate(scores, labels, flags.threshold ?? scorer.threshold);
      const cascade = cascadeFigures(scores, labels, flags.low ?? CONFIG_DEFAULTS.filter.low, flags.high ?? CONFIG_DEFAULTS.filter.high);
      if (flags.json === true) process.stdout.write(`${JSON.stringify({ scorer: scorer.name, ...result, cascade })}\n`);
      else process.stdout.write(`${formatEvaluation(result, scorer.name)}\n${formatCascade(cascade)}\n`);
    });

  return filter;
}

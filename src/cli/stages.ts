/**
 * `gemtraj extract|generate|refine <in.jsonl> --out <dir>`: one stage over the records of a
 * file, into the same run-directory files that `run` writes — the engine with a one-stage
 * step list and a record file as its input. Reruns resume (records already written are
 * skipped; their calls come from the cache). A malformed input line becomes a rejection naming
 * file and line.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import type { z } from 'zod';
import { loadSegmentTexts } from '../io/segment-texts.js';
import { ExtractionSchema, SegmentSchema, TrajectorySchema } from '../records.js';
import { runSteps, type EngineEvent } from '../pipeline/engine.js';
import { buildPipeline, productStore } from '../pipeline/pipelines.js';
import { RunDirectory, RUN_FILES } from '../pipeline/run-dir.js';
import { recordSource } from '../pipeline/sources.js';
import { checkRecordFile } from '../io/record-file.js';
import { addModelOptions, configFromFlags, openGateway, type CommonFlags } from './common.js';
import { reportGatewaysExit, watchFailures } from './endpoint-exit.js';

interface StageFlags extends CommonFlags {
  out: string;
  segments?: string;
}

function segmentsFileFor(input: string, flag: string | undefined): string {
  const file = flag ?? join(dirname(input), RUN_FILES.segments);
  if (!existsSync(file)) throw new Error(`${file}: segments file not found; this stage needs the source text (pass --segments FILE)`);
  return file;
}

interface StageCommand<T> {
  mode: 'extract' | 'generate' | 'refine';
  schema: z.ZodType<T>;
  idOf(record: T): string;
  /** The segment a record's source text is looked up by; absent = the stage needs none. */
  segmentOf?(record: T): string | undefined;
}

async function runStageFile<T>(input: string, flags: StageFlags, command: StageCommand<T>): Promise<number> {
  const config = configFromFlags(flags);
  checkRecordFile(input);
  const texts = command.segmentOf === undefined ? undefined : await loadSegmentTexts(segmentsFileFor(input, flags.segments));
  const gateway = openGateway(config, flags.out);
  const dir = new RunDirectory(flags.out);
  await dir.open();
  const steps = buildPipeline(command.mode, { config, llm: gateway });
  const summary = { read: 0, written: 0, rejected: 0, retryable: 0 };
  const lastFailure = watchFailures(gateway);
  const onEvent = (event: EngineEvent): void => {
    if (event.type === 'output' && event.final && !event.resumed) summary.written++;
    else if (event.type === 'rejected' && !event.resumed) {
      summary.rejected++;
      if (event.rejection.retryable === true) summary.retryable++;
    }
    else if (event.type === 'item' && !event.skipped) summary.read++;
  };
  try {
    const source = recordSource(input, {
      schema: command.schema,
      stage: command.mode,
      idOf: command.idOf,
      textOf: (record) => {
        const segment = command.segmentOf?.(record);
        return segment === undefined ? undefined : texts?.get(segment);
      },
    });
    // Records are units on their own here: resume looks at the stage's outputs, not progress.
    await runSteps(source, steps, dir, { mode: command.mode, itemConcurrency: Math.max(4, config.concurrency * 2), markDone: false, onEvent });
  } finally {
    dir.close();
    await gateway.close();
  }
  const store = productStore(steps);
  process.stderr.write(
    `${command.mode}: ${summary.read} record(s) in, ${summary.written} written to ${store === undefined ? '-' : dir.files[store]}, ${summary.rejected} rejected (${dir.files.rejected})\n`,
  );
  return reportGatewaysExit(summary.retryable, [gateway], lastFailure());
}

export function registerStages(program: Command): void {
  addModelOptions(
    program
      .command('extract')
      .description('workflows + tools for each kept segment of a segments.jsonl → <out>/extractions.jsonl')
      .argument('<segments.jsonl>')
      .requiredOption('--out <dir>', 'output directory'),
  ).action(async (input: string, flags: StageFlags) => {
    process.exitCode = await runStageFile(input, flags, { mode: 'extract', schema: SegmentSchema, idOf: (s) => s.id });
  });

  addModelOptions(
    program
      .command('generate')
      .description('one trajectory per workflow of an extractions.jsonl → <out>/trajectories.raw.jsonl')
      .argument('<extractions.jsonl>')
      .requiredOption('--out <dir>', 'output directory')
      .option('--segments <file>', 'segments.jsonl with the source texts (default: next to the input)'),
  ).action(async (input: string, flags: StageFlags) => {
    process.exitCode = await runStageFile(input, flags, {
      mode: 'generate',
      schema: ExtractionSchema,
      idOf: (e) => e.id,
      segmentOf: (e) => e.source.segment_id ?? e.id,
    });
  });

  addModelOptions(
    program
      .command('refine')
      .description('complexity refinement of a trajectories.raw.jsonl → <out>/trajectories.refined.jsonl')
      .argument('<trajectories.jsonl>')
      .requiredOption('--out <dir>', 'output directory')
      .option('--segments <file>', 'segments.jsonl with the source texts (default: next to the input)'),
  ).action(async (input: string, flags: StageFlags) => {
    process.exitCode = await runStageFile(input, flags, {
      mode: 'refine',
      schema: TrajectorySchema,
      idOf: (t) => t.id,
      segmentOf: (t) => t.source.segment_id,
    });
  });
}

/**
 * `gemtraj extract|generate|refine <in.jsonl> --out <dir>`: one stage over the records of a
 * file, into the same run-directory files that `run` writes. Reruns resume (records already
 * written are skipped; their calls come from the cache). A malformed input line becomes a
 * rejection naming file and line.
 */
import { existsSync } from 'node:fs';
import { loadSegmentTexts } from '../io/segment-texts.js';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import type { Config } from '../config.js';
import type { Gateway } from '../llm/gateway.js';
import { RequestRejectedError, TransientEndpointError } from '../llm/errors.js';
import { readJsonl } from '../io/jsonl.js';
import { ExtractionSchema, firstIssue, SegmentSchema, TrajectorySchema, trajectoryId, type Rejection, type StageName } from '../records.js';
import { BoundedRunner } from '../pipeline/pool.js';
import { RunDirectory, RUN_FILES, type IndexedWriter } from '../pipeline/run-dir.js';
import { extractSegment } from '../stages/extract.js';
import { generateTrajectory } from '../stages/generate.js';
import { chooseRefined, refineTrajectory } from '../stages/refine.js';
import { pipelineValidateOptions } from '../pipeline/steps.js';
import { validateTrajectory } from '../validate/index.js';
import type { StageOutcome } from '../stages/types.js';
import type { z } from 'zod';
import { addModelOptions, configFromFlags, openGateway, type CommonFlags } from './common.js';

interface StageFlags extends CommonFlags {
  out: string;
  segments?: string;
}


function segmentsFileFor(input: string, flag: string | undefined): string {
  const file = flag ?? join(dirname(input), RUN_FILES.segments);
  if (!existsSync(file)) throw new Error(`${file}: segments file not found; this stage needs the source text (pass --segments FILE)`);
  return file;
}

/** One output of a record (an extraction, or the trajectory of one workflow). */
interface StageUnit {
  /** Id under which the output (or its rejection) is written. */
  id: string;
  source: Rejection['source'];
  run(): Promise<StageOutcome<{ id: string }>>;
}

interface StageJob<I> {
  stage: StageName;
  schema: z.ZodType<I>;
  /** Whether the record is input for this stage at all (e.g. only kept segments). */
  applies?(record: I): boolean;
  /** The outputs a record yields; each is skipped, run and rejected on its own. */
  units(record: I, llm: Gateway): StageUnit[];
  output(dir: RunDirectory): IndexedWriter<{ id: string }>;
}

async function runStageFile<I>(input: string, flags: StageFlags, job: StageJob<I>): Promise<number> {
  const config: Config = configFromFlags(flags);
  const gateway = openGateway(config, flags.out);
  const dir = new RunDirectory(flags.out);
  await dir.open();
  const out = job.output(dir);
  const runner = new BoundedRunner(Math.max(4, config.concurrency * 2));
  let read = 0;
  let written = 0;
  let rejected = 0;
  try {
    for await (const entry of readJsonl(input)) {
      const where = `${input}:${entry.line}`;
      if (entry.error !== undefined) {
        if (!dir.rejectedAt(job.stage, where)) dir.reject({ stage: job.stage, id: where, reasons: [{ check: 'input_json', message: `${where}: ${entry.error}` }] });
        rejected++;
        continue;
      }
      const parsed = job.schema.safeParse(entry.value);
      if (!parsed.success) {
        dir.reject({ stage: job.stage, id: where, reasons: [{ check: 'record_shape', message: `${where}: ${firstIssue(parsed.error)}` }] });
        rejected++;
        continue;
      }
      const record = parsed.data;
      if (job.applies !== undefined && !job.applies(record)) continue;
      read++;
      for (const unit of job.units(record, gateway)) {
        if (out.has(unit.id) || dir.rejectedAt(job.stage, unit.id)) continue;
        await runner.run(async () => {
          try {
            const outcome = await unit.run();
            if (outcome.ok) {
              if (out.write(outcome.value)) written++;
            } else {
              dir.reject({ stage: job.stage, id: unit.id, source: unit.source, reasons: outcome.reasons, raw: outcome.raw });
              rejected++;
            }
          } catch (error) {
            if (error instanceof RequestRejectedError) {
              dir.reject({ stage: job.stage, id: unit.id, source: unit.source, reasons: [{ check: error.check, message: error.message }] });
            } else if (error instanceof TransientEndpointError) {
              dir.reject({ stage: job.stage, id: unit.id, source: unit.source, retryable: true, reasons: [{ check: 'llm_unavailable', message: error.message }] });
            } else throw error;
            rejected++;
          }
        });
        if (runner.error !== undefined) break;
      }
      if (runner.error !== undefined) break;
    }
    await runner.drain();
    if (runner.error !== undefined) throw runner.error;
  } finally {
    dir.close();
    await gateway.close();
  }
  process.stderr.write(`${job.stage}: ${read} record(s) in, ${written} written to ${out.file}, ${rejected} rejected (${dir.files.rejected})\n`);
  return 0;
}

export function registerStages(program: Command): void {
  addModelOptions(
    program
      .command('extract')
      .description('workflows + tools for each kept segment of a segments.jsonl → <out>/extractions.jsonl')
      .argument('<segments.jsonl>')
      .requiredOption('--out <dir>', 'output directory'),
  ).action(async (input: string, flags: StageFlags) => {
    const config = configFromFlags(flags);
    process.exitCode = await runStageFile(input, flags, {
      stage: 'extract',
      schema: SegmentSchema,
      applies: (s) => s.keep,
      output: (dir) => dir.s.extractions,
      units: (segment, llm) => [
        {
          id: segment.id,
          source: { doc_id: segment.doc_id, segment_id: segment.id },
          run: () =>
            extractSegment(
              segment,
              { minTools: config.extract.min_tools, minSteps: config.extract.min_steps, maxWorkflows: config.extract.max_workflows, maxTokens: config.max_tokens },
              llm,
            ),
        },
      ],
    });
  });

  addModelOptions(
    program
      .command('generate')
      .description('one trajectory per workflow of an extractions.jsonl → <out>/trajectories.raw.jsonl')
      .argument('<extractions.jsonl>')
      .requiredOption('--out <dir>', 'output directory')
      .option('--segments <file>', 'segments.jsonl with the source texts (default: next to the input)'),
  ).action(async (input: string, flags: StageFlags) => {
    const config = configFromFlags(flags);
    const texts = await loadSegmentTexts(segmentsFileFor(input, flags.segments));
    process.exitCode = await runStageFile(input, flags, {
      stage: 'generate',
      schema: ExtractionSchema,
      output: (dir) => dir.s.raw,
      units: (extraction, llm) => {
        const segmentId = extraction.source.segment_id ?? extraction.id;
        const text = texts.get(segmentId);
        return extraction.workflows.map((_, k) => ({
          id: trajectoryId(segmentId, k),
          source: { ...extraction.source, workflow_index: k },
          run: async () =>
            text === undefined
              ? { ok: false, reasons: [{ check: 'source_missing', message: `segment ${segmentId} not found in the segments file` }] }
              : generateTrajectory({ extraction, workflowIndex: k, sourceText: text }, { temperature: config.temperature, maxTokens: config.max_tokens }, llm),
        }));
      },
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
    const config = configFromFlags(flags);
    const validateOptions = pipelineValidateOptions(config);
    const texts = await loadSegmentTexts(segmentsFileFor(input, flags.segments));
    process.exitCode = await runStageFile(input, flags, {
      stage: 'refine',
      schema: TrajectorySchema,
      output: (dir) => dir.s.refined,
      units: (trajectory, llm) => {
        const text = trajectory.source.segment_id === undefined ? undefined : texts.get(trajectory.source.segment_id);
        return [
          {
            id: trajectory.id,
            source: trajectory.source,
            // As in `run`: a rewrite that fails or does not validate keeps the original.
            run: async () => {
              if (text === undefined) {
                return { ok: false, reasons: [{ check: 'source_missing', message: `segment ${trajectory.source.segment_id ?? '(none)'} not found in the segments file` }] };
              }
              const refined = await refineTrajectory(trajectory, text, { temperature: config.temperature, maxTokens: config.max_tokens }, llm);
              return { ok: true, value: chooseRefined(trajectory, refined, (t) => validateTrajectory(t, validateOptions)), warnings: [] };
            },
          },
        ];
      },
    });
  });
}

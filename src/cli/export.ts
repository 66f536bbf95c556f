/**
 * `gemtraj export <trajectories.jsonl> --format openai|sharegpt|hermes|sft-pairs --out FILE`
 *
 * Reads gemtraj trajectories (or any importable format, `--from`), writes one exported record
 * per line (or Parquet with `--parquet`), and reports every record it could not read or
 * export with its line — a bad record is counted, never a crash. Optional chat-template check.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { makeOutputDir, syncFd, writeAll, writeFailure, writeFileAtomic } from '../io/durable.js';
import { canonicalPath, sameFile } from '../io/same-file.js';
import { loadSegmentTexts } from '../io/segment-texts.js';
import { basename, dirname, extname, join, relative } from 'node:path';
import { Command, Option } from 'commander';
import { FORMAT_NAMES, readForeign } from '../formats/detect.js';
import { EXIT_BAD_INPUT, GemtrajError } from '../errors.js';
import { InputError } from '../io/input-files.js';
import { checkRecordFile } from '../io/record-file.js';
import { EXPORT_FORMATS, exportTrajectory, type ExportFormat } from '../formats/index.js';
import { datasetInfoEntry } from '../formats/sharegpt.js';
import { exportTarget, TARGET_NAMES, type ExportTarget, type TargetName } from '../formats/targets/registry.js';
import { readLlamaFactory, readMsSwift } from '../formats/targets/trainer-readers.js';
import { checkRecords, loadChatTemplate, summarizeTemplateChecks, type TemplateCheckResult } from '../formats/template-check.js';
import { ExportError, type FormatName } from '../formats/types.js';
import type { Trajectory } from '../records.js';

/** Options of {@link runExport} (the flags of `gemtraj export`). */
export interface ExportOptions {
  /** Input file (JSONL or JSON array). */
  input: string;
  /** Output format (one of `format` or `target` is required). */
  format?: ExportFormat;
  /** A model family or trainer the export is shaped for (see `gemtraj export --help`). */
  target?: TargetName;
  /** Output file (JSONL, or Parquet with `parquet`); optional with `hfDataset` alone. */
  out?: string;
  /** Also (or only) write a Hugging Face Hub dataset folder here: data/*.parquet and a README.md card. */
  hfDataset?: string;
  /** Fraction (0–1) of trajectories in the Hub dataset's test split, by id hash. @default 0 */
  testSplit?: number;
  /** License id in the dataset card. @default 'other' */
  license?: string;
  /** Input format; `auto` detects per record (default). */
  from?: FormatName | 'auto';
  parquet?: boolean;
  /** A `.jinja` chat template to render every written record through (Python Jinja2 when available). */
  checkTemplate?: string;
  /** Renderer of the check: `auto` (Python Jinja2 when available, else @huggingface/jinja), `jinja2` or `js`. */
  templateEngine?: 'auto' | 'jinja2' | 'js';
  /** segments.jsonl with source texts (sft-pairs); default: next to the input. */
  sources?: string;
  /** Role of Hermes `<tool_response>` messages (default `user`, as the GEM paper trained). */
  hermesToolRole?: 'tool' | 'user';
  /** Where progress and problems are printed (default: process streams). */
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

/** Counts printed at the end (and returned for tests). */
export interface ExportSummary {
  read: number;
  imported: number;
  exported: number;
  importFailed: number;
  exportFailed: number;
  /** Records exported with losses (notes), and the total number of notes. */
  lossyRecords: number;
  lossNotes: number;
  /**
   * Assistant turns marked `weight: 0` (not to be trained on) in records whose output has no
   * per-turn weight: the trainer will learn them. 0 when the format keeps the weight.
   */
  weightDropped: number;
  problems: Array<{ line: number; stage: 'import' | 'export' | 'template'; message: string }>;
  /** The template check, per written record (output line order). */
  templateResults?: TemplateCheckResult[];
  template?: Record<TemplateCheckResult['status'], number>;
  datasetInfo?: string;
}


/** Runs an export; throws only for bad options or an unreadable input file. */
export async function runExport(options: ExportOptions): Promise<ExportSummary> {
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const warn = options.warn ?? ((l: string) => process.stderr.write(`${l}\n`));
  const target: ExportTarget | undefined = options.target === undefined ? undefined : exportTarget(options.target);
  if (options.target !== undefined && target === undefined) throw new Error(`--target must be one of ${TARGET_NAMES.join(', ')}`);
  if (options.format !== undefined && target !== undefined) throw new Error('give one of --format or --target, not both');
  if (options.format === undefined && target === undefined && options.hfDataset === undefined) throw new Error('give --format, --target or --hf-dataset');
  if ((options.format !== undefined || target !== undefined) && options.out === undefined) throw new Error('--out is required with --format or --target');
  const format = options.format;
  if (format !== undefined && !EXPORT_FORMATS.includes(format)) throw new Error(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  const label = target === undefined ? String(format) : `target ${target.name}`;
  const shareGpt = format === 'sharegpt' || target?.name === 'llamafactory';
  if (!existsSync(options.input)) throw new InputError(`${options.input}: no such file`);
  checkRecordFile(options.input);
  const summary: ExportSummary = { read: 0, imported: 0, exported: 0, importFailed: 0, exportFailed: 0, lossyRecords: 0, lossNotes: 0, weightDropped: 0, problems: [] };
  const problem = (line: number, stage: 'import' | 'export' | 'template', message: string): void => {
    summary.problems.push({ line, stage, message });
    warn(`${options.input}:${line}: ${stage}: ${message}`);
  };

  let sources: Map<string, string> | undefined;
  if (format === 'sft-pairs') {
    const file = options.sources ?? join(dirname(options.input), 'segments.jsonl');
    if (existsSync(file)) sources = await loadSegmentTexts(file);
    else warn(`${file}: not found; sft-pairs needs source texts (--sources segments.jsonl): every record will be reported`);
  }
  const template = options.checkTemplate === undefined ? undefined : loadChatTemplate(options.checkTemplate);
  const convert = options.format !== undefined || target !== undefined;
  const out = options.out ?? '';
  const hubRows: Trajectory[] = [];
  const written: Array<{ id: string; line: number }> = [];

  if (convert) {
    for (const [what, file] of [['input', options.input], ['--sources file', options.sources], ['--check-template file', options.checkTemplate]] as const) {
      if (file !== undefined && sameFile(out, file)) {
        throw new Error(`--out ${out} is the ${what} (${canonicalPath(file)}): exporting onto it would destroy it; choose another --out`);
      }
    }
    makeOutputDir(dirname(out) || '.');
  }
  const rows: Array<Record<string, unknown>> = [];
  // Written beside the target and renamed over it at the end: a failed export leaves the old file.
  const tmp = `${out}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    if (convert && options.parquet !== true) fd = openSync(tmp, 'w');
  } catch (error) {
    throw writeFailure(out, error);
  }
  try {
    for await (const rec of readForeign(options.input, options.from ?? 'auto')) {
      summary.read += 1;
      if (!rec.result.ok) {
        summary.importFailed += 1;
        problem(rec.line, 'import', rec.result.error);
        continue;
      }
      summary.imported += 1;
      const t = rec.result.trajectory;
      if (options.hfDataset !== undefined) hubRows.push(t);
      if (!convert) continue;
      try {
        const segmentId = t.source.segment_id;
        const out = target !== undefined
          ? target.convert(t)
          : exportTrajectory(format as ExportFormat, t, {
              sourceText: segmentId === undefined ? undefined : sources?.get(segmentId),
              hermes: { toolResultRole: options.hermesToolRole ?? 'user' },
            });
        written.push({ id: t.id, line: rec.line });
        // JSONL lines are exactly the target format (OpenAI's fine-tuning API rejects extra
        // keys); the Parquet table adds an `id` column so rows stay traceable.
        if (fd !== undefined) writeAll(fd, Buffer.from(`${JSON.stringify(out.record)}\n`, 'utf8'), options.out ?? '');
        else rows.push({ id: t.id, ...out.record });
        summary.exported += 1;
        const unweighted = t.messages.filter((m) => m.role === 'assistant' && m.weight === 0).length;
        if (unweighted > 0 && !JSON.stringify(out.record).includes('"weight":0')) summary.weightDropped += unweighted;
        if (out.notes.length > 0) {
          summary.lossyRecords += 1;
          summary.lossNotes += out.notes.length;
        }
      } catch (error) {
        if (!(error instanceof ExportError)) throw error;
        summary.exportFailed += 1;
        problem(rec.line, 'export', error.message);
      }
    }
    if (convert) {
      if (fd !== undefined) syncFd(fd, out);
      // ShareGPT conversations as a nested column: dataset_info.json points LLaMA-Factory at this file.
      else {
        // The Parquet writer is loaded by the exports that need it, not at every command's start.
        const { writeParquetRecords } = await import('../formats/parquet.js');
        try {
          writeParquetRecords(tmp, rows, shareGpt ? { structLists: { conversations: ['from', 'value'] } } : {});
        } catch (error) {
          throw writeFailure(out, error);
        }
      }
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      renameSync(tmp, out);
    }
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  if (options.hfDataset !== undefined) {
    const { writeHfDataset } = await import('../hub/dataset.js');
    const hub = await writeHfDataset(options.hfDataset, hubRows, { testFraction: options.testSplit ?? 0, license: options.license ?? 'other', input: options.input });
    log(`Hub dataset → ${options.hfDataset}: ${hub.files.join(', ')} (${Object.entries(hub.splits).map(([k, v]) => `${k} ${v}`).join(', ')}); upload with gemtraj push ${options.hfDataset} --repo org/name`);
    if (!convert) return summary;
  }

  if (template !== undefined) {
    // The check reads back the file just written: what a trainer loads, byte for byte.
    const back: Array<Record<string, unknown>> = options.parquet === true
      ? await (await import('../formats/parquet.js')).readParquetRecords(out)
      : readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    // ShareGPT and ms-swift files are turned into chat messages by their trainer first: the
    // check does what that trainer does, and says so.
    const reader = shareGpt ? readLlamaFactory : target?.name.startsWith('ms-swift') === true ? readMsSwift : undefined;
    if (reader !== undefined) log(`template check: records read as ${shareGpt ? 'LLaMA-Factory' : 'ms-swift'} reads them, then rendered`);
    const results = await checkRecords(
      back.map((record, i) => ({ id: written[i]?.id ?? `line ${i + 1}`, record: reader === undefined ? record : (reader(record) ?? record) })),
      template,
      { engine: options.templateEngine ?? 'auto', textBesideCalls: target !== undefined && !target.rendersTextBesideCalls ? 'optional' : 'required' },
    );
    summary.templateResults = results;
    results.forEach((r, i) => {
      const line = written[i]?.line ?? i + 1;
      if (r.status === 'failed' || r.status === 'render_error') problem(line, 'template', `${r.status}: ${r.problems.join('; ')}`);
      else if (r.status === 'engine_difference' && r.emulatedOk !== true) problem(line, 'template', `engine difference, and on the Jinja2-like re-render: ${r.problems.slice(1).join('; ')}`);
    });
    summary.template = summarizeTemplateChecks(results);
  }

  if (shareGpt) {
    // LLaMA-Factory finds datasets through dataset_info.json in the dataset directory.
    const infoFile = join(dirname(out), 'dataset_info.json');
    let info: Record<string, unknown> = {};
    if (existsSync(infoFile)) {
      try {
        info = JSON.parse(readFileSync(infoFile, 'utf8')) as Record<string, unknown>;
      } catch {
        warn(`${infoFile}: not JSON; rewritten`);
      }
    }
    const name = basename(out, extname(out));
    Object.assign(info, datasetInfoEntry(name, relative(dirname(out), out)));
    writeFileAtomic(infoFile, `${JSON.stringify(info, null, 2)}\n`);
    summary.datasetInfo = infoFile;
  }

  log(
    `read ${summary.read}, imported ${summary.imported}, exported ${summary.exported} (${label}${options.parquet === true ? ', parquet' : ''}) → ${out}`,
  );
  if (summary.importFailed + summary.exportFailed > 0) log(`not exported: ${summary.importFailed} unreadable, ${summary.exportFailed} not representable in ${label}`);
  if (summary.lossyRecords > 0) log(`lossy: ${summary.lossyRecords} records (${summary.lossNotes} dropped or merged parts)`);
  if (summary.weightDropped > 0) {
    warn(
      `warning: ${summary.weightDropped} assistant turn(s) marked weight 0 have no per-turn weight in ${label}, so they will be trained on; ` +
        '--format openai (OpenAI fine-tuning) keeps the weight',
    );
  }
  if (template !== undefined && summary.template !== undefined) {
    const s = summary.template;
    const engine = summary.templateResults?.[0]?.engine ?? 'jinja2';
    log(
      `template ${template.name} (${engine === 'jinja2' ? 'Python Jinja2, as transformers' : '@huggingface/jinja: python3 with jinja2 not found'}), on the file written: ` +
        `${s.ok} ok, ${s.failed} failed (missing, double-encoded or dropped), ${s.render_error} render errors` +
        (engine === 'js' ? `, ${s.engine_difference} JS-engine differences` : '') +
        (s.not_checkable > 0 ? `, ${s.not_checkable} not checkable (no messages list)` : ''),
    );
  }
  if (summary.datasetInfo !== undefined) log(`dataset_info.json entry written: ${summary.datasetInfo}`);
  return summary;
}

/** Registers `gemtraj export` on the program. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export trajectories for a model family or trainer (--target), or as OpenAI, ShareGPT, Hermes or synthesizer SFT pairs (--format)')
    .argument('<trajectories>', 'trajectories.jsonl (or any importable JSONL / JSON array file, .gz, .zst or Parquet)')
    .addOption(new Option('--target <name>', 'shape the export for this model\'s chat template or this trainer (see README "Exports")').choices([...TARGET_NAMES]))
    .addOption(new Option('--format <format>', 'output format (when no --target)').choices([...EXPORT_FORMATS]))
    .option('--out <file>', 'output file (with --format or --target)')
    .option('--hf-dataset <dir>', 'also write a Hugging Face Hub dataset folder (data/*.parquet + README.md card); upload with gemtraj push')
    .option('--test-split <fraction>', 'fraction of trajectories in the Hub dataset\'s test split (by id hash)', (v: string) => Number(v))
    .option('--license <id>', 'license id for the dataset card (e.g. apache-2.0)')
    .addOption(new Option('--from <format>', 'input format').choices(['auto', ...FORMAT_NAMES]).default('auto'))
    .option('--parquet', 'write Parquet instead of JSONL')
    .option('--check-template <file.jinja>', 'render every record of the written file through this chat template (Python Jinja2, as transformers) and report problems')
    .addOption(new Option('--template-engine <engine>', 'renderer of --check-template').choices(['auto', 'jinja2', 'js']).default('auto'))
    .option('--sources <segments.jsonl>', 'source texts for sft-pairs (default: segments.jsonl next to the input)')
    .addOption(new Option('--hermes-tool-role <role>', 'role of <tool_response> messages in hermes output (user: as the GEM paper trained)').choices(['tool', 'user']).default('user'))
    .action(
      async (
        input: string,
        flags: { format?: ExportFormat; target?: TargetName; out?: string; hfDataset?: string; testSplit?: number; license?: string; from: FormatName | 'auto'; parquet?: boolean; checkTemplate?: string; templateEngine: 'auto' | 'jinja2' | 'js'; sources?: string; hermesToolRole: 'tool' | 'user' },
      ) => {
        try {
          const opts: ExportOptions = { input, from: flags.from, hermesToolRole: flags.hermesToolRole, templateEngine: flags.templateEngine };
          if (flags.out !== undefined) opts.out = flags.out;
          if (flags.hfDataset !== undefined) opts.hfDataset = flags.hfDataset;
          if (flags.testSplit !== undefined) opts.testSplit = flags.testSplit;
          if (flags.license !== undefined) opts.license = flags.license;
          if (flags.format !== undefined) opts.format = flags.format;
          if (flags.target !== undefined) opts.target = flags.target;
          if (flags.parquet === true) opts.parquet = true;
          if (flags.checkTemplate !== undefined) opts.checkTemplate = flags.checkTemplate;
          if (flags.sources !== undefined) opts.sources = flags.sources;
          const summary = await runExport(opts);
          const t = summary.template;
          if (t !== undefined && t.failed + t.render_error > 0) process.exitCode = 1;
        } catch (error) {
          process.stderr.write(`gemtraj export: ${(error as Error).message}\n`);
          // Bad input or flags exit 2; a full or read-only disk keeps its own status (README's table).
          process.exitCode = error instanceof GemtrajError ? error.exitCode : EXIT_BAD_INPUT;
        }
      },
    );
}

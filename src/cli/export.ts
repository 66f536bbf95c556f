/**
 * `gemtraj export <trajectories.jsonl> --format openai|sharegpt|hermes|sft-pairs --out FILE`
 *
 * Reads gemtraj trajectories (or any importable format, `--from`), writes one exported record
 * per line (or Parquet with `--parquet`), and reports every record it could not read or
 * export with its line — a bad record is counted, never a crash. Optional chat-template check.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { syncFd, writeAll, writeFailure, writeFileAtomic } from '../io/durable.js';
import { canonicalPath, sameFile } from '../io/same-file.js';
import { loadSegmentTexts } from '../io/segment-texts.js';
import { basename, dirname, extname, join, relative } from 'node:path';
import { Command, Option } from 'commander';
import { FORMAT_NAMES, readForeign } from '../formats/detect.js';
import { EXPORT_FORMATS, exportTrajectory, type ExportFormat } from '../formats/index.js';
import { writeParquetRecords } from '../formats/parquet.js';
import { datasetInfoEntry } from '../formats/sharegpt.js';
import { checkTemplate, loadChatTemplate, summarizeTemplateChecks, type TemplateCheckResult } from '../formats/template-check.js';
import { ExportError, type FormatName } from '../formats/types.js';

/** Options of {@link runExport} (the flags of `gemtraj export`). */
export interface ExportOptions {
  /** Input file (JSONL or JSON array). */
  input: string;
  format: ExportFormat;
  /** Output file (JSONL, or Parquet with `parquet`). */
  out: string;
  /** Input format; `auto` detects per record (default). */
  from?: FormatName | 'auto';
  parquet?: boolean;
  /** A `.jinja` chat template to render every conversation through. */
  checkTemplate?: string;
  /** segments.jsonl with source texts (sft-pairs); default: next to the input. */
  sources?: string;
  /** Role of Hermes `<tool_response>` messages. */
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
  problems: Array<{ line: number; stage: 'import' | 'export' | 'template'; message: string }>;
  template?: Record<TemplateCheckResult['status'], number>;
  datasetInfo?: string;
}


/** Runs an export; throws only for bad options or an unreadable input file. */
export async function runExport(options: ExportOptions): Promise<ExportSummary> {
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const warn = options.warn ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!EXPORT_FORMATS.includes(options.format)) throw new Error(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  if (!existsSync(options.input)) throw new Error(`${options.input}: no such file`);
  const summary: ExportSummary = { read: 0, imported: 0, exported: 0, importFailed: 0, exportFailed: 0, lossyRecords: 0, lossNotes: 0, problems: [] };
  const problem = (line: number, stage: 'import' | 'export' | 'template', message: string): void => {
    summary.problems.push({ line, stage, message });
    warn(`${options.input}:${line}: ${stage}: ${message}`);
  };

  let sources: Map<string, string> | undefined;
  if (options.format === 'sft-pairs') {
    const file = options.sources ?? join(dirname(options.input), 'segments.jsonl');
    if (existsSync(file)) sources = await loadSegmentTexts(file);
    else warn(`${file}: not found; sft-pairs needs source texts (--sources segments.jsonl): every record will be reported`);
  }
  const template = options.checkTemplate === undefined ? undefined : loadChatTemplate(options.checkTemplate);
  const checks: TemplateCheckResult[] = [];

  for (const [what, file] of [['input', options.input], ['--sources file', options.sources], ['--check-template file', options.checkTemplate]] as const) {
    if (file !== undefined && sameFile(options.out, file)) {
      throw new Error(`--out ${options.out} is the ${what} (${canonicalPath(file)}): exporting onto it would destroy it; choose another --out`);
    }
  }
  mkdirSync(dirname(options.out) || '.', { recursive: true });
  const rows: Array<Record<string, unknown>> = [];
  // Written beside the target and renamed over it at the end: a failed export leaves the old file.
  const tmp = `${options.out}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    if (options.parquet !== true) fd = openSync(tmp, 'w');
  } catch (error) {
    throw writeFailure(options.out, error);
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
      if (template !== undefined) {
        const check = checkTemplate(t, template);
        checks.push(check);
        if (check.status === 'render_error' || check.status === 'missing') problem(rec.line, 'template', `${check.status}: ${check.problems.join('; ')}`);
        else if (check.status === 'engine_difference' && check.emulatedOk !== true) {
          problem(rec.line, 'template', `engine difference, and on the Jinja2-like re-render: ${check.problems.slice(1).join('; ')}`);
        }
      }
      try {
        const segmentId = t.source.segment_id;
        const out = exportTrajectory(options.format, t, {
          sourceText: segmentId === undefined ? undefined : sources?.get(segmentId),
          hermes: { toolResultRole: options.hermesToolRole ?? 'tool' },
        });
        // JSONL lines are exactly the target format (OpenAI's fine-tuning API rejects extra
        // keys); the Parquet table adds an `id` column so rows stay traceable.
        if (fd !== undefined) writeAll(fd, Buffer.from(`${JSON.stringify(out.record)}\n`, 'utf8'), options.out);
        else rows.push({ id: t.id, ...out.record });
        summary.exported += 1;
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
    if (fd !== undefined) syncFd(fd, options.out);
    else writeParquetRecords(tmp, rows);
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    renameSync(tmp, options.out);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }

  if (options.format === 'sharegpt') {
    // LLaMA-Factory finds datasets through dataset_info.json in the dataset directory.
    const infoFile = join(dirname(options.out), 'dataset_info.json');
    let info: Record<string, unknown> = {};
    if (existsSync(infoFile)) {
      try {
        info = JSON.parse(readFileSync(infoFile, 'utf8')) as Record<string, unknown>;
      } catch {
        warn(`${infoFile}: not JSON; rewritten`);
      }
    }
    const name = basename(options.out, extname(options.out));
    Object.assign(info, datasetInfoEntry(name, relative(dirname(options.out), options.out)));
    writeFileAtomic(infoFile, `${JSON.stringify(info, null, 2)}\n`);
    summary.datasetInfo = infoFile;
  }

  log(
    `read ${summary.read}, imported ${summary.imported}, exported ${summary.exported} (${options.format}${options.parquet === true ? ', parquet' : ''}) → ${options.out}`,
  );
  if (summary.importFailed + summary.exportFailed > 0) log(`not exported: ${summary.importFailed} unreadable, ${summary.exportFailed} not representable in ${options.format}`);
  if (summary.lossyRecords > 0) log(`lossy: ${summary.lossyRecords} records (${summary.lossNotes} dropped or merged parts)`);
  if (template !== undefined) {
    summary.template = summarizeTemplateChecks(checks);
    const s = summary.template;
    log(`template ${template.name}: ${s.ok} ok, ${s.missing} missing calls/results, ${s.render_error} render errors, ${s.engine_difference} JS-engine differences (Jinja2 would render)`);
  }
  if (summary.datasetInfo !== undefined) log(`dataset_info.json entry written: ${summary.datasetInfo}`);
  return summary;
}

/** Registers `gemtraj export` on the program. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export trajectories as OpenAI, ShareGPT (LLaMA-Factory), Hermes or synthesizer SFT pairs')
    .argument('<trajectories>', 'trajectories.jsonl (or any importable JSONL / JSON array file)')
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .requiredOption('--out <file>', 'output file')
    .addOption(new Option('--from <format>', 'input format').choices(['auto', ...FORMAT_NAMES]).default('auto'))
    .option('--parquet', 'write Parquet (nested columns as JSON strings) instead of JSONL')
    .option('--check-template <file.jinja>', 'render every conversation through this chat template and report problems')
    .option('--sources <segments.jsonl>', 'source texts for sft-pairs (default: segments.jsonl next to the input)')
    .addOption(new Option('--hermes-tool-role <role>', 'role of <tool_response> messages in hermes output').choices(['tool', 'user']).default('tool'))
    .action(async (input: string, flags: { format: ExportFormat; out: string; from: FormatName | 'auto'; parquet?: boolean; checkTemplate?: string; sources?: string; hermesToolRole: 'tool' | 'user' }) => {
      try {
        const opts: ExportOptions = { input, format: flags.format, out: flags.out, from: flags.from, hermesToolRole: flags.hermesToolRole };
        if (flags.parquet === true) opts.parquet = true;
        if (flags.checkTemplate !== undefined) opts.checkTemplate = flags.checkTemplate;
        if (flags.sources !== undefined) opts.sources = flags.sources;
        await runExport(opts);
      } catch (error) {
        process.stderr.write(`gemtraj export: ${(error as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}

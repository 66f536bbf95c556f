/** `gemtraj dedup <input> --out <dir>`: one deduplication pass over a whole corpus, before sharding. */
import { Command, Option } from 'commander';
import { DEDUP_MODES } from '../config.js';
import { describeDefault } from '../config-docs.js';
import { dedupCorpus } from '../pipeline/dedup-corpus.js';
import { configFromFlags, type CommonFlags } from './common.js';

interface DedupFlags extends CommonFlags {
  out: string;
  dedup?: string;
}

export function registerDedup(program: Command): void {
  program
    .command('dedup')
    .description('remove duplicate and near-duplicate segments from a whole corpus (run once before sharding) → <out>/documents.jsonl')
    .argument('<input>', 'JSONL file, .txt/.md/.html file, or a folder of them')
    .requiredOption('--out <dir>', 'output folder: documents.jsonl, rejected.jsonl (one line per duplicate), dedup.json')
    .addOption(new Option('--dedup <mode>', `exact or near ${describeDefault('dedup.mode')}`).choices(DEDUP_MODES.filter((m) => m !== 'off')))
    .option('--text-field <name>', `JSONL field holding the text ${describeDefault('text_field')}`)
    .option('--id-field <name>', `JSONL field holding the id ${describeDefault('id_field')}`)
    .option('--config <file>', 'config file (JSON or YAML): segment.* and dedup.* settings; flags override it')
    .option('--quiet', 'no summary output')
    .action(async (input: string, flags: DedupFlags) => {
      const config = configFromFlags(flags, { dedup: flags.dedup !== undefined ? { mode: flags.dedup } : undefined });
      const s = await dedupCorpus(input, flags.out, config);
      if (!config.quiet) {
        for (const message of s.input_warnings.slice(0, 20)) process.stderr.write(`warning: ${message}\n`);
        if (s.input_warnings.length > 20) process.stderr.write(`${s.input_warnings.length} input warning(s) in all: see ${s.files.summary}\n`);
        process.stderr.write(
          `${s.documents} document(s), ${s.segments} segment(s): ${s.duplicates} duplicate(s) removed (${s.exact_duplicates} exact, ${s.near_duplicates} near), ` +
            `${s.documents - s.documents_kept} document(s) left empty and dropped${s.input_rejected > 0 ? `, ${s.input_rejected} input record(s) rejected` : ''}\n` +
            `documents: ${s.files.documents}\nduplicates: ${s.files.rejected}\n`,
        );
      }
    });
}

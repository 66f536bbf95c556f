/**
 * `gemtraj push <dir> --repo org/name [--private]`: uploads a dataset folder written by
 * `gemtraj export --hf-dataset` to the Hugging Face Hub through @huggingface/hub (token from
 * HF_TOKEN only, Hub URL from HF_ENDPOINT). Exit status 3 when the Hub refuses, 2 otherwise.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { HubError, pushDataset } from '../hub/push.js';

export function registerPush(program: Command): void {
  program
    .command('push')
    .description('upload a dataset folder (gemtraj export --hf-dataset) to the Hugging Face Hub; the token comes from HF_TOKEN')
    .argument('<dir>', 'dataset folder (data/*.parquet and README.md)')
    .requiredOption('--repo <org/name>', 'dataset repository')
    .option('--private', 'create the repository private (an existing one keeps its visibility; without it, the namespace default)')
    .option('--revision <branch>', 'branch to commit to', 'main')
    .option('--message <text>', 'commit title', 'Upload dataset with gemtraj')
    .action(async (dir: string, flags: { repo: string; private?: boolean; revision: string; message: string }) => {
      try {
        if (!existsSync(dir)) throw new HubError(`${dir}: no such folder`);
        const r = await pushDataset(dir, { repo: flags.repo, private: flags.private === true, revision: flags.revision, message: flags.message });
        process.stdout.write(`pushed ${r.files} files (${r.lfsFiles} via LFS, ${r.lfsSkipped} already there) → ${r.url}\n`);
      } catch (error) {
        process.stderr.write(`gemtraj push: ${(error as Error).message}\n`);
        process.exitCode = error instanceof HubError && error.status !== undefined ? 3 : 2;
      }
    });
}

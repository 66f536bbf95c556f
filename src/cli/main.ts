#!/usr/bin/env node
/**
 * The `gemtraj` command. Each command lives in its own file and registers itself here;
 * this file only turns errors into one clear message and an exit code.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { EXIT_BAD_INPUT, EXIT_UNEXPECTED, GemtrajError } from '../errors.js';
import { redact } from '../llm/errors.js';
import { VERSION } from '../version.js';
import { registerRun } from './run.js';
import { registerStages } from './stages.js';
import { registerExport } from './export.js';
import { registerPush } from './push.js';
import { registerValidate } from './validate.js';
import { registerStats } from './stats.js';
import { registerMerge } from './merge.js';
import { registerReport } from './report.js';
import { registerView } from './view.js';
import { registerSplit } from './split.js';
import { registerEval } from './eval.js';
import { registerBatch } from './batch.js';
import { registerDedup } from './dedup.js';

export function buildProgram(): Command {
  const program = new Command('gemtraj')
    .description('Synthesize multi-turn tool-use training trajectories for LLM agents from text (the GEM method).')
    .version(VERSION)
    .showHelpAfterError('(run gemtraj <command> --help for its options)')
    .configureHelp({ sortSubcommands: false });
  registerRun(program);
  registerStages(program);
  registerDedup(program);
  registerValidate(program);
  registerExport(program);
  registerPush(program);
  registerStats(program);
  registerMerge(program);
  registerReport(program);
  registerView(program);
  registerSplit(program);
  registerEval(program);
  registerBatch(program);
  return program;
}

/**
 * Exit codes: 0 done (rejections are data); otherwise the {@link GemtrajError.exitCode} of
 * the error that ended the command (see src/errors.ts), 2 for bad flags, 1 for anything else.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // On every command: subcommands registered before this call do not inherit it, and a bad
  // flag of theirs would otherwise exit the process with status 1 instead of returning 2.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`gemtraj: ${redact(message)}\n`);
    // Foreseen errors say all there is to say; a stack only helps with the unforeseen.
    if (error instanceof GemtrajError && error.exitCode !== EXIT_UNEXPECTED) return error.exitCode;
    if (process.env.GEMTRAJ_DEBUG !== undefined && error instanceof Error && error.stack !== undefined) {
      process.stderr.write(`${redact(error.stack)}\n`);
    }
    return EXIT_UNEXPECTED;
  }
}

/** True when this file is the process entry point (the bin, possibly through a symlink). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`gemtraj: ${redact(String(error))}\n`);
      process.exitCode = 1;
    },
  );
}

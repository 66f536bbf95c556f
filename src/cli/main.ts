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

/** Adds a file's commands to the program. */
type Register = (program: Command) => unknown;

/**
 * Each command file, in help order, with the commands it registers: a command line loads only
 * the file of its command (the others are ~50 modules and 40 ms of CPU at every start); help,
 * or a name that is none of these, loads them all. test/cli-lazy-commands.test.ts checks that
 * the names are exactly what each file registers.
 */
export const COMMAND_FILES: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> = [
  { names: ['run', 'synthesize', 'filter'], load: async () => (await import('./run.js')).registerRun },
  { names: ['extract', 'generate', 'refine'], load: async () => (await import('./stages.js')).registerStages },
  { names: ['dedup'], load: async () => (await import('./dedup.js')).registerDedup },
  { names: ['validate'], load: async () => (await import('./validate.js')).registerValidate },
  { names: ['export'], load: async () => (await import('./export.js')).registerExport },
  { names: ['push'], load: async () => (await import('./push.js')).registerPush },
  { names: ['stats'], load: async () => (await import('./stats.js')).registerStats },
  { names: ['merge'], load: async () => (await import('./merge.js')).registerMerge },
  { names: ['report'], load: async () => (await import('./report.js')).registerReport },
  { names: ['view'], load: async () => (await import('./view.js')).registerView },
  { names: ['split'], load: async () => (await import('./split.js')).registerSplit },
  { names: ['eval'], load: async () => (await import('./eval.js')).registerEval },
  { names: ['batch'], load: async () => (await import('./batch.js')).registerBatch },
];

/**
 * The program with every command, or with only the file that registers `command` when it names
 * one (what a command line needs: its own options and help).
 */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('gemtraj')
    .description('Synthesize multi-turn tool-use training trajectories for LLM agents from text (the GEM method).')
    .version(VERSION)
    .showHelpAfterError('(run gemtraj <command> --help for its options)')
    .configureHelp({ sortSubcommands: false });
  const only = command === undefined ? undefined : COMMAND_FILES.find((f) => f.names.includes(command));
  const files = only === undefined ? COMMAND_FILES : [only];
  const registers = await Promise.all(files.map((f) => f.load()));
  for (const register of registers) register(program);
  return program;
}

/**
 * Exit codes: 0 done (rejections are data); otherwise the {@link GemtrajError.exitCode} of
 * the error that ended the command (see src/errors.ts), 2 for bad flags, 1 for anything else.
 */
export async function main(argv: string[]): Promise<number> {
  // The program has no options of its own before a command but --help and --version.
  const program = await buildProgram(argv[0]?.startsWith('-') === false ? argv[0] : undefined);
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

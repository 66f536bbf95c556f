/**
 * Running `gemtraj` from tests: in-process through `main()` (fast, stderr captured), or as a
 * real child process of the built CLI (`dist/cli/main.js`) when the test needs to kill it,
 * check its exit status, or read everything it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `main(args)` in this process with stdout and stderr captured. Not reentrant: one call
 * at a time (it swaps `process.stdout.write` / `process.stderr.write`).
 */
export async function runMain(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const text = (chunk: string | Uint8Array): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(text(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(text(chunk)), true)) as typeof process.stderr.write;
  const previousExit = process.exitCode;
  try {
    process.exitCode = undefined;
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = previousExit;
  }
}

/** Path of the built CLI, `<repo>/dist/cli/main.js` (whether this file runs from src or dist). */
export function builtCli(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'cli', 'main.js');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'dist', 'cli', 'main.js');
}

export interface SpawnedCli {
  child: ChildProcess;
  /** Resolves when the process has exited; `code` is null when a signal killed it. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node dist/cli/main.js …args`. `env` is laid over this process's environment; a key
 * set to `undefined` is removed from the child's.
 */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): SpawnedCli {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  const child = spawn(process.execPath, [builtCli(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
  return { child, done };
}

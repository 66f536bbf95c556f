/** `gemtraj view <dir>`: local viewer in the browser, until Ctrl-C. */
import { Command, InvalidArgumentError } from 'commander';
import { startViewer } from '../report/viewer.js';

interface ViewFlags {
  port: number;
  host: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be an integer from 0 to 65535');
  return n;
}

export const DEFAULT_VIEW_PORT = 8740;

export function registerView(program: Command): void {
  program
    .command('view')
    .description('browse trajectories (passed and rejected), their tools, judge verdicts and source text in a local web page')
    .argument('<dir>', 'run directory')
    .option('--port <n>', `port (0 = any free port; default ${DEFAULT_VIEW_PORT})`, port, DEFAULT_VIEW_PORT)
    .option('--host <addr>', 'address to bind; anything but loopback exposes the data to the network', '127.0.0.1')
    .action(async (dir: string, flags: ViewFlags) => {
      process.stderr.write(`indexing ${dir}…\n`);
      const viewer = await startViewer({ dir, port: flags.port, host: flags.host });
      process.stdout.write(`${viewer.url}\n`);
      process.stderr.write(`${viewer.index.entries.length} trajectories indexed; Ctrl-C to stop\n`);
      // The command ends when the server closes, so the exit code is set by main as usual.
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void viewer.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

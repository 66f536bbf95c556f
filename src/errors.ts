/**
 * The root of every error gemtraj throws on purpose. Each one carries the exit status the
 * command line ends with when it reaches the top, so the CLI maps errors with one
 * `instanceof` test instead of a list of classes; anything else is a bug (exit 1).
 */

/** A failure nobody foresaw: a bug, or an I/O error without a better class. */
export const EXIT_UNEXPECTED = 1;
/** Bad input: flags, config, a corpus or record file that cannot be read. Fix the input and rerun. */
export const EXIT_BAD_INPUT = 2;
/** The model endpoint cannot be used (bad key, no quota, unknown model, most requests failing). */
export const EXIT_ENDPOINT = 3;
/**
 * The run finished but left records undone because the endpoint failed for them (retryable
 * rejections remain) after answering others: rerunning the same command retries just those.
 * (When the endpoint answered no request at all, the exit status is {@link EXIT_ENDPOINT}.)
 */
export const EXIT_INCOMPLETE = 4;
/** Stopped by SIGINT/SIGTERM (128 + SIGINT): finished work is kept and a rerun resumes. */
export const EXIT_INTERRUPTED = 130;

/** An exit status of the `gemtraj` command (0, success, is not an error). */
export type ExitCode = typeof EXIT_UNEXPECTED | typeof EXIT_BAD_INPUT | typeof EXIT_ENDPOINT | typeof EXIT_INCOMPLETE | typeof EXIT_INTERRUPTED;

/** Base class of gemtraj's own errors. Subclasses keep their names and constructors. */
export class GemtrajError extends Error {
  /** Exit status of the command when this error ends it. @default {@link EXIT_UNEXPECTED} */
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = EXIT_UNEXPECTED, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
    this.name = 'GemtrajError';
  }
}

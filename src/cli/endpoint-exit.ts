/**
 * The exit status of a command that finished with records left undone by endpoint failures
 * (retryable rejections): a run must not exit 0 when the endpoint never answered, and a
 * scheduler must be able to tell an incomplete run from a complete one.
 */
import { EXIT_ENDPOINT, EXIT_INCOMPLETE, type ExitCode } from '../errors.js';
import { redact } from '../llm/errors.js';
import type { Gateway } from '../llm/gateway.js';

export interface EndpointOutcome {
  /** Retryable rejections left (records a rerun retries). */
  retryable: number;
  /** Requests the endpoint answered in this process (paid calls). */
  answered: number;
  /** Requests that failed after all retries in this process. */
  failed: number;
  /** The last failure's message, when there was one. */
  lastError: string | undefined;
}

/** The last endpoint failure a gateway reports; read it after the run. */
export function watchFailures(gateway: Gateway | undefined): () => string | undefined {
  let last: string | undefined;
  gateway?.onEvent((event) => {
    if (event.type === 'failed') last = event.error;
  });
  return () => last;
}

/**
 * `undefined` when nothing is left to retry. Otherwise exit 3 when the endpoint answered no
 * request at all (nothing could be made: a wrong URL, a dead server, 500s throughout), else
 * exit 4 (incomplete: a rerun retries the rest); with the one message that says so.
 */
function endpointExit(outcome: EndpointOutcome): { code: ExitCode; message: string } | undefined {
  if (outcome.retryable === 0) return undefined;
  const last = outcome.lastError === undefined ? '' : ` Last error: ${outcome.lastError}`;
  if (outcome.answered === 0 && outcome.failed > 0) {
    return {
      code: EXIT_ENDPOINT,
      message:
        `the model endpoint never answered: all ${outcome.failed} request(s) failed after their retries, ` +
        `so ${outcome.retryable} record(s) were not made.${last}\n` +
        'Check the base URL and that the server is up, then rerun the same command: nothing is lost and those records are retried.',
    };
  }
  return {
    code: EXIT_INCOMPLETE,
    message:
      `incomplete: ${outcome.retryable} record(s) were not made because the endpoint failed for them.${last}\n` +
      'Rerun the same command to retry just those (finished work is kept).',
  };
}

/**
 * {@link endpointExit} for a command's gateways (their calls and failures summed), the message
 * redacted: `undefined` when nothing is left to retry.
 */
export function gatewaysExit(
  retryable: number,
  gateways: ReadonlyArray<Gateway | undefined>,
  lastError: string | undefined,
): { code: ExitCode; message: string } | undefined {
  const totals = gateways.map((g) => g?.usage().totals);
  const exit = endpointExit({
    retryable,
    answered: totals.reduce((n, t) => n + (t?.calls ?? 0), 0),
    failed: totals.reduce((n, t) => n + (t?.failed_calls ?? 0), 0),
    lastError,
  });
  return exit === undefined ? undefined : { code: exit.code, message: redact(exit.message) };
}

/** The exit status of {@link gatewaysExit}, its message written to stderr: 0 when complete. */
export function reportGatewaysExit(...args: Parameters<typeof gatewaysExit>): number {
  const exit = gatewaysExit(...args);
  if (exit !== undefined) process.stderr.write(`gemtraj: ${exit.message}\n`);
  return exit?.code ?? 0;
}

/**
 * Errors the gateway throws. Two kinds matter to callers:
 * - {@link FatalEndpointError}: the endpoint cannot be used at all (bad key, no quota, unknown
 *   model). The run stops at once with one message instead of rejecting every record.
 * - {@link TransientEndpointError}: retries were exhausted for one request. The record is
 *   rejected as `retryable` and a rerun tries it again.
 * Messages never contain the API key: they are built from status, code and the server's text,
 * and {@link redact} scrubs anything that looks like a bearer token on the way out.
 */
import { EXIT_ENDPOINT, GemtrajError } from '../errors.js';

/**
 * Base of the gateway's errors. Exit status 1 unless a subclass says otherwise: a
 * transient or rejected request normally becomes a record rejection and never ends a command.
 */
export abstract class LlmError extends GemtrajError {
  /** HTTP status, when there was a response. */
  abstract readonly status: number | undefined;
}

/** The endpoint cannot be used at all: the command stops with exit status 3. */
export class FatalEndpointError extends LlmError {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** Machine-readable kind for tests and `run.json`. */
    readonly kind: 'auth' | 'forbidden' | 'not_found' | 'quota' | 'bad_request' | 'circuit_open' | 'exported',
  ) {
    super(redact(message), EXIT_ENDPOINT);
    this.name = 'FatalEndpointError';
  }
}

export class TransientEndpointError extends LlmError {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** How many attempts were made before giving up. */
    readonly attempts: number,
  ) {
    super(redact(message));
    this.name = 'TransientEndpointError';
  }
}

/**
 * The endpoint refused this one request — too long for the context, or flagged by a content
 * policy — while other requests may well succeed: the record is rejected (with `check` as the
 * reason) and the run goes on.
 */
export class RequestRejectedError extends LlmError {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** Reason id for the rejection record. */
    readonly check: 'llm_context_length' | 'llm_content_policy',
  ) {
    super(redact(message));
    this.name = 'RequestRejectedError';
  }
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{8,}/g,
  /(Bearer\s+)[A-Za-z0-9._\-]{8,}/gi,
  /(api[_-]?key["'=:\s]+)[A-Za-z0-9._\-]{8,}/gi,
];

const knownSecrets = new Set<string>();

/** Registers a secret (the API key in use) so that {@link redact} removes it verbatim. */
export function registerSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length >= 4) knownSecrets.add(secret);
}

/** Removes registered secrets and key-shaped tokens from text bound for logs or files. */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('[REDACTED]');
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && prefix !== match ? `${prefix}[REDACTED]` : '[REDACTED]',
    );
  }
  return out;
}

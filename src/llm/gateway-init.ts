/** What {@link createGateway} accepts, and its resolution into checked {@link GatewayOptions}. */
import { hasCredentials } from '../config.js';
import type { ModelBackend } from './backend.js';
import { DEFAULT_GATEWAY_OPTIONS, type GatewayOptions } from './options.js';

/**
 * Options of `createGateway`: `model` plus any of {@link GatewayOptions}, and either the HTTP
 * endpoint (`baseUrls`, `apiKey`) or a `backend` of your own.
 */
export type GatewayInit = Pick<GatewayOptions, 'model'> &
  Partial<Omit<GatewayOptions, 'baseUrls' | 'apiKey' | 'model'>> & {
    /**
     * OpenAI-compatible base URLs for the built-in HTTP backend; at least one unless `backend`
     * is given (then ignored). @example ['http://localhost:8000/v1']
     */
    baseUrls?: string[] | undefined;
    /** API key for the HTTP backend; `undefined` sends none. Registered with `redact` either way. */
    apiKey?: string | undefined;
    /**
     * Sends the requests instead of the built-in OpenAI-compatible HTTP backend (a Batch API
     * backend, a fake in tests). The gateway owns it and closes it on `close()`.
     * `timeoutMs` and `replicaCooldownMs` are then the backend's business.
     * @default an HttpBackend over `baseUrls`
     */
    backend?: ModelBackend | undefined;
    /**
     * How long a replica that failed (connection error, 5xx, timeout) is skipped while others
     * are available, in milliseconds. Minimum 0. @default 10000
     */
    replicaCooldownMs?: number | undefined;
    /** Successes needed for each +1 of the adaptive concurrency limit. Minimum 1. @default 8 */
    adaptiveIncreaseEvery?: number | undefined;
    /**
     * Append-only usage ledger (usage-ledger.ts) of a run directory: every usage event is
     * appended, and {@link Gateway.runUsage} sums it over every process. `undefined`: none.
     * @example 'runs/a/usage.jsonl'
     */
    usageLedgerPath?: string | undefined;
    /**
     * The requests' answers may reach another process (batch mode: a request submitted in a
     * batch is answered to whichever process polls it next), so the ledger records outcomes
     * only: no `sent` line, and no `abandoned` one when a stop gives a request up. A killed
     * process's requests then count once, in the process that reads their answers.
     * @default false
     */
    answersOutliveProcess?: boolean | undefined;
  };

/** Defaults filled in and ranges checked; throws a RangeError naming the bad option. */
export function resolveGatewayOptions(init: GatewayInit): GatewayOptions {
  const options = { ...DEFAULT_GATEWAY_OPTIONS, baseUrls: [], apiKey: undefined, ...dropUndefined(init) } as GatewayOptions;
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new RangeError(`gateway options: ${message}`);
  };
  check(init.backend !== undefined || options.baseUrls.length > 0, 'baseUrls must hold at least one URL');
  check(!options.baseUrls.some(hasCredentials), 'baseUrls must not hold a user name or password (user:pass@host): pass the key as apiKey');
  check(Number.isInteger(options.concurrency) && options.concurrency >= 1, 'concurrency must be an integer ≥ 1');
  check(options.rpm === undefined || options.rpm >= 1, 'rpm must be ≥ 1');
  check(options.tpm === undefined || options.tpm >= 1, 'tpm must be ≥ 1');
  check(options.timeoutMs > 0, 'timeoutMs must be > 0');
  check(Number.isInteger(options.maxRetries) && options.maxRetries >= 0, 'maxRetries must be an integer ≥ 0');
  check(options.backoffBaseMs >= 0 && options.backoffMaxMs >= 0, 'backoff times must be ≥ 0');
  check(options.maxErrorRate > 0 && options.maxErrorRate <= 1, 'maxErrorRate must be in (0, 1]');
  check(Number.isInteger(options.errorWindow) && options.errorWindow >= 1, 'errorWindow must be an integer ≥ 1');
  return options;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

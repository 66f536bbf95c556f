/** Shared helpers for tests that drive the CLI in-process. */
import { readFileSync } from 'node:fs';
import { runMain } from '../../src/testing/cli-harness.js';

/** A clearly procedural passage (the local scorer keeps it without a judge call). */
export const PROCEDURE = `# Cancelling an order in the web shop

To cancel an order, follow these steps:

1. Log in to your account on the website with your email and password.
2. Click "My orders" and select the order you want to cancel.
3. Check the status: only orders that are still pending can be cancelled. If the order has shipped, open a return request instead.
4. Click "Cancel order", choose a reason from the list and click "Submit".
5. Confirm the cancellation in the dialog. The refund is issued to the original payment method within 5 business days.

If you cannot log in, reset your password first from the sign-in page.`;

export function readLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs `gemtraj <args>` in this process, capturing its output; returns the exit code. */
export const runCli = runMain;

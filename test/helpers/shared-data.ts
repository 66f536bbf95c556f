/**
 * The shared test data folder: `../shared/data` next to the repository root (README.md in it
 * lists the files). Resolved from this file, so tests find it whatever the working directory.
 */
import { fileURLToPath } from 'node:url';

export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data', import.meta.url));

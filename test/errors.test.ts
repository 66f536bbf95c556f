import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { EXIT_BAD_INPUT, EXIT_ENDPOINT, EXIT_INTERRUPTED, EXIT_UNEXPECTED, GemtrajError } from '../src/errors.js';
import { ExportError } from '../src/formats/types.js';
import { InputError } from '../src/io/documents.js';
import { FatalEndpointError, LlmError, RequestRejectedError, TransientEndpointError } from '../src/llm/errors.js';
import { RecordError } from '../src/records.js';
import { MergeError } from '../src/report/merge.js';
import { ReportError } from '../src/report/run-analysis.js';
import { runMain } from '../src/testing/cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'gemtraj-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('one error root', () => {
  it('gives every error class its exit status and keeps names and messages', () => {
    const cases: Array<[GemtrajError, string, number]> = [
      [new ConfigError('bad'), 'ConfigError', EXIT_BAD_INPUT],
      [new InputError('bad'), 'InputError', EXIT_BAD_INPUT],
      [new RecordError({ file: 'a.jsonl', line: 3 }, 'messages[0]', 'bad'), 'RecordError', EXIT_BAD_INPUT],
      [new ExportError('bad', 'messages[1]'), 'ExportError', EXIT_BAD_INPUT],
      [new ReportError('bad'), 'ReportError', EXIT_BAD_INPUT],
      [new MergeError('bad'), 'MergeError', EXIT_BAD_INPUT],
      [new FatalEndpointError('bad', 401, 'auth'), 'FatalEndpointError', EXIT_ENDPOINT],
      [new TransientEndpointError('bad', 503, 3), 'TransientEndpointError', EXIT_UNEXPECTED],
      [new RequestRejectedError('bad', 400, 'llm_context_length'), 'RequestRejectedError', EXIT_UNEXPECTED],
    ];
    for (const [error, name, code] of cases) {
      expect(error).toBeInstanceOf(GemtrajError);
      expect(error).toBeInstanceOf(Error);
      expect([error.name, error.exitCode]).toEqual([name, code]);
    }
    expect(new RecordError({ file: 'a.jsonl', line: 3 }, 'messages[0]', 'bad').message).toBe('a.jsonl:3: messages[0]: bad');
    expect(new ExportError('bad', 'messages[1]').message).toBe('messages[1]: bad');
    expect(new FatalEndpointError('x', 401, 'auth')).toBeInstanceOf(LlmError);
    expect(new GemtrajError('plain').exitCode).toBe(EXIT_UNEXPECTED);
    expect([EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_ENDPOINT, EXIT_INTERRUPTED]).toEqual([1, 2, 3, 130]);
  });

  it('ends the command with the error’s exit status and one message', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'concurrency: 0\n');
    const result = await runMain(['extract', join(dir, 'in.jsonl'), '--out', join(dir, 'out'), '--config', config]);
    expect(result.code).toBe(EXIT_BAD_INPUT);
    expect(result.stderr).toMatch(/^gemtraj: invalid configuration:\n  concurrency: /);
  });
});

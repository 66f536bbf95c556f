/** trajectories.jsonl and rejected.jsonl always exist after a run, empty when there is nothing to put in them. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { startMockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const work = mkdtempSync(join(tmpdir(), 'gemtraj-empty-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('run files that would be empty', () => {
  it('exist after a run whose documents are all filtered out', async () => {
    const server = await startMockServer({ handler: scriptedTeacher() });
    try {
      const corpus = join(work, 'story.jsonl');
      writeFileSync(corpus, `${JSON.stringify({ id: 's', text: 'The old keeper walked along the shore every evening and thought of the sea, the gulls and his brother in the city. [[drop]]' })}\n`);
      process.env.GEMTRAJ_EMPTY_KEY = 'sk-test-empty';
      const out = join(work, 'run');
      const result = await runMain(['run', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_EMPTY_KEY']);
      expect(result.code).toBe(0);
      const dataset = /dataset: (\S+)/.exec(result.stderr)?.[1];
      expect(dataset).toBe(join(out, 'trajectories.jsonl'));
      expect(readFileSync(join(out, 'trajectories.jsonl'), 'utf8')).toBe('');
      expect(readFileSync(join(out, 'rejected.jsonl'), 'utf8')).toBe('');
    } finally {
      delete process.env.GEMTRAJ_EMPTY_KEY;
      await server.close();
    }
  });
});

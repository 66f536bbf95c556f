import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/api.js';

const root = mkdtempSync(join(tmpdir(), 'gemtraj-resolved-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// An empty corpus: the gateway is made (endpoint and model resolved) but no call is sent.
const empty = join(root, 'empty.jsonl');
writeFileSync(empty, '');

describe('run.json records the endpoint and models actually used', () => {
  it('the api.openai.com fallback and its default model, per-stage overrides included', async () => {
    const out = join(root, 'fallback');
    await run({ input: empty, out, env: { OPENAI_API_KEY: 'sk-test-not-real' }, config: { models: { judge: 'gpt-4.1' } } });
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect((runJson.config as { base_urls: unknown }).base_urls).toEqual([]);
    expect(runJson.resolved).toEqual({ base_urls: ['https://api.openai.com/v1'], model: 'gpt-4.1-mini', models: { judge: 'gpt-4.1' } });
    expect(JSON.stringify(runJson)).not.toContain('sk-test-not-real');
  });

  it('a base URL from the environment, credentials removed', async () => {
    const out = join(root, 'env-url');
    await run({ input: empty, out, env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1?api-key=secret', GEMTRAJ_MODEL: 'served' } });
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { resolved?: unknown };
    expect(runJson.resolved).toEqual({ base_urls: ['http://127.0.0.1:9/v1 (credentials removed)'], model: 'served', models: {} });
    expect(JSON.stringify(runJson)).not.toContain('secret');
  });

  it('no model endpoint (a local filter run): no resolved block', async () => {
    const out = join(root, 'local');
    await run({ input: empty, out, mode: 'filter', env: {}, config: { filter: { mode: 'local' } } });
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect('resolved' in runJson).toBe(false);
  });
});

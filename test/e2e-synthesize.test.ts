/**
 * `gemtraj synthesize` end to end against a mock Trajectory Synthesizer that answers in the
 * sft-pairs text format — cleanly, and with the usual slips (prose and fences around, a think
 * block, a missing final close tag) — plus one answer that is not the format at all.
 * Then `stats --compare`-style figures come from run.json, as for `run`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';
import { PROCEDURE, readLines, runCli } from './helpers/cli.js';

describe('gemtraj synthesize end to end', () => {
  let server: MockServer;
  let dir: string;
  let out: string;
  let result: { code: number; stderr: string };
  const docs = ['clean', 'slip-fence', 'slip-think', 'slip-truncated', 'garbage'];

  beforeAll(async () => {
    server = await startMockServer({ handler: scriptedTeacher() });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-synth-'));
    out = join(dir, 'run');
    const lines = docs.map((id) => JSON.stringify({ id, text: `${PROCEDURE}\n\n${id === 'clean' ? '' : `[[${id}]]`}` }));
    writeFileSync(join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
    result = await runCli(['synthesize', '--dedup', 'off', join(dir, 'corpus.jsonl'), '--out', out, '--base-url', server.url, '--model', 'synth-8b', '--no-judge']);
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses clean and slipped answers into valid trajectories', () => {
    expect(result.code).toBe(0);
    const passed = readLines(join(out, 'trajectories.jsonl'));
    const ids = passed.map((t) => (t.source as { doc_id: string }).doc_id).sort();
    expect(ids).toEqual(['clean', 'slip-fence', 'slip-think', 'slip-truncated']);
    for (const t of passed) {
      const meta = t.meta as { stage: string; prompt_version: string };
      expect(meta.stage).toBe('synthesized');
      expect(meta.prompt_version).toBe('synthesize-v1');
      const tools = (t.tools as Array<{ function: { name: string } }>).map((x) => x.function.name);
      expect(tools).toEqual(['get_customer', 'get_order', 'cancel_order']);
      // Links are rebuilt by gemtraj: every call answered, in order.
      const messages = t.messages as Array<{ role: string; tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
      const calls = messages.flatMap((m) => m.tool_calls ?? []).map((c) => c.id);
      expect(messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)).toEqual(calls);
    }
  });

  it('rejects an answer that is not the format, keeping the raw text', () => {
    const rejected = readLines(join(out, 'rejected.jsonl'));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.stage).toBe('synthesize');
    expect((rejected[0]?.reasons as Array<{ check: string }>)[0]?.check).toBe('synthesize_unparseable');
    expect(String(rejected[0]?.raw)).toContain('no trajectory');
  });

  it('makes one plain (not JSON-mode) call per kept segment and balances the accounting', () => {
    expect(server.count).toBe(docs.length);
    for (const request of server.requests) {
      expect(request.body.response_format).toBeUndefined();
      expect(String(request.body.messages?.[0]?.content)).toMatch(/^Turn the following text into multi-turn tool-use trajectories/);
    }
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { command: string; counts: Record<string, unknown> };
    expect(runJson.command).toBe('synthesize');
    expect(runJson.counts.balanced).toBe(true);
    expect(runJson.counts.passed).toBe(4);
    expect(runJson.counts.generate_rejected).toBe(1);
  });
});

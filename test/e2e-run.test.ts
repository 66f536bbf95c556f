/**
 * End to end: `gemtraj run` against a scripted mock teacher on 127.0.0.1 whose answers
 * exercise every path — a good trajectory, invalid tool arguments, a hallucinated tool, a
 * malformed answer, a refusal, a broken refinement, a failing judge — plus bad input lines.
 * Asserts the files, the accounting invariant, the reasons, the response_format of every
 * JSON request, that a rerun makes no model call at all, and that the key leaks nowhere.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCEDURE, readLines, runCli } from './helpers/cli.js';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const KEY = 'sk-test-E2E-SECRET-0123456789abcdef';

const NARRATIVE = `[[drop]] The old lighthouse keeper walked along the shore every evening. He remembered the storms of his youth, the ships that came too close, and the long winter when the lamp had failed. "We were young then," he said to the gulls, and they did not answer. The sea was calm that night, silver under the moon, and he thought of his brother who had gone to the city and never written.`;

function corpusLines(): string[] {
  const doc = (id: string, marker: string) => JSON.stringify({ id, text: `${PROCEDURE}\n\n${marker}`.trim() });
  return [
    doc('good', ''),
    doc('bad-args', '[[bad-args]]'),
    doc('hallucinated', '[[hallucinated-tool]]'),
    doc('malformed', '[[malformed]]'),
    doc('refusal', '[[refusal]]'),
    doc('bad-refine', '[[bad-refine]]'),
    doc('judge-fail', '[[judge-fail]]'),
    JSON.stringify({ id: 'story', text: NARRATIVE }),
    '{"id": "broken", "text": ',
    JSON.stringify({ id: 'no-text', body: 'wrong field' }),
  ];
}

describe('gemtraj run end to end', () => {
  let server: MockServer;
  let dir: string;
  let out: string;
  let first: { code: number; stderr: string };

  beforeAll(async () => {
    server = await startMockServer({ handler: scriptedTeacher() });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-e2e-'));
    out = join(dir, 'run');
    writeFileSync(join(dir, 'corpus.jsonl'), `${corpusLines().join('\n')}\n`);
    process.env.GEMTRAJ_E2E_KEY = KEY;
    first = await runCli(['run', '--dedup', 'off', join(dir, 'corpus.jsonl'), '--out', out, '--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_E2E_KEY', '--concurrency', '4']);
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.GEMTRAJ_E2E_KEY;
  });

  it('finishes with exit 0 and writes every run file', () => {
    expect(first.stderr).not.toMatch(/^gemtraj: /m);
    expect(first.code).toBe(0);
    const files = readdirSync(out);
    for (const f of ['segments.jsonl', 'extractions.jsonl', 'trajectories.raw.jsonl', 'trajectories.refined.jsonl', 'trajectories.jsonl', 'rejected.jsonl', 'run.json']) {
      expect(files).toContain(f);
    }
  });

  it('puts good trajectories in the dataset, with the original kept when refinement broke it', () => {
    const passed = readLines(join(out, 'trajectories.jsonl'));
    const byDoc = new Map(passed.map((t) => [(t.source as { doc_id: string }).doc_id, t]));
    expect([...byDoc.keys()].sort()).toEqual(['bad-refine', 'good']);
    const good = byDoc.get('good') as { meta: Record<string, unknown>; messages: Array<Record<string, unknown>> };
    expect(good.meta.stage).toBe('refined');
    expect(good.meta.judge).toBeDefined();
    const fallback = byDoc.get('bad-refine') as { meta: Record<string, unknown> };
    expect(fallback.meta.stage).toBe('generated');
    expect(JSON.stringify(fallback.meta.refine_fallback)).toMatch(/role_order|user/);
    // Ids and links are assigned by gemtraj: every call has exactly one result.
    const calls = good.messages.flatMap((m) => (m.tool_calls as Array<{ id: string }> | undefined) ?? []).map((c) => c.id);
    const results = good.messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id);
    expect(results).toEqual(calls);
  });

  it('rejects every bad record with its stage and reason', () => {
    const rejected = readLines(join(out, 'rejected.jsonl'));
    const find = (pred: (r: Record<string, unknown>) => boolean) => rejected.find(pred);
    const checksOf = (r: Record<string, unknown> | undefined) => ((r?.reasons ?? []) as Array<{ check: string }>).map((x) => x.check);
    const byDoc = (doc: string) => find((r) => (r.source as { doc_id?: string } | undefined)?.doc_id === doc);

    expect(byDoc('bad-args')?.stage).toBe('validate');
    expect(checksOf(byDoc('bad-args'))).toContain('arguments_schema');
    expect(byDoc('hallucinated')?.stage).toBe('validate');
    expect(checksOf(byDoc('hallucinated'))).toContain('unknown_tool');
    expect(byDoc('malformed')?.stage).toBe('extract');
    expect(checksOf(byDoc('malformed'))).toEqual(['extract_unparseable']);
    expect(typeof byDoc('malformed')?.raw).toBe('string');
    expect(checksOf(byDoc('refusal'))).toEqual(['extract_refusal']);
    expect(byDoc('judge-fail')?.stage).toBe('judge');
    expect(checksOf(byDoc('judge-fail'))).toContain('judge_R1');
    const input = rejected.filter((r) => r.stage === 'input');
    expect(input.map((r) => checksOf(r)[0]).sort()).toEqual(['input_json', 'input_text_missing']);
    expect(JSON.stringify(input)).toMatch(/corpus\.jsonl:9/);
  });

  it('drops the narrative at the filter and keeps the accounting balanced', () => {
    const segments = readLines(join(out, 'segments.jsonl'));
    const story = segments.find((s) => s.doc_id === 'story');
    expect(story?.keep).toBe(false);
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, any>;
    const c = runJson.counts;
    expect(c.balanced).toBe(true);
    expect(c.documents).toBe(8);
    expect(c.input_rejected).toBe(2);
    expect(c.kept).toBe(7);
    expect(c.extracted + c.extract_rejected).toBe(c.kept);
    expect(c.generated).toBe(c.workflows - c.generate_rejected);
    expect(c.passed + c.validate_rejected + c.judge_rejected).toBe(c.generated);
    expect(c.passed).toBe(2);
    expect(runJson.status).toBe('finished');
    expect(runJson.usage.totals.calls).toBeGreaterThan(0);
    expect(first.stderr).toMatch(/accounting: every record is accounted for/);
  });

  it('sends the response_format of json_schema mode with every JSON request', () => {
    expect(server.requests.length).toBeGreaterThan(0);
    for (const request of server.requests) {
      expect(request.body.response_format?.type).toBe('json_schema');
      expect(request.body.response_format?.json_schema?.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(request.body.response_format?.json_schema?.schema).toBeTypeOf('object');
    }
  });

  it('makes no model call at all when a finished run is rerun', async () => {
    const before = server.count;
    const segmentsBefore = readFileSync(join(out, 'segments.jsonl'), 'utf8');
    const again = await runCli(['run', '--dedup', 'off', join(dir, 'corpus.jsonl'), '--out', out, '--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_E2E_KEY']);
    expect(again.code).toBe(0);
    expect(server.count).toBe(before);
    expect(readFileSync(join(out, 'segments.jsonl'), 'utf8')).toBe(segmentsBefore);
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, any>;
    expect(runJson.sessions).toHaveLength(2);
    expect(runJson.counts.passed).toBe(2);
  });

  it('never writes the API key into the run directory or the output', () => {
    for (const f of readdirSync(out)) {
      const content = readFileSync(join(out, f)).toString('latin1');
      expect(content.includes(KEY), f).toBe(false);
    }
    expect(first.stderr.includes(KEY)).toBe(false);
    const runJson = readFileSync(join(out, 'run.json'), 'utf8');
    expect(runJson).toContain('GEMTRAJ_E2E_KEY');
  });
});

describe('gemtraj run against an endpoint that refuses the key', () => {
  it('stops early with one clear message, exit 3, and a run.json that says why', async () => {
    const server = await startMockServer({
      handler: () => ({ kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } }),
    });
    const dir = mkdtempSync(join(tmpdir(), 'gemtraj-401-'));
    try {
      const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: `d${i}`, text: `${PROCEDURE}\n\nCase ${i}.` }));
      writeFileSync(join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
      process.env.GEMTRAJ_E2E_KEY = KEY;
      const result = await runCli(['run', '--dedup', 'off', join(dir, 'corpus.jsonl'), '--out', join(dir, 'run'), '--base-url', server.url, '--model', 'm', '--api-key-env', 'GEMTRAJ_E2E_KEY', '--concurrency', '2', '--quiet']);
      expect(result.code).toBe(3);
      const messages = result.stderr.split('\n').filter((l) => /Authentication failed/.test(l));
      expect(messages).toHaveLength(1);
      expect(result.stderr).not.toContain(KEY);
      // Not retried, and the run did not burn through the corpus: a handful of calls at most.
      expect(server.count).toBeLessThanOrEqual(4);
      const runJson = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8')) as { status: string; stop_reason: string };
      expect(runJson.status).toBe('stopped');
      expect(runJson.stop_reason).toMatch(/HTTP 401/);
      // Nothing was rejected for the endpoint's fault: a rerun with a good key starts clean.
      expect(readFileSync(join(dir, 'run', 'rejected.jsonl'), 'utf8')).toBe('');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      delete process.env.GEMTRAJ_E2E_KEY;
    }
  });
});

describe('gemtraj run: per-record refusals and resume safety', () => {
  let server: MockServer;
  let dir: string;
  const teacher = scriptedTeacher();

  beforeAll(async () => {
    // The endpoint flags one text under its content policy (Azure's content_filter 400).
    server = await startMockServer({
      handler: (request, i) =>
        JSON.stringify(request.body.messages ?? []).includes('[[flagged]]')
          ? { kind: 'status', status: 400, body: { error: { message: 'The response was filtered due to the prompt triggering content management policy', type: null, code: 'content_filter' } } }
          : teacher(request, i),
    });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-refuse-'));
    const lines = ['ok-1', 'flagged', 'ok-2'].map((id) => JSON.stringify({ id, text: `${PROCEDURE}\n\n${id === 'flagged' ? '[[flagged]]' : ''}` }));
    writeFileSync(join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (out: string, ...extra: string[]) => ['run', '--dedup', 'off', join(dir, 'corpus.jsonl'), '--out', join(dir, out), '--base-url', server.url, '--model', 'm', '--quiet', ...extra];

  it('rejects a flagged text and goes on with the others', async () => {
    const result = await runCli(args('a'));
    expect(result.code).toBe(0);
    const rejected = readLines(join(dir, 'a', 'rejected.jsonl'));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ stage: 'extract', id: 'flagged#0' });
    expect((rejected[0]?.reasons as Array<{ check: string }>)[0]?.check).toBe('llm_content_policy');
    expect(readLines(join(dir, 'a', 'trajectories.jsonl'))).toHaveLength(2);
  });

  it('refuses to resume a run directory with other settings, unless told to', async () => {
    const refused = await runCli(args('a', '--no-refine'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/other settings \(refine differ\)/);
    expect(refused.stderr).toMatch(/--allow-config-change/);
    const allowed = await runCli(args('a', '--no-refine', '--allow-config-change'));
    expect(allowed.code).toBe(0);
  });

  it('refuses a run directory that another live process holds', async () => {
    // A lock held by a live process on this host (pid 1 always exists).
    const { hostname } = await import('node:os');
    const out = join(dir, 'locked');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'run.lock'), JSON.stringify({ pid: 1, host: hostname() }));
    const result = await runCli(args('locked'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/in use by another gemtraj process \(pid 1\)/);
    // A lock left by a dead process is taken over.
    writeFileSync(join(out, 'run.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    expect((await runCli(args('locked'))).code).toBe(0);
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
  });
});

describe('gemtraj run: resume without a cache', () => {
  it('reads finished intermediate records back instead of calling the model again', async () => {
    const server = await startMockServer({ handler: scriptedTeacher() });
    const dir = mkdtempSync(join(tmpdir(), 'gemtraj-nocache-'));
    try {
      const lines = ['a', 'b', 'c'].map((id) => JSON.stringify({ id, text: PROCEDURE }));
      writeFileSync(join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
      const args = ['run', '--dedup', 'off', join(dir, 'corpus.jsonl'), '--out', join(dir, 'run'), '--base-url', server.url, '--model', 'm', '--quiet', '--no-cache'];
      expect((await runCli(args)).code).toBe(0);
      const calls = server.count;
      expect(existsSync(join(dir, 'run', 'cache.sqlite'))).toBe(false);
      // As if the process died before marking its documents done, and before judging one.
      rmSync(join(dir, 'run', 'progress.jsonl'));
      const final = readFileSync(join(dir, 'run', 'trajectories.jsonl'), 'utf8').split('\n').filter(Boolean);
      writeFileSync(join(dir, 'run', 'trajectories.jsonl'), `${final.slice(1).join('\n')}\n`);
      expect((await runCli(args)).code).toBe(0);
      // Only the judge call of the one unfinished trajectory is made again.
      expect(server.count).toBe(calls + 1);
      expect(readLines(join(dir, 'run', 'trajectories.jsonl'))).toHaveLength(3);
      expect(readLines(join(dir, 'run', 'extractions.jsonl'))).toHaveLength(3);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

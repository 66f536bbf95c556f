/**
 * `gemtraj validate` and `gemtraj run` are one engine with the same validate and judge steps:
 * for the same trajectories and the same judge answers they give the same verdicts and
 * warnings, send the judge the same requests (message size limit included), and both honour
 * `validate.*` of the config file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCEDURE, readLines, runCli } from './helpers/cli.js';
import { startMockServer, type MockHandler, type MockRequest, type MockServer } from '../src/testing/mock-server.js';
import { fillSchema, scriptedTeacher, stageOf } from '../src/testing/scripted-teacher.js';

/** The scripted teacher, with a judge that fails the optional rubric R3 on `[[judge-warn]]`. */
function teacher(): MockHandler {
  const base = scriptedTeacher();
  return (request: MockRequest, index: number) => {
    if (stageOf(request) === 'judge') {
      const text = (request.body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
      const fail = new Set<string>();
      if (text.includes('[[judge-warn]]')) fail.add('R3');
      if (text.includes('[[judge-fail]]')) fail.add('R1');
      return { kind: 'text' as const, content: JSON.stringify(fillSchema(request.body.response_format?.json_schema?.schema, fail)) };
    }
    return base(request, index);
  };
}

const judgeBodies = (server: MockServer): string[] =>
  server.requests
    .filter((r) => stageOf(r) === 'judge')
    .map((r) => JSON.stringify(r.body.messages))
    .sort();

describe('validate and run agree', () => {
  let server: MockServer;
  let dir: string;
  const key = 'sk-parity-0123456789';

  beforeAll(async () => {
    server = await startMockServer({ handler: teacher() });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-parity-'));
    process.env.GEMTRAJ_PARITY_KEY = key;
    const doc = (id: string, marker: string) => JSON.stringify({ id, text: `${PROCEDURE}\n\n${marker}`.trim() });
    writeFileSync(join(dir, 'corpus.jsonl'), `${[doc('good', ''), doc('warn', '[[judge-warn]]'), doc('fail', '[[judge-fail]]'), doc('args', '[[bad-args]]')].join('\n')}\n`);
    // R3 is optional here: its failures must be kept as warnings by both commands.
    writeFileSync(join(dir, 'config.yaml'), 'judge_rubrics: [R1, R2, R4]\nvalidate:\n  provenance: warn\n');
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.GEMTRAJ_PARITY_KEY;
  });

  it('same passed trajectories, same judge verdicts and warnings, same rejections, same judge requests', async () => {
    const model = ['--base-url', server.url, '--model', 'teacher', '--api-key-env', 'GEMTRAJ_PARITY_KEY', '--config', join(dir, 'config.yaml')];
    const run = await runCli(['run', '--dedup', 'off', join(dir, 'corpus.jsonl'), '--out', join(dir, 'run'), ...model]);
    expect(run.code).toBe(0);
    const runJudge = judgeBodies(server);
    expect(runJudge.length).toBeGreaterThan(0);
    server.requests.length = 0;

    // The trajectories the run's validate step saw, checked again by `validate`.
    const validated = await runCli(['validate', join(dir, 'run', 'trajectories.refined.jsonl'), '--out', join(dir, 'val'), '--sources', join(dir, 'run', 'segments.jsonl'), ...model]);
    expect(validated.code).toBe(0);
    expect(judgeBodies(server)).toEqual(runJudge);

    const verdicts = (file: string) =>
      readLines(file)
        .map((t) => ({ id: t.id, judge: (t.meta as Record<string, unknown>).judge, warnings: (t.meta as Record<string, unknown>).warnings }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id)));
    const fromRun = verdicts(join(dir, 'run', 'trajectories.jsonl'));
    expect(fromRun.some((t) => String(JSON.stringify(t.warnings)).includes('judge_R3'))).toBe(true);
    expect(verdicts(join(dir, 'val', 'trajectories.jsonl'))).toEqual(fromRun);

    const rejections = (file: string) =>
      readLines(file)
        .filter((r) => r.stage === 'validate' || r.stage === 'judge')
        .map((r) => ({ stage: r.stage, id: r.id, reasons: r.reasons }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id)));
    const runRejections = rejections(join(dir, 'run', 'rejected.jsonl'));
    expect(runRejections.some((r) => r.stage === 'judge')).toBe(true);
    expect(rejections(join(dir, 'val', 'rejected.jsonl'))).toEqual(runRejections);
  });

  it('validate honours validate.* of the config file (its own defaults only apply when unset)', async () => {
    writeFileSync(join(dir, 'strict.yaml'), 'validate:\n  min_messages: 500\n');
    const res = await runCli(['validate', join(dir, 'run', 'trajectories.refined.jsonl'), '--out', join(dir, 'strict'), '--no-judge', '--config', join(dir, 'strict.yaml'), '--json']);
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout) as { passed: number; rejected: number; by_check: Record<string, number> };
    expect(summary.passed).toBe(0);
    expect(summary.by_check.complexity_min_messages ?? summary.by_check.complexity).toBeGreaterThan(0);
    // Unset, validate's own default (0) holds, and the flag beats the file.
    const loose = await runCli(['validate', join(dir, 'run', 'trajectories.refined.jsonl'), '--out', join(dir, 'loose'), '--no-judge', '--config', join(dir, 'strict.yaml'), '--min-messages', '0', '--json']);
    expect((JSON.parse(loose.stdout) as { passed: number }).passed).toBeGreaterThan(0);
  });
});

/**
 * Fault injection: `gemtraj run` against the scripted teacher with 20% of all requests
 * failing in every way an endpoint fails — 429 with and without Retry-After, 500, 503, a hang
 * past the timeout, a reset connection, a truncated body, schema-invalid JSON, an empty
 * completion, `finish_reason: length`. The run must finish (exit 0), account for every input
 * document, never write an id twice, and a rerun must turn every retryable rejection into a
 * final outcome.
 *
 * `--filter llm` sends every segment to the relevance judge, so the filter stage meets faults too.
 * Backoff is not configurable (gateway default: base 1 s, full jitter, see src/llm/options.ts);
 * the 429 fault asks for 150 ms through Retry-After, and `--timeout 1` bounds each hang.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFunnel } from '../src/pipeline/counts.js';
import { runMain, type CliResult } from '../src/testing/cli-harness.js';
import { corpusLines, generateCorpus, type CorpusOptions } from '../src/testing/corpus.js';
import { ALL_FAULT_KINDS, faultMix, startMockServer, type FaultyHandler, type MockServer } from '../src/testing/mock-server.js';
import { documentOutcomes, duplicateProblems, type DocumentOutcome, readRunFiles, unaccounted } from '../src/testing/run-files.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const CORPUS: CorpusOptions = {
  count: 30,
  seed: 11,
  markers: { '[[drop]]': 0.1, '[[judge-fail]]': 0.07, '[[bad-args]]': 0.07, '[[malformed]]': 0.05 },
};
const DOC_IDS = [...generateCorpus(CORPUS)].map((d) => d.id);

describe('gemtraj run under injected endpoint faults', () => {
  let server: MockServer;
  let faults: FaultyHandler;
  let dir: string;
  let corpus: string;

  const args = (out: string, retries: number): string[] => [
    'run', '--dedup', 'off', corpus, '--out', out, '--base-url', server.url, '--model', 'teacher',
    '--filter', 'llm', '--concurrency', '8', '--timeout', '1', '--max-retries', String(retries), '--quiet',
  ];

  beforeAll(async () => {
    faults = faultMix({ rate: 0.2, seed: 20260601, kinds: ALL_FAULT_KINDS, retryAfterMs: 150 }, scriptedTeacher());
    server = await startMockServer({ handler: faults, latencyMs: 5, recordRequests: false });
    dir = mkdtempSync(join(tmpdir(), 'gemtraj-faults-'));
    corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, `${corpusLines(CORPUS).join('\n')}\n`);
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function expectClean(out: string): Promise<void> {
    const files = readRunFiles(out);
    expect(duplicateProblems(files)).toEqual([]);
    const outcomes = documentOutcomes(files, DOC_IDS);
    expect(unaccounted(outcomes)).toEqual([]);
    const funnel = await computeFunnel(out);
    expect(funnel.balanced).toBe(true);
    expect(funnel.documents + funnel.input_rejected).toBe(DOC_IDS.length);
  }

  /**
   * Documents without a marker end in the dataset: transport faults are retried and content
   * faults re-asked. The one fair exception is the `length` fault: an answer cut off at the
   * token limit is not re-asked (it would be cut off again) — the record is rejected
   * (`<stage>_truncated`, or `judge_unparseable` with the finish_reason in the message), or,
   * at the relevance judge, the segment is dropped with `by: "error"` and the reason.
   * Three content faults in a row (an answer and both re-asks schema-invalid or empty) are a
   * fair rejection too: rare, but under concurrency which request draws which fault depends
   * on arrival order, so it does happen. The last answer then shows the injected fault.
   * Marked documents end where their marker sends them.
   */
  function expectOutcomesByMarker(out: string): void {
    const outcomes = documentOutcomes(readRunFiles(out), DOC_IDS);
    const markers = new Map([...generateCorpus(CORPUS)].map((d) => [d.id, d.marker]));
    const CUT_OFF = /finish_reason "length"|cut off/;
    // What an injected content fault leaves in the last answer's error: the schema_invalid
    // payload (its marker key) or an empty completion.
    const CONTENT_FAULT = /__mock_fault|the answer is empty/;
    const truncated = (o: DocumentOutcome) =>
      o.rejected.some((r) => r.checks.some((c) => c.endsWith('_truncated')) || r.messages.some((m) => CUT_OFF.test(m) || CONTENT_FAULT.test(m))) ||
      o.dropped.some((d) => d.by === 'error' && (CUT_OFF.test(d.reason ?? '') || CONTENT_FAULT.test(d.reason ?? '')));
    for (const [id, o] of outcomes) {
      const marker = markers.get(id);
      const what = `${id} (${marker ?? 'no marker'}): ${JSON.stringify(o.rejected)}`;
      if (marker === '[[drop]]') expect(o.dropped.length, what).toBeGreaterThan(0);
      else if (marker === undefined) expect(o.passed.length > 0 || truncated(o), `${what} ${JSON.stringify(o.dropped)}`).toBe(true);
      else expect(o.rejected.length, what).toBeGreaterThan(0);
    }
  }

  it('finishes with exit 0 and accounts for every document, with retries that recover', async () => {
    const out = join(dir, 'patient');
    const result: CliResult = await runMain(args(out, 8));
    expect(result.stderr).not.toMatch(/^gemtraj: /m);
    expect(result.code).toBe(0);
    // Every kind of fault was actually injected.
    for (const kind of ALL_FAULT_KINDS) expect(faults.injected[kind], `fault ${kind}`).toBeGreaterThan(0);
    await expectClean(out);

    const files = readRunFiles(out);
    const outcomes = documentOutcomes(files, DOC_IDS);
    const funnel = await computeFunnel(out);
    // Eight retries outlast a 20% fault rate: nothing is left for a rerun, every document is done.
    expect(funnel.retryable).toBe(0);
    expect(files.progress.map((r) => r.id).sort()).toEqual([...DOC_IDS].sort());
    expectOutcomesByMarker(out);
  }, 60_000);

  it('rejects exhausted requests as retryable, and a rerun turns each into a final outcome', async () => {
    const out = join(dir, 'impatient');
    // No retries: every transport fault becomes a retryable rejection at once.
    const first = await runMain(args(out, 0));
    // Records left to retry: the run is incomplete (exit 4), said in one message.
    expect(first.stderr.match(/^gemtraj: .*/gm)).toEqual([expect.stringMatching(/^gemtraj: incomplete: \d+ record\(s\)/)]);
    expect(first.code).toBe(4);
    const before = await computeFunnel(out);
    expect(before.retryable).toBeGreaterThan(0);
    expect(before.balanced).toBe(true);
    let files = readRunFiles(out);
    expect(duplicateProblems(files)).toEqual([]);
    expect(unaccounted(documentOutcomes(files, DOC_IDS))).toEqual([]);
    const retryable = files.rejected.filter((r) => r.retryable === true);
    expect(retryable.every((r) => r.reasons?.[0]?.check === 'llm_unavailable')).toBe(true);
    // A document with a retryable rejection is not marked done.
    const done = new Set(files.progress.map((r) => String(r.id)));
    for (const r of retryable) expect(done.has(String(r.source?.doc_id))).toBe(false);

    // Rerun the same command (faults still on) with retries allowed, until nothing is retryable.
    let runs = 0;
    for (; runs < 3; runs++) {
      const again = await runMain(args(out, 8));
      expect(again.code).toBe(0);
      if ((await computeFunnel(out)).retryable === 0) break;
    }
    expect(runs).toBeLessThan(3);
    await expectClean(out);
    files = readRunFiles(out);
    expect(files.rejected.filter((r) => r.retryable === true)).toEqual([]);
    expect(files.progress.map((r) => r.id).sort()).toEqual([...DOC_IDS].sort());
    expectOutcomesByMarker(out);
  }, 60_000);
});

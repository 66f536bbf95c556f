/**
 * The progress display with a fake clock: the ETA of a pipeline that takes a while to fill is
 * right (it was several times too long when measured from the start), resumed documents do not
 * count as speed, rates sit next to their limits, failures and 429s show, cost is projected,
 * and an unpriced model says so instead of $0.
 */
import { expectedDocuments } from '../src/pipeline/session.js';
import { describe, expect, it } from 'vitest';
import { bar, IN_FLIGHT_TICK, Progress, RESUMED_TICK, type ProgressSnapshot } from '../src/pipeline/progress.js';

function setup(total: number, snap: Partial<ProgressSnapshot> = {}) {
  let now = 1_000_000;
  const live: ProgressSnapshot = { tokens: 0, costUsd: 0, calls: 0, cachedCalls: 0, ...snap };
  const progress = new Progress({ total, quiet: true, snapshot: () => live, now: () => now, finalStep: 'judge', limits: { rpm: 3000, tpm: 2_000_000 } });
  return { progress, live, advance: (ms: number) => (now += ms) };
}

describe('progress', () => {
  it('gives the right ETA for a pipeline that fills for 10 s and then finishes one document a second', () => {
    const { progress, advance } = setup(100);
    advance(10_000); // the first document takes the whole pipeline depth
    progress.tick('documents');
    for (let i = 0; i < 20; i++) {
      advance(1000);
      progress.rates(); // the display samples as it draws
      progress.tick('documents');
    }
    // 21 done at t=30 s, 79 left at 1/s: 79 s. Measured from the start it would say 113 s.
    expect(progress.etaSeconds()).toBeCloseTo(79, 0);
    expect(progress.lines()[0]).toMatch(/21%\s+21\/100 documents\s+ETA 1m19s/);
  });

  it('does not count documents skipped on resume as speed', () => {
    const { progress, advance } = setup(100);
    for (let i = 0; i < 50; i++) {
      progress.tick(RESUMED_TICK);
      progress.tick('documents');
    }
    advance(5000);
    progress.tick('documents');
    for (let i = 0; i < 10; i++) {
      advance(2000);
      progress.rates();
      progress.tick('documents');
    }
    // 61 done, 39 left at 0.5/s.
    expect(progress.etaSeconds()).toBeCloseTo(78, 0);
  });

  it('leaves offline batches\' answers (paid, but no request) out of the request and token rates', () => {
    const { progress, live, advance } = setup(10);
    progress.tick('documents');
    advance(1000);
    progress.rates();
    advance(59_000);
    // 600 paid calls in the minute, 400 of them answers imported from an offline batch.
    Object.assign(live, { calls: 600, tokens: 1_200_000, offlineCalls: 400, offlineTokens: 800_000 });
    const rates = progress.rates();
    expect(rates?.calls).toBeCloseTo(200 / 60, 6);
    expect(rates?.tokens).toBeCloseTo(400_000 / 60, 3);
    expect(progress.lines().join('\n')).toMatch(/requests 200\/min/);
  });

  it('shows rates against limits, retries, 429s, failures, passed and rejected, and projects the cost', () => {
    const { progress, live, advance } = setup(10, { inFlight: 12, limit: 16, queued: 3 });
    progress.tick('documents');
    Object.assign(live, { calls: 0, tokens: 0 });
    advance(1000);
    progress.rates();
    advance(59_000);
    Object.assign(live, { calls: 600, tokens: 1_200_000, costUsd: 1.5, retries: 7, rateLimited: 2, failedCalls: 1 });
    for (let i = 0; i < 4; i++) progress.tick('documents');
    progress.tick('judge', 3);
    progress.tick('rejected', 2);
    progress.tick('extract', 5);
    const lines = progress.lines();
    expect(lines[1]).toMatch(/^requests 6\d\d\/min \(limit 3.0k\)\s+tokens 1\.2M\/min \(limit 2\.0M\)\s+in flight 12\/16 \(3 queued\)/);
    expect(lines[2]).toBe('calls 600 paid + 0 cached  retries 7  429s 2  failed 1');
    expect(lines[3]).toBe('passed 3  rejected 2  |  extract 5');
    // $1.50 for 5 documents: 5 more cost about $1.50 again.
    expect(lines[4]).toBe('cost $1.5000 so far, ~$3.00 projected');
  });

  it('brackets the projected cost while documents are in flight (their calls are in the cost so far)', () => {
    const { progress, live } = setup(100, { calls: 30, costUsd: 1.5 });
    // 5 finished, 10 in flight: charged to the 5 alone $0.30 a document, spread over 15 $0.10.
    for (let i = 0; i < 5; i++) progress.tick('documents');
    progress.tick(IN_FLIGHT_TICK, 10);
    expect(progress.lines().at(-1)).toBe('cost $1.5000 so far, ~$10.00–$30.00 projected');
    // A batch wave: nothing finished yet, 20 documents waiting on answers: a floor only.
    const wave = setup(100, { calls: 20, costUsd: 0.5 });
    wave.progress.tick(IN_FLIGHT_TICK, 20);
    expect(wave.progress.lines().at(-1)).toBe('cost $0.5000 so far, ≥ ~$2.50 projected');
    // Nothing in flight any more: one figure again, and the in-flight count is no step.
    progress.tick(IN_FLIGHT_TICK, -10);
    live.costUsd = 1.5;
    expect(progress.lines().at(-1)).toBe('cost $1.5000 so far, ~$30.00 projected');
    expect(progress.lines().join('\n')).not.toMatch(/in-flight/);
  });

  it('says unpriced instead of $0 when no call had a price', () => {
    const { progress } = setup(10, { calls: 4, unpricedCalls: 4 });
    expect(progress.lines().at(-1)).toMatch(/^cost unpriced/);
  });

  it('fits the live block to a narrow terminal and clears every row it drew, after a resize too', () => {
    let now = 1_000_000;
    const written: string[] = [];
    const stream = { isTTY: true, columns: 40, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream;
    const live: ProgressSnapshot = { tokens: 0, costUsd: 0, calls: 3, cachedCalls: 0 };
    const progress = new Progress({ total: 10, quiet: false, stream, snapshot: () => live, now: () => now, finalStep: 'judge' });
    for (const step of ['segment', 'filter', 'extract', 'generate', 'refine', 'validate', 'judge']) progress.tick(step, 3);
    progress.log('first');
    now += 1000;
    progress.stop();
    const block = written.at(-1) as string;
    const lines = block.split('\n').filter(Boolean);
    expect(lines.length).toBe(progress.lines().length);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(39);
    // The step counts' line is wider than 39: cut, with an ellipsis.
    expect(lines.some((line) => line.endsWith('…'))).toBe(true);
    // Each line took one row: the next clear goes up exactly as many.
    progress.log('second');
    expect(written.at(-2)).toBe(`\x1b[${lines.length}A\x1b[0J`);
    // Narrowed to 20 columns: a 39-character line now takes 2 rows.
    now += 1000;
    progress.stop();
    (stream as { columns: number }).columns = 20;
    const drawn = (written.at(-1) as string).split('\n').filter(Boolean).map((line) => [...line].length);
    progress.log('third');
    expect(written.at(-2)).toBe(`\x1b[${drawn.reduce((n, chars) => n + Math.max(1, Math.ceil(chars / 20)), 0)}A\x1b[0J`);
  });

  it('draws a bar', () => {
    expect(bar(0.5, 10)).toBe('[█████░░░░░]');
    expect(bar(2, 4)).toBe('[████]');
  });
});

describe('the documents a session expects, for the bar', () => {
  it('is the input count cut to a shard share and to --max-docs', () => {
    expect(expectedDocuments(10, undefined, undefined)).toBe(10);
    expect(expectedDocuments(10, undefined, 3)).toBe(3);
    expect(expectedDocuments(2, undefined, 3)).toBe(2);
    expect(expectedDocuments(1000, { count: 4 }, undefined)).toBe(250);
    expect(expectedDocuments(1000, { count: 4 }, 100)).toBe(100);
    expect(expectedDocuments(undefined, { count: 4 }, 100)).toBeUndefined();
  });
});

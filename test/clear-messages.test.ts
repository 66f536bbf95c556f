/**
 * Clear messages instead of raw errors: a missing input leaves nothing behind in --out (no
 * run.lock, no empty cache.sqlite); a read-only output folder says so, for every command that
 * writes one (checked on a read-only tmpfs where one can be mounted, since root ignores file
 * permissions).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';

const work = mkdtempSync(join(tmpdir(), 'gemtraj-messages-'));
const ro = join(work, 'ro');
mkdirSync(ro);
function mountReadOnly(): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const RO = process.platform === 'linux' && mountReadOnly();
afterAll(() => {
  if (RO) execFileSync('umount', [ro]);
  rmSync(work, { recursive: true, force: true });
});

const args = (input: string, out: string) => ['run', input, '--out', out, '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm'];

describe('messages', () => {
  it('a missing input leaves no run.lock or cache.sqlite behind', async () => {
    const out = join(work, 'out');
    const result = await runMain(args(join(work, 'missing.jsonl'), out));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing\.jsonl: no such file or folder/);
    expect(existsSync(out)).toBe(false);
  });

  it.skipIf(!RO)('a read-only output folder says so', async () => {
    const input = join(work, 'c.jsonl');
    writeFileSync(input, '{"id":"a","text":"hello"}\n');
    const result = await runMain(args(input, join(ro, 'run')));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/cannot write \S+: .*read-only or not writable/);
  });

  it.skipIf(!RO)('export, dedup and split into a read-only folder say so too (not ENOENT mkdir or EROFS open)', async () => {
    const trajectories = join(work, 't.jsonl');
    writeFileSync(trajectories, `${JSON.stringify(makeValidTrajectory())}\n`);
    const corpus = join(work, 'd.jsonl');
    writeFileSync(corpus, '{"id":"a","text":"Open the settings page and press Save."}\n');
    const runs = [
      ['export', trajectories, '--format', 'openai', '--out', join(ro, 'sub', 'x.jsonl')],
      ['export', trajectories, '--format', 'openai', '--parquet', '--out', join(ro, 'x.parquet')],
      ['dedup', corpus, '--out', join(ro, 'dedup')],
      ['split', trajectories, '--test', '1', '--out', join(ro, 'split')],
    ];
    for (const args of runs) {
      const result = await runMain(args);
      expect(result.code, args.join(' ')).toBe(1); // README: a disk problem is 1, bad input 2
      expect(result.stderr, args.join(' ')).toMatch(/cannot write \S+: .*(read-only or not writable)/);
      expect(result.stderr, args.join(' ')).not.toMatch(/ENOENT: no such file|EROFS: read-only file system, open/);
    }
  });
});

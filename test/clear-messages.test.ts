/**
 * Clear messages instead of raw errors: a missing input leaves nothing behind in --out (no
 * run.lock, no empty cache.sqlite); a read-only output folder says so (checked on a read-only
 * tmpfs where one can be mounted, since root ignores file permissions).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';

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
});

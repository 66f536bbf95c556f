/**
 * A session that died without recording how it ended (SIGKILL, or a full disk that refused the
 * last write of run.json) leaves `status: running`. Reports, stats and merge must not show a
 * dead run as running: with no live holder of the directory's lock it is `interrupted`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSettledRunJson, RUN_FILES } from '../src/pipeline/run-dir.js';
import { analyzeRun } from '../src/report/run-analysis.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A run directory whose run.json was last written by the heartbeat of a running session. */
function leftRunning(lock?: { pid: number; host: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-status-'));
  dirs.push(dir);
  const session = { started_at: '2026-12-01T06:00:00.000Z', duration_s: 30, status: 'running', documents_seen: 0, documents_skipped: 0 };
  const earlier = { ...session, status: 'stopped', stop_reason: 'an earlier session', finished_at: '2026-12-01T05:00:00.000Z' };
  writeFileSync(join(dir, RUN_FILES.runJson), JSON.stringify({ command: 'run', status: 'running', sessions: [earlier, session] }));
  writeFileSync(join(dir, RUN_FILES.final), '');
  if (lock !== undefined) writeFileSync(join(dir, RUN_FILES.lock), JSON.stringify(lock));
  return dir;
}

/** A pid that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('run.json left at running', () => {
  it('is shown as interrupted, saying why, when nobody holds the lock or its holder is dead', async () => {
    for (const dir of [leftRunning(), leftRunning({ pid: deadPid(), host: hostname() })]) {
      const settled = readSettledRunJson(dir);
      expect(settled?.status).toBe('interrupted');
      expect(settled?.stop_reason).toMatch(/ended without recording how.*rerun the same command/);
      expect(settled?.sessions?.map((s) => s.status)).toEqual(['stopped', 'interrupted']);
      expect((await analyzeRun(dir)).runJson?.status).toBe('interrupted');
    }
  });

  it('stays running while a live process on this host holds the lock, or a process on another host does', () => {
    expect(readSettledRunJson(leftRunning({ pid: process.pid, host: hostname() }))?.status).toBe('running');
    expect(readSettledRunJson(leftRunning({ pid: deadPid(), host: 'another-host.example' }))?.status).toBe('running');
  });
});

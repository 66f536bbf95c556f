/**
 * The stale-lock takeover race, made deterministic: while this process reads the stale
 * run.lock (of a dead pid), a competing process takes the directory over — it removes the
 * stale lock and writes its own. This process must then find the live holder and refuse,
 * never remove the fresh lock and take the directory too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as realFs from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const race = vi.hoisted(() => ({ onRead: undefined as undefined | ((file: string) => void) }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((file: realFs.PathOrFileDescriptor, ...rest: unknown[]) => {
    const value = (fs.readFileSync as (...a: unknown[]) => unknown)(file, ...rest);
    const hook = race.onRead;
    if (hook !== undefined && typeof file === 'string') hook(file);
    return value;
  }) as typeof fs.readFileSync;
  return { ...fs, readFileSync, default: { ...fs, readFileSync } };
});

const { RunDirectory } = await import('../src/pipeline/run-dir.js');

const work = realFs.mkdtempSync(join(tmpdir(), 'gemtraj-takeover-'));
let holder: ChildProcess | undefined;
afterAll(() => {
  holder?.kill();
  realFs.rmSync(work, { recursive: true, force: true });
});

describe('stale run.lock takeover', () => {
  it('refuses when another process took the stale lock over meanwhile', async () => {
    const dir = join(work, 'run');
    realFs.mkdirSync(dir);
    const lock = join(dir, 'run.lock');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    realFs.writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname() }));
    // The competitor: a live process whose lock replaces the stale one during our first read.
    holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const fresh = JSON.stringify({ pid: holder.pid, host: hostname() });
    race.onRead = (file) => {
      if (file !== lock) return;
      race.onRead = undefined;
      realFs.rmSync(lock);
      realFs.writeFileSync(lock, fresh, { flag: 'wx' });
    };
    const d = new RunDirectory(dir);
    await expect(d.open()).rejects.toThrow(/in use by another gemtraj process/);
    expect(realFs.readFileSync(lock, 'utf8')).toBe(fresh);
    expect(realFs.readdirSync(dir)).toEqual(['run.lock']);
  });
});

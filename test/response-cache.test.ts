/**
 * The response cache's offline answers (`batch import`): each is claimed once, by whichever
 * process uses it first, and caches made by older versions (without the table) still open,
 * read-only ones included.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseCache } from '../src/llm/cache.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-cache-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const answer = { text: 'ok', finishReason: 'stop', usage: { prompt_tokens: 10, completion_tokens: 2 }, model: 'm' };

describe('ResponseCache offline answers', () => {
  it('claims an imported answer once across processes sharing the file; live answers are never claimed', () => {
    const file = join(dir, 'shared.sqlite');
    const importer = new ResponseCache(file);
    importer.put('live', answer);
    importer.putOffline('k1', answer);
    importer.putOffline('k2', answer);
    expect(importer.offlineUncounted()).toBe(2);
    importer.close();

    const a = new ResponseCache(file);
    const b = new ResponseCache(file);
    expect(a.get('k1')?.text).toBe('ok');
    expect(a.claimOffline('live')).toBe(false);
    expect(a.claimOffline('k1')).toBe(true);
    expect(b.claimOffline('k1')).toBe(false);
    expect(a.claimOffline('k1')).toBe(false);
    expect(b.claimOffline('k2')).toBe(true);
    expect(a.offlineUncounted()).toBe(0);
    a.close();
    b.close();
  });

  it('opens a read-only cache made by an older version (no offline table) and reads its answers', () => {
    const folder = join(dir, 'old');
    const file = join(folder, 'cache.sqlite');
    rmSync(folder, { recursive: true, force: true });
    // The schema of versions before the offline table.
    mkdirSync(folder, { recursive: true });
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(`CREATE TABLE responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, text TEXT NOT NULL, finish_reason TEXT NOT NULL,
      prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, tool_calls TEXT, created_at INTEGER NOT NULL)`);
    old.prepare('INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('k', 'm', 'old answer', 'stop', 1, 1, null, 0);
    old.close();
    chmodSync(dir, 0o755);
    chmodSync(folder, 0o777);
    chmodSync(file, 0o444);
    // Root may write any file: the check then runs as nobody, in a child process.
    const root = process.getuid?.() === 0;
    if (!root) {
      const cache = new ResponseCache(file);
      expect(cache.get('k')?.text).toBe('old answer');
      expect(cache.claimOffline('k')).toBe(false);
      cache.close();
      return;
    }
    const moduleUrl = pathToFileURL(join(process.cwd(), 'dist', 'llm', 'cache.js')).href;
    const script = `const { ResponseCache } = await import(${JSON.stringify(moduleUrl)});
      const cache = new ResponseCache(${JSON.stringify(file)});
      process.stdout.write(JSON.stringify({ text: cache.get('k')?.text, claimed: cache.claimOffline('k'), uncounted: cache.offlineUncounted() }));
      cache.close();`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ text: 'old answer', claimed: false, uncounted: 0 });
  });
});

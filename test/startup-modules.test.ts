/**
 * What every command pays before it does anything: the packages only some inputs, configs or
 * exports need (Parquet's reader and writer, YAML) are loaded on first use, not at start-up
 * (~75 + ~55 + ~85 modules; `gemtraj --version` 400 → 333 ms of CPU).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../src/testing/cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'gemtraj-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the built CLI with a resolve hook that lists every module it loads (one URL per line on stderr). */
function loadedModules(args: string[], cwd = dir): Promise<{ code: number; modules: string[]; stderr: string }> {
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  process.stderr.write('loaded ' + r.url + '\\n');
  return r;
}
`);
  const register = join(dir, 'register.mjs');
  // Resolve hooks see ESM imports; a package loaded with require (createRequire) goes through Module._load.
  writeFileSync(
    register,
    `import Module, { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try {
    process.stderr.write('loaded ' + Module._resolveFilename(request, parent, isMain) + '\\n');
  } catch {}
  return load.apply(this, arguments);
};
`,
  );
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', pathToFileURL(register).href, builtCli(), ...args], { cwd, env: { ...process.env, OPENAI_API_KEY: '' } }, (error, _stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      const lines = stderr.split('\n');
      resolve({ code, stderr: lines.filter((l) => !l.startsWith('loaded ')).join('\n'), modules: lines.filter((l) => l.startsWith('loaded ')).map((l) => l.slice(7)) });
    });
  });
}

const optional = /\/node_modules\/(hyparquet|hyparquet-writer|hyparquet-compressors|yaml)\//;

describe('start-up', () => {
  beforeAll(() => {
    if (!existsSync(builtCli())) throw new Error('run `npm run build` first: this test spawns dist/cli/main.js');
  });

  it('loads neither Parquet nor YAML for a command that needs neither', async () => {
    const { code, modules } = await loadedModules(['--version']);
    expect(code).toBe(0);
    // The hook saw the CLI's own modules (so an empty list cannot pass by accident).
    expect(modules.some((m) => m.endsWith('/dist/pipeline/session.js'))).toBe(true);
    expect(modules.filter((m) => optional.test(m))).toEqual([]);
  }, 30_000);

  it('loads YAML when a YAML config is given, and reads it', async () => {
    const config = join(dir, 'gemtraj.yaml');
    writeFileSync(config, 'concurrency: 0\n');
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, '{"id":"a","text":"To reset a password, open the account page."}\n');
    const { code, modules, stderr } = await loadedModules(['run', corpus, '--out', join(dir, 'out'), '--config', config, '--base-url', 'http://127.0.0.1:9/v1']);
    // The setting came from the file: refused with the file's name.
    expect(code).toBe(2);
    expect(stderr).toContain('gemtraj.yaml');
    expect(stderr).toContain('concurrency');
    expect(modules.some((m) => /\/node_modules\/yaml\//.test(m))).toBe(true);
    expect(modules.some((m) => /hyparquet/.test(m))).toBe(false);
  }, 30_000);
});

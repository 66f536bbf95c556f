/**
 * gemtraj as a dependency: the tarball `npm pack` makes is unpacked into a scratch project's
 * node_modules (its runtime dependencies linked from this repository's, nothing installed, no
 * network) and used from there — the README's `run()` example runs against the scripted mock
 * teacher on 127.0.0.1, a strict NodeNext TypeScript consumer typechecks against the shipped
 * declarations (and a wrong call does not), and the README's custom-step example compiles and
 * runs. Needs `npm run build` first (the test command does it).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockServer, type MockServer } from '../src/testing/mock-server.js';
import { scriptedTeacher } from '../src/testing/scripted-teacher.js';

const ROOT = process.cwd();
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TIMEOUT = 120_000;

/** Exit code and output of a child process; never throws for a non-zero exit. */
function runChild(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Async: the mock server in this process must keep answering while the child runs.
    execFile(file, args, { cwd, env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The first ```lang block of the README's Library section: the examples are tested as written. */
function readmeExample(lang: 'js' | 'ts'): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library\n');
  expect(start, 'README has a "## Library" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  expect(match, `README's Library section has a \`\`\`${lang} example`).not.toBeNull();
  return (match as RegExpExecArray)[1] as string;
}

/** Replaces one literal the test must point elsewhere; fails when the README no longer has it. */
function swap(code: string, from: string, to: string): string {
  expect(code, `README example contains ${from}`).toContain(from);
  return code.split(from).join(to);
}

/**
 * Links the packages gemtraj needs at run time (its `dependencies`, transitively) and the
 * consumer's own `@types/node` from this repository's node_modules: a package gemtraj imports
 * without declaring it is then missing, as it would be for a real user.
 */
function linkDependencies(consumerModules: string): string[] {
  const repoModules = join(ROOT, 'node_modules');
  const manifest = (dir: string): Record<string, Record<string, string> | undefined> =>
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const queue = [...Object.keys(manifest(ROOT).dependencies ?? {}), '@types/node'];
  const linked = new Set<string>();
  while (queue.length > 0) {
    const name = queue.shift() as string;
    const source = join(repoModules, name);
    // Absent at the top level: an optional dependency for another platform, or nested in its parent.
    if (linked.has(name) || !existsSync(source)) continue;
    linked.add(name);
    const target = join(consumerModules, name);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(source, target, 'dir');
    const m = manifest(source);
    queue.push(...Object.keys({ ...m.dependencies, ...m.optionalDependencies, ...m.peerDependencies }));
  }
  return [...linked];
}

describe('gemtraj as a dependency (packed tarball)', () => {
  let tmp: string;
  let consumer: string;
  let tarEntries: string[];
  let server: MockServer;
  /** The environment of consumer processes: no endpoint or key settings from the host. */
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    expect(existsSync(join(ROOT, 'dist', 'index.js')), 'run `npm run build` before the tests').toBe(true);
    tmp = mkdtempSync(join(tmpdir(), 'gemtraj-lib-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
      }),
    ) as Array<{ filename: string }>;
    const tarball = join(tmp, (packed[0] as { filename: string }).filename);
    tarEntries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    consumer = join(tmp, 'consumer');
    const installed = join(consumer, 'node_modules', 'gemtraj');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
    linkDependencies(join(consumer, 'node_modules'));
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
    // Two procedural documents and a story the local filter drops.
    const lines = readFileSync(join(ROOT, 'examples', 'corpus.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 3);
    writeFileSync(join(consumer, 'corpus.jsonl'), `${lines.join('\n')}\n`);
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OPENAI_|GEMTRAJ_)/.test(k)));
    server = await startMockServer({ handler: scriptedTeacher() });
  }, TIMEOUT);

  afterAll(async () => {
    await server?.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('ships the build, its declarations, docs, examples and README, and no sources or tests', () => {
    const files = tarEntries.map((e) => e.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/api.js', 'dist/api.d.ts', 'dist/cli/main.js', 'examples/corpus.jsonl']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('docs/') && f.endsWith('.md'))).toBe(true);
    expect(files.filter((f) => /^(src|test|bench)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules', 'gemtraj', 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; import: string }>;
      dependencies?: Record<string, string>;
    };
    for (const target of Object.values(manifest.exports['.'] ?? {})) expect(files).toContain(target.replace(/^\.\//, ''));
    // Declarations import only declared dependencies: a consumer has nothing else installed.
    const declared = new Set(Object.keys(manifest.dependencies ?? {}));
    const installed = join(consumer, 'node_modules', 'gemtraj');
    const imported = new Set<string>();
    for (const f of files.filter((f) => f.endsWith('.d.ts'))) {
      for (const m of readFileSync(join(installed, f), 'utf8').matchAll(/(?:from|import\()\s*['"]([^'"./][^'"]*)['"]/g)) {
        const spec = m[1] as string;
        if (!spec.startsWith('node:') && spec !== 'gemtraj') imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
      }
    }
    expect([...imported].filter((p) => !declared.has(p))).toEqual([]);
  });

  it(
    "runs the README's run() example from the installed package; it resolves to run.json's counts",
    async () => {
      const out = join(consumer, 'runs', 'example');
      let script = readmeExample('js');
      script = swap(script, "'node_modules/gemtraj/examples/corpus.jsonl'", JSON.stringify(join(consumer, 'corpus.jsonl')));
      script = swap(script, "'runs/example'", JSON.stringify(out));
      script = swap(script, "'http://127.0.0.1:8000/v1'", JSON.stringify(server.url));
      script += '\nconsole.log(JSON.stringify({ counts: result.counts, status: result.status, files: result.files }));\n';
      writeFileSync(join(consumer, 'example.mjs'), script);

      const child = await runChild(process.execPath, ['example.mjs'], consumer, env);
      expect(child.stderr).toBe('');
      expect(child.code).toBe(0);
      const lines = child.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^finished 2 trajectories in .*trajectories\.jsonl$/);
      const result = JSON.parse(lines.at(-1) as string) as { counts: Record<string, unknown>; status: string; files: Record<string, string> };
      const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { counts: Record<string, unknown>; status: string };
      expect(result.counts).toEqual(runJson.counts);
      expect(result.status).toBe(runJson.status);
      expect(result.status).toBe('finished');
      expect(result.counts.passed).toBeGreaterThan(0);
      expect(result.counts).toMatchObject({ documents: 3, kept: 2, dropped: 1, passed: 2, balanced: true });
      expect(result.files.final).toBe(join(out, 'trajectories.jsonl'));
      expect(readFileSync(result.files.final as string, 'utf8').trim().split('\n')).toHaveLength(2);
    },
    TIMEOUT,
  );

  it(
    "typechecks a strict NodeNext consumer against the declarations and runs the README's custom-step example",
    async () => {
      writeFileSync(
        join(consumer, 'check.ts'),
        `import { run, type ChatRequest, type ChatResponse, type ModelBackend, type RunOptions, type RunResult, type SendOptions, type Step, type Trajectory } from 'gemtraj';

/** A backend of one's own: echoes the last message. */
class EchoBackend implements ModelBackend {
  async send(request: ChatRequest, options?: SendOptions): Promise<ChatResponse> {
    options?.signal?.throwIfAborted();
    return { text: request.messages.at(-1)?.content ?? '', finishReason: 'stop' };
  }
}

const options: RunOptions = {
  input: 'corpus.jsonl',
  out: 'runs/typed',
  mode: 'filter',
  config: { model: 'm', concurrency: 4, filter: { mode: 'local' } },
  backend: new EchoBackend(),
};

export const keepLong: Step<Trajectory, Trajectory> = {
  name: 'keep_long',
  input: 'trajectory',
  output: 'trajectory',
  keyOf: (t) => t.id,
  sourceOf: (t) => t.source,
  run: (t) => (t.messages.length >= 4 ? { kind: 'out', records: [t] } : { kind: 'reject', reasons: [{ check: 'too_short', message: 'fewer than 4 messages' }] }),
};

export async function passed(): Promise<number> {
  const result: RunResult = await run(options);
  const final: string | undefined = result.files.final;
  return final === undefined || result.status !== 'finished' ? 0 : result.counts.passed;
}
`,
      );
      let compose = readmeExample('ts');
      compose = swap(compose, 'MIN_CALLS = 3', 'MIN_CALLS = 5'); // the scripted teacher's trajectories make 4 calls
      compose = swap(compose, "'http://127.0.0.1:8000/v1'", JSON.stringify(server.url));
      compose = swap(compose, "'runs/custom'", JSON.stringify(join(consumer, 'runs', 'custom')));
      compose = swap(compose, "'corpus.jsonl'", JSON.stringify(join(consumer, 'corpus.jsonl')));
      writeFileSync(join(consumer, 'compose.ts'), compose);
      const compilerOptions = {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        // As most projects: @huggingface/jinja's own declarations do not pass NodeNext checks.
        skipLibCheck: true,
        outDir: 'build',
      };
      writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts', 'compose.ts'] }, null, 2));
      const tsc = await runChild(process.execPath, [TSC, '-p', consumer], consumer, env);
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.code).toBe(0);

      const child = await runChild(process.execPath, [join('build', 'compose.js')], consumer, env);
      expect(child.stderr).toBe('');
      expect(child.code).toBe(0);
      expect(child.stdout.trim()).toBe('3 documents, finished');
      const rejected = readFileSync(join(consumer, 'runs', 'custom', 'rejected.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; reasons: Array<{ check: string; message: string }> });
      expect(rejected).toHaveLength(2);
      for (const r of rejected) {
        expect(r.stage).toBe('min_tool_calls');
        expect(r.reasons[0]?.message).toBe('4 tool calls, fewer than 5');
      }
      expect(readdirSync(join(consumer, 'runs', 'custom'))).not.toContain('trajectories.jsonl');
    },
    TIMEOUT,
  );

  it(
    'rejects a wrong call at compile time: the declarations carry real types',
    async () => {
      const wrong = join(consumer, 'wrong');
      mkdirSync(wrong, { recursive: true });
      writeFileSync(
        join(wrong, 'wrong.ts'),
        `import { run } from 'gemtraj';
await run({ input: 1, out: 'runs/x' });
await run({ input: 'corpus.jsonl', out: 'runs/x', config: { base_url: ['http://127.0.0.1:8000/v1'] } });
`,
      );
      const compilerOptions = { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], skipLibCheck: true, noEmit: true };
      writeFileSync(join(wrong, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['wrong.ts'] }, null, 2));
      const tsc = await runChild(process.execPath, [TSC, '-p', wrong], wrong, env);
      expect(tsc.code).not.toBe(0);
      expect(tsc.stdout).not.toMatch(/Cannot find module|TS2307/);
      expect(tsc.stdout).toMatch(/wrong\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
      // Settings are typed: a misspelt key is caught before the run.
      expect(tsc.stdout).toMatch(/wrong\.ts\(3,\d+\): error TS\d+: .*'base_url' does not exist/);
    },
    TIMEOUT,
  );
});

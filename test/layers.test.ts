/**
 * The layer rules of DESIGN.md §4, checked on the import statements of every file in src/:
 * - records.ts is the base: it imports nothing from src;
 * - parse/ (tolerant readers of model and dataset text) builds on records only;
 * - prompts/ own what the model is asked and the shape it answers in: stages and formats
 *   import them, never the other way round;
 * - stages/ are pure steps: no files, no CLI, no engine, no export formats;
 * - llm/ is the only code that talks to models and knows nothing of stages or the CLI;
 * - src/testing/ (mock servers, scripted teachers) is for tests: nothing else in src uses it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(process.cwd(), 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Static, re-export and dynamic import specifiers of a file (comments removed first). */
function specifiers(file: string): string[] {
  const code = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [/\bfrom\s+'([^']+)'/g, /\bimport\s+'([^']+)'/g, /\bimport\(\s*'([^']+)'\s*\)/g];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[1] as string);
  return found;
}

/** An import: the importing file and the imported module, both relative to src/ (or a package / node: name). */
interface Edge {
  from: string;
  to: string;
  /** A module of src (a relative import). */
  local: boolean;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).replaceAll('\\', '/');
    for (const spec of specifiers(file)) {
      const to = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).replaceAll('\\', '/') : spec;
      out.push({ from, to, local: spec.startsWith('.') });
    }
  }
  return out;
}

/** Whether a module path (`stages/filter.ts`, `records.js`) is `area` or inside it. */
function under(path: string, area: string): boolean {
  const bare = path.replace(/\.(?:js|ts)$/, '');
  return bare === area || bare.startsWith(`${area}/`);
}

/** [area of the importing file, areas it must not import, why]. */
const RULES: ReadonlyArray<readonly [string, readonly string[], string]> = [
  ['errors', ['*'], 'the error root imports nothing'],
  ['records', ['*'], 'records are the base of every layer'],
  ['parse', ['*'], 'tolerant readers build on records only'],
  ['prompts', ['stages', 'formats', 'pipeline', 'cli', 'llm', 'io', 'report', 'validate'], 'prompts own the question and the answer shape'],
  ['stages', ['formats', 'pipeline', 'cli', 'io', 'report', 'node:fs', 'node:fs/promises'], 'stages are pure steps: no files, no CLI, no engine'],
  ['llm', ['cli', 'pipeline', 'stages', 'prompts', 'formats', 'report'], 'llm/ knows models, not the steps that use them'],
  ['formats', ['stages', 'pipeline', 'cli'], 'formats convert records; they do not run steps'],
  ['pipeline', ['cli'], 'the engine and its steps know nothing of the command line'],
];

/** Inside src, what each base layer may import besides itself. */
const BASE_ALLOWED: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  records: ['errors'],
  parse: ['records', 'errors'],
};

function violations(): string[] {
  const found: string[] = [];
  for (const { from, to, local } of edges()) {
    for (const [area, banned, why] of RULES) {
      if (!under(from, area)) continue;
      if (banned[0] === '*') {
        const inSrc = local && !under(to, area) && !(BASE_ALLOWED[area] ?? []).some((ok) => under(to, ok));
        if (inSrc) found.push(`${from} → ${to} (${why})`);
        continue;
      }
      for (const b of banned) if (b.startsWith('node:') ? to === b : local && under(to, b)) found.push(`${from} → ${to} (${why})`);
    }
    if (local && under(to, 'testing') && !under(from, 'testing')) found.push(`${from} → ${to} (src/testing is for tests only)`);
  }
  return found;
}

describe('layers', () => {
  it('finds the imports it checks', () => {
    const all = edges();
    expect(all.length).toBeGreaterThan(300);
    expect(all).toContainEqual({ from: 'stages/synthesize.ts', to: 'prompts/synthesize.js', local: true });
    expect(all).toContainEqual({ from: 'records.ts', to: 'zod', local: false });
    expect(all).toContainEqual({ from: 'llm/cache.ts', to: 'node:fs', local: false });
  });

  it('every import follows the layer rules', () => {
    expect(violations()).toEqual([]);
  });
});

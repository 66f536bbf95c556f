/**
 * `export --out` naming its own input (directly, through `./x/../`, a symlink or a hard link)
 * is refused before anything is opened, and the input is left byte for byte; every export is
 * written to a temporary file and renamed, so none is left behind and a failed export keeps
 * the previous output.
 */
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../src/testing/cli-harness.js';
import { simpleTrajectory } from './formats-fixture.js';

function setup(): { dir: string; input: string; bytes: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-export-self-'));
  mkdirSync(join(dir, 'a'));
  const input = join(dir, 'a', 'trajectories.jsonl');
  const bytes = `${JSON.stringify(simpleTrajectory())}\n`;
  writeFileSync(input, bytes);
  return { dir, input, bytes };
}

describe('export onto its own input', () => {
  const spellings: Array<[string, (dir: string, input: string) => string]> = [
    ['the same path', (_dir, input) => input],
    ['./a/../a/…', (dir) => `${join(dir, 'a')}/../a/./trajectories.jsonl`],
    ['a relative path', (_dir, input) => relative(process.cwd(), input)],
    ['a symlink', (dir, input) => (symlinkSync(input, join(dir, 'link.jsonl')), join(dir, 'link.jsonl'))],
    ['a hard link', (dir, input) => (linkSync(input, join(dir, 'hard.jsonl')), join(dir, 'hard.jsonl'))],
  ];
  for (const parquet of [false, true]) {
    for (const [name, outOf] of spellings) {
      it(`is refused through ${name}${parquet ? ' (--parquet)' : ''}, leaving the input intact`, async () => {
        const { dir, input, bytes } = setup();
        const out = outOf(dir, input);
        const result = await runMain(['export', input, '--format', 'openai', '--out', out, ...(parquet ? ['--parquet'] : [])]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/is the input .*choose another --out/);
        expect(readFileSync(input, 'utf8')).toBe(bytes);
      });
    }
  }

  it('writes through a temporary file: no temp left, and the output is complete', async () => {
    const { dir, input } = setup();
    const out = join(dir, 'out', 'openai.jsonl');
    const result = await runMain(['export', input, '--format', 'openai', '--out', out]);
    expect(result.code).toBe(0);
    expect(readdirSync(join(dir, 'out'))).toEqual(['openai.jsonl']);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('keeps the previous output when the export fails', async () => {
    const { dir, input } = setup();
    const out = join(dir, 'openai.jsonl');
    writeFileSync(out, 'previous\n');
    // The template cannot be read: a failure before anything is written.
    const result = await runMain(['export', input, '--format', 'openai', '--out', out, '--check-template', join(dir, 'missing.jinja')]);
    expect(result.code).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe('previous\n');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});

/**
 * A command line loads only its command's file (src/cli/main.ts, COMMAND_FILES): the names
 * listed for each file must be exactly the commands it registers, or a command would be
 * missing from its own command line.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_FILES } from '../src/cli/main.js';
import { runMain } from '../src/testing/cli-harness.js';

describe('commands loaded on demand', () => {
  it('each file registers exactly the commands listed for it', async () => {
    for (const file of COMMAND_FILES) {
      const program = new Command('gemtraj');
      (await file.load())(program);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...file.names].sort());
    }
  });

  it('a command line builds only its own command; help and unknown names build them all', async () => {
    const all = (await buildProgram()).commands.map((c) => c.name());
    expect(all).toEqual(COMMAND_FILES.flatMap((f) => f.names));
    expect((await buildProgram('filter')).commands.map((c) => c.name())).toEqual(['run', 'synthesize', 'filter']);
    expect((await buildProgram('stats')).commands.map((c) => c.name())).toEqual(['stats']);
    expect((await buildProgram('help')).commands.map((c) => c.name())).toEqual(all);
    expect((await buildProgram('statz')).commands.map((c) => c.name())).toEqual(all);
  });

  it('an unknown command still gets commander\'s suggestion and exit 2', async () => {
    const r = await runMain(['statz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'statz'/);
    expect(r.stderr).toMatch(/Did you mean stats\?/);
  });
});

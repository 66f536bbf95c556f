/**
 * The defaults `--help` prints are the config's: a help string that hard-codes another value
 * (or keeps an old one after a default changes) fails here.
 */
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../src/config.js';
import { formatValue, settingDoc, type SettingKey } from '../src/config-docs.js';
import { buildProgram } from '../src/cli/main.js';

/** Flags of `run` that set a config key. */
const FLAG_KEYS: Record<string, SettingKey> = {
  '--concurrency': 'concurrency',
  '--rpm': 'rpm',
  '--tpm': 'tpm',
  '--timeout': 'timeout_s',
  '--max-retries': 'max_retries',
  '--structured-output': 'structured_output',
  '--temperature': 'temperature',
  '--max-tokens': 'max_tokens',
  '--prompts': 'prompts',
  '--reasoning-effort': 'reasoning_effort',
  '--cache': 'cache',
  '--text-field': 'text_field',
  '--id-field': 'id_field',
  '--filter': 'filter.mode',
  '--repaired-calls': 'synthesize.repaired_calls',
  '--dedup': 'dedup.mode',
};

/** The default a flag's help must show, read from CONFIG_DEFAULTS (or the `unset` text). */
function expectedDefault(key: SettingKey): string {
  const [a, b] = key.split('.') as [string, string | undefined];
  const top = (CONFIG_DEFAULTS as unknown as Record<string, unknown>)[a];
  const value = b === undefined ? top : (top as Record<string, unknown> | undefined)?.[b];
  return value === undefined ? settingDoc(key).default : formatValue(value);
}

/**
 * Each option's help text from `gemtraj <command> --help` (the text commander prints for it),
 * whitespace folded because help wraps lines.
 */
async function optionHelp(command: string): Promise<Map<string, string>> {
  const cmd = (await buildProgram(command)).commands.find((c) => c.name() === command);
  if (cmd === undefined) throw new Error(`no command ${command}`);
  const text = cmd.helpInformation().replace(/\s+/g, ' ');
  const flags = cmd.options.map((o) => o.flags);
  const at = flags.map((f) => ({ f, i: text.indexOf(` ${f} `) })).filter((x) => x.i >= 0).sort((a, b) => a.i - b.i);
  expect(at.length).toBe(flags.length);
  const out = new Map<string, string>();
  at.forEach(({ f, i }, n) => out.set(f.split(/[ ,]/)[0] as string, text.slice(i + f.length + 2, at[n + 1]?.i ?? text.length).trim()));
  return out;
}

describe.each(['run', 'synthesize'])('gemtraj %s --help', (command) => {
  it('shows the config defaults', async () => {
    const help = await optionHelp(command);
    for (const [flag, key] of Object.entries(FLAG_KEYS)) {
      if (flag === '--repaired-calls' && command !== 'synthesize') continue; // a synthesize-only flag
      expect(help.get(flag), `${flag} in ${command} --help`).toContain(`(default ${expectedDefault(key)})`);
    }
    expect(help.get('--concurrency')).toContain(`(default ${CONFIG_DEFAULTS.concurrency})`);
    expect(help.get('--timeout')).toContain(`(default ${CONFIG_DEFAULTS.timeout_s})`);
    expect(help.get('--temperature')).toContain(`(default ${CONFIG_DEFAULTS.temperature})`);
  });

  it('states no default for a flag that is not a known config key', async () => {
    for (const [flag, text] of await optionHelp(command)) {
      if (FLAG_KEYS[flag] === undefined) expect(text, flag).not.toMatch(/\(default /);
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_DEFAULTS, ConfigSchema } from '../src/config.js';
import { describeDefault, formatValue, settingDoc, settingDocs, settingsTable, type SettingKey } from '../src/config-docs.js';
import { DEFAULT_GATEWAY_OPTIONS } from '../src/llm/options.js';

/** Every leaf key of a value, dotted (`filter.low`), descending only into the sections given. */
function leafKeys(value: Record<string, unknown>, sections: readonly string[]): string[] {
  return Object.entries(value).flatMap(([k, v]) =>
    sections.includes(k) && v !== null && typeof v === 'object' ? Object.keys(v).map((n) => `${k}.${n}`) : [k],
  );
}

const SECTIONS = ['segment', 'filter', 'dedup', 'extract', 'validate', 'synthesize', 'batch', 'stage_max_tokens'];

function readme(): string {
  return readFileSync(join(process.cwd(), 'README.md'), 'utf8');
}

describe('every setting is documented', () => {
  it('each has a meaning, allowed values, an example, and a default or what unset means', () => {
    const docs = settingDocs();
    expect(docs.length).toBeGreaterThan(30);
    for (const d of docs) {
      expect(d.description, d.key).not.toBe('');
      expect(d.allowed, d.key).not.toBe('');
      expect(d.allowed, d.key).not.toBe('see meaning');
      expect(d.example, d.key).not.toBe('');
      expect(d.default, `${d.key}: a default, or an \`unset\` text saying what leaving it out means`).not.toBe('');
    }
  });

  it('covers every key of the schema, sections included', () => {
    const defaults = CONFIG_DEFAULTS as unknown as Record<string, unknown>;
    // Sections hold only defaulted fields; the other top-level keys are optional settings.
    const expected = [...leafKeys(defaults, SECTIONS), ...Object.keys(ConfigSchema.shape).filter((k) => !(k in defaults))];
    expect(settingDocs().map((d) => d.key).sort()).toEqual(expected.sort());
    // Every default value is documented, and as that value.
    for (const key of leafKeys(CONFIG_DEFAULTS as unknown as Record<string, unknown>, SECTIONS)) {
      const [a, b] = key.split('.') as [string, string | undefined];
      const top = (CONFIG_DEFAULTS as unknown as Record<string, unknown>)[a];
      const value = b === undefined ? top : (top as Record<string, unknown>)[b];
      expect(settingDoc(key as SettingKey), key).toMatchObject({ hasDefault: true, default: formatValue(value) });
    }
  });

  it('help suffixes read the schema; an unknown key throws', () => {
    expect(describeDefault('concurrency')).toBe(`(default ${CONFIG_DEFAULTS.concurrency})`);
    expect(describeDefault('filter.mode')).toBe(`(default ${CONFIG_DEFAULTS.filter.mode})`);
    expect(describeDefault('cache')).toBe('(default <out>/cache.sqlite)');
    expect(() => describeDefault('nope' as SettingKey)).toThrow(/no setting "nope"/);
  });

  it('the filter thresholds say which mode uses them', () => {
    expect(settingDoc('filter.threshold').description).toMatch(/^Local mode/);
    expect(settingDoc('filter.low').description).toMatch(/^Cascade mode/);
    expect(settingDoc('filter.high').description).toMatch(/^Cascade mode/);
  });
});

describe('defaults are defined once', () => {
  it('CONFIG_DEFAULTS is what an empty config holds, and is frozen', () => {
    expect(ConfigSchema.parse({})).toEqual(CONFIG_DEFAULTS);
    expect(Object.isFrozen(CONFIG_DEFAULTS.filter)).toBe(true);
    expect(Object.isFrozen(CONFIG_DEFAULTS.judge_rubrics)).toBe(true);
    // A loaded config is its own copy: changing it leaves the defaults alone.
    const c = ConfigSchema.parse({});
    c.judge_rubrics.push('R1');
    c.segment.max_chars = 1;
    expect(CONFIG_DEFAULTS.judge_rubrics).toHaveLength(4);
    expect(ConfigSchema.parse({}).segment.max_chars).toBe(CONFIG_DEFAULTS.segment.max_chars);
  });

  it('the gateway defaults are the config defaults', () => {
    expect(DEFAULT_GATEWAY_OPTIONS).toMatchObject({
      concurrency: CONFIG_DEFAULTS.concurrency,
      timeoutMs: CONFIG_DEFAULTS.timeout_s * 1000,
      maxRetries: CONFIG_DEFAULTS.max_retries,
      backoffBaseMs: CONFIG_DEFAULTS.backoff_base_ms,
      backoffMaxMs: CONFIG_DEFAULTS.backoff_max_ms,
      structuredOutput: CONFIG_DEFAULTS.structured_output,
      maxErrorRate: CONFIG_DEFAULTS.max_error_rate,
      errorWindow: CONFIG_DEFAULTS.error_window,
      rpm: undefined,
      tpm: undefined,
      cachePath: undefined,
    });
  });
});

describe('README, Configuration', () => {
  it('the settings table is the one generated from the schema', () => {
    const match = /<!-- settings-table:start -->\n([\s\S]*?)<!-- settings-table:end -->/.exec(readme());
    expect(match, 'README.md lost its settings-table markers').not.toBeNull();
    // On a mismatch, paste the expected text between the markers.
    expect(match?.[1]).toBe(`${settingsTable()}\n`);
  });

  it('the example config file is valid', () => {
    const section = readme().split('## Configuration')[1] ?? '';
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const result = ConfigSchema.safeParse(parseYaml(yaml ?? ''));
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
  });
});

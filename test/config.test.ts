import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConfigSchema,
  STAGE_MODEL_KEYS,
  loadConfig,
  parseShard,
  readConfigFile,
  readEnv,
  type Config,
} from '../src/config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gemtraj-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError thrown by `fn` (fails the test when nothing or something else is thrown). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** The message lines of an `invalid configuration` error, without the heading. */
function issueLines(error: ConfigError): string[] {
  const [head, ...rest] = error.message.split('\n');
  expect(head).toBe('invalid configuration:');
  return rest.map((l) => l.trim());
}

describe('defaults', () => {
  it('an empty set of sources yields the documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.base_urls).toEqual([]);
    expect(c.api_key_env).toBe('OPENAI_API_KEY');
    expect(c.model).toBeUndefined();
    expect(c.models).toEqual({});
    expect(c.concurrency).toBe(16);
    expect(c.rpm).toBeUndefined();
    expect(c.tpm).toBeUndefined();
    expect(c.timeout_s).toBe(120);
    expect(c.max_retries).toBe(6);
    expect(c.structured_output).toBe('json_schema');
    expect(c.cache).toBeUndefined();
    expect(c.max_error_rate).toBe(0.5);
    expect(c.error_window).toBe(50);
    expect(c.temperature).toBe(0.7);
    expect(c.text_field).toBe('text');
    expect(c.id_field).toBe('id');
    expect(c.shard).toBeUndefined();
    expect(c.segment).toEqual({ max_chars: 6000, min_chars: 200 });
    expect(c.filter).toEqual({ mode: 'cascade', scorer: 'heuristic', low: 0.15, high: 0.8, threshold: 0.5 });
    expect(c.extract).toEqual({ min_tools: 2, min_steps: 2, max_workflows: 3 });
    expect(c.refine).toBe(true);
    expect(c.judge).toBe(true);
    expect(c.judge_rubrics).toEqual(['R1', 'R2', 'R3', 'R4']);
    expect(c.validate.provenance).toBe('warn');
    expect(c.quiet).toBe(false);
  });

  it('a partial nested section keeps the defaults of its other keys', () => {
    const c = loadConfig({ env: {}, flags: { filter: { mode: 'llm' }, segment: { max_chars: 900 } } });
    expect(c.filter).toEqual({ mode: 'llm', scorer: 'heuristic', low: 0.15, high: 0.8, threshold: 0.5 });
    expect(c.segment).toEqual({ max_chars: 900, min_chars: 200 });
  });

  it('does not read process.env when an env is given', () => {
    const before = process.env.GEMTRAJ_MODEL;
    process.env.GEMTRAJ_MODEL = 'leaked-model';
    try {
      expect(loadConfig({ env: {} }).model).toBeUndefined();
      expect(loadConfig({}).model).toBe('leaked-model');
    } finally {
      if (before === undefined) delete process.env.GEMTRAJ_MODEL;
      else process.env.GEMTRAJ_MODEL = before;
    }
  });
});

describe('config files', () => {
  it('reads JSON with kebab-case keys, nested too, and base-url as a single string', () => {
    const path = file(
      'gemtraj.json',
      JSON.stringify({
        'base-url': 'http://127.0.0.1:8000/v1',
        'max-retries': 3,
        'text-field': 'body',
        'structured-output': 'json_object',
        models: { extract: 'ex-model' },
        filter: { mode: 'local', threshold: 0.4 },
        extract: { 'min-tools': 3, 'max-workflows': 1 },
        validate: { 'min-user-turns': 1 },
      }),
    );
    const c = loadConfig({ file: path, env: {} });
    expect(c.base_urls).toEqual(['http://127.0.0.1:8000/v1']);
    expect(c.max_retries).toBe(3);
    expect(c.text_field).toBe('body');
    expect(c.structured_output).toBe('json_object');
    expect(c.models).toEqual({ extract: 'ex-model' });
    expect(c.filter.mode).toBe('local');
    expect(c.filter.threshold).toBe(0.4);
    expect(c.extract).toEqual({ min_tools: 3, min_steps: 2, max_workflows: 1 });
    expect(c.validate.min_user_turns).toBe(1);
  });

  it('reads YAML (.yaml and .yml) with kebab-case keys', () => {
    const yaml = [
      'base-urls:',
      '  - http://10.0.0.1:8000/v1',
      '  - http://10.0.0.2:8000/v1',
      'model: qwen3-8b',
      'concurrency: 32',
      'rpm: 600',
      'cache: false',
      'shard: 1/4',
      'segment:',
      '  max-chars: 4000',
      '  min-chars: 100',
      'models:',
      '  judge: qwen3-32b',
      'judge-rubrics: [R1, R3]',
      '',
    ].join('\n');
    for (const name of ['gemtraj.yaml', 'gemtraj.yml']) {
      const c = loadConfig({ file: file(name, yaml), env: {} });
      expect(c.base_urls).toEqual(['http://10.0.0.1:8000/v1', 'http://10.0.0.2:8000/v1']);
      expect(c.model).toBe('qwen3-8b');
      expect(c.concurrency).toBe(32);
      expect(c.rpm).toBe(600);
      expect(c.cache).toBe(false);
      expect(c.shard).toBe('1/4');
      expect(c.segment).toEqual({ max_chars: 4000, min_chars: 100 });
      expect(c.models).toEqual({ judge: 'qwen3-32b' });
      expect(c.judge_rubrics).toEqual(['R1', 'R3']);
    }
  });

  it('keeps model names with dashes under prices (keys there are not settings)', () => {
    const path = file(
      'prices.yaml',
      ['prices:', '  gpt-4.1-mini:', '    prompt_per_million: 0.4', '    completion_per_million: 1.6', ''].join('\n'),
    );
    const c = loadConfig({ file: path, env: {} });
    expect(Object.keys(c.prices)).toEqual(['gpt-4.1-mini']);
    expect(c.prices['gpt-4.1-mini']).toEqual({ prompt_per_million: 0.4, completion_per_million: 1.6 });
  });

  it('reads kebab-case fields of a price, and still keeps its model name as written', () => {
    const path = file('prices-kebab.yaml', ['prices:', '  my-model_v2:', '    prompt-per-million: 1', '    completion-per-million: 10', ''].join('\n'));
    const c = loadConfig({ file: path, env: {} });
    expect(c.prices).toEqual({ 'my-model_v2': { prompt_per_million: 1, completion_per_million: 10 } });
  });

  it('an empty file (or one holding only a comment) means no settings', () => {
    expect(readConfigFile(file('empty.yaml', ''))).toEqual({});
    expect(readConfigFile(file('comment.yaml', '# nothing here\n'))).toEqual({});
    expect(loadConfig({ file: join(dir, 'empty.yaml'), env: {} }).concurrency).toBe(16);
  });

  it('a missing file is a ConfigError naming the path', () => {
    const missing = join(dir, 'nope.yaml');
    const error = configError(() => loadConfig({ file: missing, env: {} }));
    expect(error.message).toContain(missing);
    expect(error.message).toContain('cannot read config file');
    expect(error.message).toContain('ENOENT');
  });

  it('bad JSON and bad YAML are ConfigErrors naming the file and the syntax', () => {
    const json = file('bad.json', '{"model": "x",}');
    const e1 = configError(() => readConfigFile(json));
    expect(e1.message).toContain(json);
    expect(e1.message).toContain('not valid JSON');

    const yaml = file('bad.yaml', 'model: [unclosed\nconcurrency: 3\n');
    const e2 = configError(() => readConfigFile(yaml));
    expect(e2.message).toContain(yaml);
    expect(e2.message).toContain('not valid YAML');
  });

  it('a file that is not a mapping is refused', () => {
    for (const [name, text] of [
      ['list.yaml', '- a\n- b\n'],
      ['scalar.yaml', '42\n'],
      ['array.json', '[1, 2]'],
    ] as const) {
      const path = file(name, text);
      const error = configError(() => readConfigFile(path));
      expect(error.message).toBe(`${path}: must hold a mapping of settings`);
    }
  });

  it('a bad value in the file names the key and the file', () => {
    const path = file('bad-values.yaml', 'concurrency: 0\nfilter:\n  low: 2\nstructured-output: xml\n');
    const lines = issueLines(configError(() => loadConfig({ file: path, env: {} })));
    expect(lines.some((l) => l.startsWith('concurrency:') && l.endsWith(`(from ${path})`))).toBe(true);
    expect(lines.some((l) => l.startsWith('filter.low:') && l.endsWith(`(from ${path})`))).toBe(true);
    expect(lines.some((l) => l.startsWith('structured_output:') && l.endsWith(`(from ${path})`))).toBe(true);
  });

  it('an unknown nested key is named with its section', () => {
    const path = file('unknown.json', JSON.stringify({ filter: { bogus: 1 } }));
    const lines = issueLines(configError(() => loadConfig({ file: path, env: {} })));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^filter: .*"bogus"/);
    expect(lines[0]).toContain(`(from ${path})`);
  });

  it('an unknown top-level key is refused and named in the message', () => {
    const path = file('unknown-top.yaml', 'modle: gpt-4.1\n');
    const error = configError(() => loadConfig({ file: path, env: {} }));
    expect(error.message).toContain('"modle"');
  });
});

describe('environment', () => {
  it('readEnv returns only the variables that are set and non-empty', () => {
    expect(readEnv({})).toEqual({});
    expect(readEnv({ GEMTRAJ_MODEL: '', GEMTRAJ_RPM: '' })).toEqual({});
    expect(
      readEnv({
        OPENAI_BASE_URL: ' http://a/v1 , http://b/v1,, ',
        GEMTRAJ_CONCURRENCY: '8',
        GEMTRAJ_RPM: '120',
        GEMTRAJ_TPM: '90000',
        GEMTRAJ_TIMEOUT_S: '2.5',
        GEMTRAJ_STRUCTURED_OUTPUT: 'prompt',
        UNRELATED: 'x',
      }),
    ).toEqual({
      base_urls: ['http://a/v1', 'http://b/v1'],
      concurrency: 8,
      rpm: 120,
      tpm: 90000,
      timeout_s: 2.5,
      structured_output: 'prompt',
    });
  });

  it('GEMTRAJ_MODEL wins over OPENAI_MODEL; OPENAI_MODEL is used alone', () => {
    expect(readEnv({ GEMTRAJ_MODEL: 'a', OPENAI_MODEL: 'b' })).toEqual({ model: 'a' });
    expect(readEnv({ OPENAI_MODEL: 'b' })).toEqual({ model: 'b' });
    expect(readEnv({ GEMTRAJ_MODEL: '', OPENAI_MODEL: 'b' })).toEqual({ model: 'b' });
  });

  it('a non-numeric number variable is a ConfigError naming the variable and value', () => {
    const error = configError(() => loadConfig({ env: { GEMTRAJ_CONCURRENCY: 'lots' } }));
    expect(error.message).toBe('GEMTRAJ_CONCURRENCY="lots": must be a number');
    expect(() => readEnv({ GEMTRAJ_TPM: 'Infinity' })).toThrow(ConfigError);
  });

  it('a bad value from the environment names the key and the variable', () => {
    const lines = issueLines(
      configError(() => loadConfig({ env: { GEMTRAJ_CONCURRENCY: '0', OPENAI_BASE_URL: 'not-a-url', GEMTRAJ_RPM: '1.5' } })),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^concurrency: .*\(from the environment: GEMTRAJ_CONCURRENCY\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^base_urls\[0\]: .*\(from the environment: OPENAI_BASE_URL\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^rpm: .*\(from the environment: GEMTRAJ_RPM\)$/));
    expect(lines).toHaveLength(3);
  });

  it('a bad structured output mode from the environment names it', () => {
    const lines = issueLines(configError(() => loadConfig({ env: { GEMTRAJ_STRUCTURED_OUTPUT: 'xml' } })));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^structured_output: .*json_schema.*\(from the environment: GEMTRAJ_STRUCTURED_OUTPUT\)$/);
  });
});

describe('layering: flags over env over file', () => {
  it('each layer wins over the ones below it, key by key', () => {
    const path = file('layers.yaml', 'model: from-file\nconcurrency: 2\nrpm: 10\ntpm: 1000\n');
    const env = { GEMTRAJ_MODEL: 'from-env', GEMTRAJ_CONCURRENCY: '4', GEMTRAJ_RPM: '20' };
    const all = loadConfig({ file: path, env, flags: { model: 'from-flag', concurrency: 8 } });
    expect(all.model).toBe('from-flag');
    expect(all.concurrency).toBe(8);
    expect(all.rpm).toBe(20); // env over file, no flag
    expect(all.tpm).toBe(1000); // file only

    const noFlags = loadConfig({ file: path, env });
    expect(noFlags.model).toBe('from-env');
    expect(noFlags.concurrency).toBe(4);

    const fileOnly = loadConfig({ file: path, env: {} });
    expect(fileOnly.model).toBe('from-file');
    expect(fileOnly.concurrency).toBe(2);
  });

  it('undefined flag values do not hide lower layers', () => {
    const c = loadConfig({ env: { GEMTRAJ_MODEL: 'env-model' }, flags: { model: undefined, concurrency: undefined } });
    expect(c.model).toBe('env-model');
    expect(c.concurrency).toBe(16);
  });

  it('nested sections merge key by key across layers', () => {
    const path = file('nested.json', JSON.stringify({ models: { extract: 'file-extract', judge: 'file-judge' }, filter: { mode: 'llm', high: 0.9 } }));
    const c = loadConfig({ file: path, env: {}, flags: { models: { judge: 'flag-judge', refine: 'flag-refine' }, filter: { low: 0.1 } } });
    expect(c.models).toEqual({ extract: 'file-extract', judge: 'flag-judge', refine: 'flag-refine' });
    expect(c.filter).toMatchObject({ mode: 'llm', low: 0.1, high: 0.9 });
  });

  it('arrays are replaced, not concatenated', () => {
    const path = file('urls.yaml', 'base_urls: [http://a/v1, http://b/v1]\n');
    expect(loadConfig({ file: path, env: { OPENAI_BASE_URL: 'http://c/v1' } }).base_urls).toEqual(['http://c/v1']);
    expect(loadConfig({ file: path, env: { OPENAI_BASE_URL: 'http://c/v1' }, flags: { base_urls: ['http://d/v1'] } }).base_urls).toEqual([
      'http://d/v1',
    ]);
  });

  it('the origin of a bad value is the layer it came from', () => {
    const path = file('origin.yaml', 'temperature: 5\nconcurrency: 0\n');
    const lines = issueLines(
      configError(() => loadConfig({ file: path, env: { GEMTRAJ_TIMEOUT_S: '0' }, flags: { max_retries: -1, concurrency: 0 } })),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^max_retries: .*\(from the command line\)$/));
    // concurrency is bad in both the file and the flags: the flag is what was used.
    expect(lines).toContainEqual(expect.stringMatching(/^concurrency: .*\(from the command line\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^timeout_s: .*\(from the environment: GEMTRAJ_TIMEOUT_S\)$/));
    expect(lines.find((l) => l.startsWith('temperature:'))?.endsWith(`(from ${path})`)).toBe(true);
    expect(lines).toHaveLength(4);
  });

  it('a value fixed by a higher layer is not an error even if a lower layer is bad', () => {
    const path = file('fixed.yaml', 'concurrency: 0\n');
    expect(loadConfig({ file: path, env: {}, flags: { concurrency: 3 } }).concurrency).toBe(3);
    expect(loadConfig({ file: path, env: { GEMTRAJ_CONCURRENCY: '5' } }).concurrency).toBe(5);
  });
});

describe('values', () => {
  const bad = (flags: Record<string, unknown>): string[] => issueLines(configError(() => loadConfig({ env: {}, flags })));

  it.each([
    [{ concurrency: 0 }, 'concurrency'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ rpm: 0 }, 'rpm'],
    [{ tpm: -5 }, 'tpm'],
    [{ timeout_s: 0.5 }, 'timeout_s'],
    [{ max_retries: 51 }, 'max_retries'],
    [{ structured_output: 'tools' }, 'structured_output'],
    [{ cache: '' }, 'cache'],
    [{ cache: true }, 'cache'],
    [{ max_error_rate: 0 }, 'max_error_rate'],
    [{ max_error_rate: 1.5 }, 'max_error_rate'],
    [{ temperature: 2.5 }, 'temperature'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ text_field: '' }, 'text_field'],
    [{ max_docs: 0 }, 'max_docs'],
    [{ api_key_env: 'MY-KEY' }, 'api_key_env'],
    [{ api_key_env: '1KEY' }, 'api_key_env'],
    [{ base_urls: ['not a url'] }, 'base_urls[0]'],
    [{ segment: { max_chars: 100 } }, 'segment.max_chars'],
    [{ filter: { mode: 'fast' } }, 'filter.mode'],
    [{ filter: { scorer: 'model:' } }, 'filter.scorer'],
    [{ extract: { min_tools: 0 } }, 'extract.min_tools'],
    [{ judge_rubrics: ['R5'] }, 'judge_rubrics[0]'],
    [{ validate: { provenance: 'strict' } }, 'validate.provenance'],
    [{ quiet: 'yes' }, 'quiet'],
  ])('%j is refused with a message naming %s and the command line', (flags, key) => {
    const lines = bad(flags);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.startsWith(`${key}: `)).toBe(true);
    expect(lines[0]?.endsWith('(from the command line)')).toBe(true);
  });

  it('accepts the edges of ranges', () => {
    const c = loadConfig({
      env: {},
      flags: { concurrency: 1, timeout_s: 1, max_retries: 0, max_error_rate: 1, temperature: 0, cache: false, api_key_env: '_K1' },
    });
    expect(c).toMatchObject({ concurrency: 1, timeout_s: 1, max_retries: 0, max_error_rate: 1, temperature: 0, cache: false, api_key_env: '_K1' });
    expect(loadConfig({ env: {}, flags: { filter: { scorer: 'model:/tmp/m.json' } } }).filter.scorer).toBe('model:/tmp/m.json');
  });

  it('filter.low above filter.high is refused', () => {
    const lines = bad({ filter: { low: 0.9, high: 0.5 } });
    expect(lines).toEqual(['filter: filter.low must not exceed filter.high (from the command line)']);
    // low above the default high (0.8) too
    expect(bad({ filter: { low: 0.85 } })[0]).toContain('filter.low must not exceed filter.high');
    expect(loadConfig({ env: {}, flags: { filter: { low: 0.5, high: 0.5 } } }).filter).toMatchObject({ low: 0.5, high: 0.5 });
  });

  it('several bad values give one line each', () => {
    const lines = bad({ concurrency: 0, rpm: 0, temperature: -1 });
    expect(lines.map((l) => l.split(':')[0]).sort()).toEqual(['concurrency', 'rpm', 'temperature']);
  });

  it('the config object never holds a key value, only the name of its variable', () => {
    const c = loadConfig({ env: { OPENAI_API_KEY: 'sk-secret-123', GEMTRAJ_MODEL: 'm' }, flags: { api_key_env: 'OPENAI_API_KEY' } });
    expect(JSON.stringify(c)).not.toContain('sk-secret-123');
    expect(c.api_key_env).toBe('OPENAI_API_KEY');
  });

  it('ConfigSchema is strict at the top level', () => {
    expect(ConfigSchema.safeParse({ api_key: 'sk-x' }).success).toBe(false);
  });
});

describe('shards', () => {
  it.each(['0/1', '0/4', '3/4', '12/100'])('accepts %s', (shard) => {
    expect(loadConfig({ env: {}, flags: { shard } }).shard).toBe(shard);
  });

  it.each(['4/4', '5/4', '0/0', '1/0'])('refuses %s (index not below count)', (shard) => {
    const lines = issueLines(configError(() => loadConfig({ env: {}, flags: { shard } })));
    expect(lines).toEqual(['shard: needs 0 <= i < n and n <= 1000000 (from the command line)']);
  });

  it.each(['x', '1/', '/4', '-1/4', '1/2/3', ' 0/4', '0.5/4', '1-4'])('refuses %j (not i/n)', (shard) => {
    const lines = issueLines(configError(() => loadConfig({ env: {}, flags: { shard } })));
    expect(lines).toContain('shard: must look like i/n, e.g. 0/4 (from the command line)');
  });

  it('a bad shard in a file names the file', () => {
    const path = file('shard.yaml', 'shard: "2/2"\n');
    const lines = issueLines(configError(() => loadConfig({ file: path, env: {} })));
    expect(lines).toEqual([`shard: needs 0 <= i < n and n <= 1000000 (from ${path})`]);
  });

  it('parseShard splits i/n into numbers', () => {
    expect(parseShard(undefined)).toBeUndefined();
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard('12/100')).toEqual({ index: 12, count: 100 });
  });
});

describe('per-stage models', () => {
  it('STAGE_MODEL_KEYS lists every stage that calls a model', () => {
    expect([...STAGE_MODEL_KEYS]).toEqual(['filter', 'extract', 'generate', 'refine', 'judge', 'synthesize']);
  });

  it('accepts an override per stage next to the default model', () => {
    const models = Object.fromEntries(STAGE_MODEL_KEYS.map((k) => [k, `${k}-model`]));
    const c: Config = loadConfig({ env: {}, flags: { model: 'default', models } });
    expect(c.model).toBe('default');
    expect(c.models).toEqual(models);
  });

  it('refuses an unknown stage and an empty model name', () => {
    const l1 = issueLines(configError(() => loadConfig({ env: {}, flags: { models: { segment: 'x' } } })));
    expect(l1).toHaveLength(1);
    expect(l1[0]).toMatch(/^models: .*"segment".*\(from the command line\)$/);

    const path = file('models.yaml', 'models:\n  judge: ""\n');
    const l2 = issueLines(configError(() => loadConfig({ file: path, env: {} })));
    expect(l2).toHaveLength(1);
    expect(l2[0]?.startsWith('models.judge: ')).toBe(true);
    expect(l2[0]?.endsWith(`(from ${path})`)).toBe(true);
  });

  it('an empty default model is refused', () => {
    const lines = issueLines(configError(() => loadConfig({ env: {}, flags: { model: '' } })));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^model: .*\(from the command line\)$/);
  });
});

describe('ConfigError', () => {
  it('is an Error named ConfigError', () => {
    const e = new ConfigError('x');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ConfigError');
    expect(e.message).toBe('x');
  });
});

describe('fixed reports', () => {
  it('names JSON (not YAML) for a broken file with an upper-case .JSON extension', () => {
    const path = file('x.JSON', '{"model": ');
    expect(configError(() => readConfigFile(path)).message).toMatch(/not valid JSON/);
  });

  it('refuses a base URL without an http(s) scheme', () => {
    for (const url of ['localhost:8000/v1', 'ftp://x']) {
      const lines = issueLines(configError(() => loadConfig({ env: {}, flags: { base_urls: [url] } })));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^base_urls\[0\]: must be an http:\/\/ or https:\/\/ URL.*\(from the command line\)$/);
    }
  });

  it('gives one message for a malformed shard', () => {
    expect(issueLines(configError(() => loadConfig({ env: {}, flags: { shard: 'x' } })))).toHaveLength(1);
  });

  it('accepts base-url as a list in a file', () => {
    const path = file('list.yaml', 'base-url: [http://a:1/v1, http://b:2/v1]\n');
    expect(loadConfig({ file: path, env: {} }).base_urls).toEqual(['http://a:1/v1', 'http://b:2/v1']);
  });
});

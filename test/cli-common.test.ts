import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig, STAGE_MODEL_KEYS, type Config } from '../src/config.js';
import {
  NO_ENDPOINT_HELP,
  OPENAI_BASE_URL,
  OPENAI_DEFAULT_MODEL,
  addInputOptions,
  addModelOptions,
  configFromFlags,
  flagsToConfig,
  resolveEndpoint,
  type CommonFlags,
} from '../src/cli/common.js';

function cfg(flags: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, flags });
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** A command with every shared flag that throws instead of exiting and prints nothing. */
function command(): Command {
  const cmd = addInputOptions(addModelOptions(new Command('test')));
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  return cmd;
}

function parse(args: string[]): CommonFlags {
  const cmd = command();
  cmd.parse(args, { from: 'user' });
  return cmd.opts<CommonFlags>();
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('flagsToConfig', () => {
  it('maps every flag onto its config key', () => {
    const out = flagsToConfig({
      baseUrl: ['http://a/v1', 'http://b/v1'],
      apiKeyEnv: 'MY_KEY',
      model: 'm',
      stageModel: ['extract=ex', 'judge=ju'],
      concurrency: 4,
      rpm: 60,
      tpm: 1000,
      timeout: 30,
      maxRetries: 2,
      structuredOutput: 'prompt',
      temperature: 0.3,
      maxTokens: 512,
      cache: 'c.sqlite',
      config: 'ignored.yaml',
      textField: 'body',
      idField: 'uid',
      maxDocs: 10,
      shard: '1/3',
      quiet: true,
    });
    expect(out).toEqual({
      base_urls: ['http://a/v1', 'http://b/v1'],
      api_key_env: 'MY_KEY',
      model: 'm',
      models: { extract: 'ex', judge: 'ju' },
      concurrency: 4,
      rpm: 60,
      tpm: 1000,
      timeout_s: 30,
      max_retries: 2,
      structured_output: 'prompt',
      temperature: 0.3,
      max_tokens: 512,
      cache: 'c.sqlite',
      text_field: 'body',
      id_field: 'uid',
      max_docs: 10,
      shard: '1/3',
      quiet: true,
    });
    // `config` names the file; it is not a setting.
    expect(out).not.toHaveProperty('config');
    // The result is a valid config layer.
    const c = loadConfig({ env: {}, flags: out });
    expect(c.timeout_s).toBe(30);
    expect(c.models).toEqual({ extract: 'ex', judge: 'ju' });
  });

  it('unset flags stay undefined so lower layers show through', () => {
    const out = flagsToConfig({});
    expect(Object.values(out).every((v) => v === undefined)).toBe(true);
    const c = loadConfig({ env: { GEMTRAJ_MODEL: 'env-model', GEMTRAJ_CONCURRENCY: '7' }, flags: out });
    expect(c.model).toBe('env-model');
    expect(c.concurrency).toBe(7);
    expect(c.models).toEqual({});
  });

  it('--no-cache maps to cache false', () => {
    expect(flagsToConfig({ cache: false }).cache).toBe(false);
    expect(cfg(flagsToConfig({ cache: false })).cache).toBe(false);
  });

  it('extra settings are added and win over flags', () => {
    const out = flagsToConfig({ model: 'flag-model' }, { model: 'extra-model', refine: false, filter: { mode: 'local' } });
    expect(out.model).toBe('extra-model');
    expect(out.refine).toBe(false);
    expect(cfg(out).filter.mode).toBe('local');
  });

  describe('--stage-model', () => {
    it('parses stage=model pairs for every stage; the last pair for a stage wins', () => {
      const pairs = STAGE_MODEL_KEYS.map((s) => `${s}=${s}-m`);
      expect(flagsToConfig({ stageModel: pairs }).models).toEqual(Object.fromEntries(STAGE_MODEL_KEYS.map((s) => [s, `${s}-m`])));
      expect(flagsToConfig({ stageModel: ['judge=a', 'judge=b'] }).models).toEqual({ judge: 'b' });
    });

    it('keeps everything after the first = as the model name', () => {
      expect(flagsToConfig({ stageModel: ['generate=org/model=v2'] }).models).toEqual({ generate: 'org/model=v2' });
    });

    it.each(['extract', '=model', 'extract=', 'segment=m', 'Extract=m', ' extract=m', ''])('refuses %j with the list of stages', (pair) => {
      const error = thrown(() => flagsToConfig({ stageModel: [pair] }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`--stage-model ${JSON.stringify(pair)}`);
      expect(error.message).toContain('expected stage=model');
      expect(error.message).toContain(STAGE_MODEL_KEYS.join(', '));
    });

    it('per-stage overrides merge with models from a lower layer', () => {
      const dir = mkdtempSync(join(tmpdir(), 'gemtraj-cli-'));
      try {
        const file = join(dir, 'c.yaml');
        writeFileSync(file, 'models:\n  extract: file-extract\n  judge: file-judge\n');
        const c = loadConfig({ env: {}, file, flags: flagsToConfig({ stageModel: ['judge=flag-judge'] }) });
        expect(c.models).toEqual({ extract: 'file-extract', judge: 'flag-judge' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('the shared flags on a command', () => {
  it('parses nothing into nothing', () => {
    expect(parse([])).toEqual({});
  });

  it('repeats --base-url and --stage-model, converts numbers, and maps onto a valid config', () => {
    const flags = parse([
      '--base-url',
      'http://a:8000/v1',
      '--base-url',
      'http://b:8000/v1',
      '--stage-model',
      'extract=big',
      '--stage-model',
      'filter=small',
      '--model',
      'mid',
      '--concurrency',
      '3',
      '--timeout',
      '2.5',
      '--max-retries',
      '0',
      '--temperature',
      '0',
      '--structured-output',
      'json_object',
      '--text-field',
      'body',
      '--max-docs',
      '5',
      '--shard',
      '0/2',
      '--quiet',
    ]);
    expect(flags.baseUrl).toEqual(['http://a:8000/v1', 'http://b:8000/v1']);
    expect(flags.stageModel).toEqual(['extract=big', 'filter=small']);
    expect(flags.concurrency).toBe(3);
    expect(flags.timeout).toBe(2.5);
    expect(flags.maxRetries).toBe(0);
    expect(flags.temperature).toBe(0);
    const c = cfg(flagsToConfig(flags));
    expect(c).toMatchObject({
      base_urls: ['http://a:8000/v1', 'http://b:8000/v1'],
      model: 'mid',
      models: { extract: 'big', filter: 'small' },
      concurrency: 3,
      timeout_s: 2.5,
      max_retries: 0,
      temperature: 0,
      structured_output: 'json_object',
      text_field: 'body',
      max_docs: 5,
      shard: '0/2',
      quiet: true,
    });
  });

  it('--cache <file> and --no-cache', () => {
    expect(parse(['--cache', 'x.sqlite']).cache).toBe('x.sqlite');
    expect(parse(['--no-cache']).cache).toBe(false);
    expect(cfg(flagsToConfig(parse([]))).cache).toBeUndefined();
  });

  it.each([
    [['--concurrency', '0'], '--concurrency must be an integer ≥ 1'],
    [['--concurrency', '2.5'], '--concurrency must be an integer ≥ 1'],
    [['--rpm', 'many'], '--rpm must be an integer ≥ 1'],
    [['--max-retries', '-1'], '--max-retries must be an integer ≥ 0'],
    [['--timeout', 'soon'], '--timeout must be a number'],
    [['--max-docs', '0'], '--max-docs must be an integer ≥ 1'],
    [['--structured-output', 'xml'], 'json_schema, json_object, prompt'],
  ])('refuses %j', (args, message) => {
    const error = thrown(() => parse(args));
    expect(error).toBeInstanceOf(CommanderError);
    expect(error.message).toContain(message);
  });

  it('has no flag that takes an API key value', () => {
    const cmd = command();
    const longs = cmd.options.map((o) => o.long);
    expect(longs).toContain('--api-key-env');
    expect(longs.filter((l) => l !== undefined && /key/.test(l))).toEqual(['--api-key-env']);
    expect(() => parse(['--api-key', 'sk-x'])).toThrow(CommanderError);
  });
});

describe('configFromFlags', () => {
  it('reads the environment of the process under the flags', () => {
    vi.stubEnv('GEMTRAJ_MODEL', 'env-model');
    vi.stubEnv('GEMTRAJ_RPM', '30');
    const c = configFromFlags({ concurrency: 2 });
    expect(c.model).toBe('env-model');
    expect(c.rpm).toBe(30);
    expect(c.concurrency).toBe(2);
    expect(configFromFlags({ model: 'flag-model' }).model).toBe('flag-model');
  });
});

describe('resolveEndpoint', () => {
  it('no endpoint and no key: the exact instructions', () => {
    const error = thrown(() => resolveEndpoint(cfg(), {}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(NO_ENDPOINT_HELP);
  });

  it('the instructions say how to use OpenAI, a local server, and a config file', () => {
    expect(NO_ENDPOINT_HELP).toContain('export OPENAI_API_KEY=');
    expect(NO_ENDPOINT_HELP).toContain('never a flag');
    expect(NO_ENDPOINT_HELP).toContain(`export OPENAI_BASE_URL=${OPENAI_BASE_URL}`);
    expect(NO_ENDPOINT_HELP).toContain('--model gpt-4.1-mini');
    expect(NO_ENDPOINT_HELP).toContain('--base-url http://127.0.0.1:8000/v1 --model <served model name>');
    expect(NO_ENDPOINT_HELP).toMatch(/vLLM.*Ollama/);
    expect(NO_ENDPOINT_HELP).toContain('--config gemtraj.yaml');
    expect(NO_ENDPOINT_HELP).toContain('models.<stage>');
  });

  it('an empty key counts as no key', () => {
    expect(thrown(() => resolveEndpoint(cfg(), { OPENAI_API_KEY: '' })).message).toBe(NO_ENDPOINT_HELP);
  });

  it('only OPENAI_API_KEY set: OpenAI base URL and default model', () => {
    const r = resolveEndpoint(cfg(), { OPENAI_API_KEY: 'sk-test-1' });
    expect(r).toEqual({ baseUrls: [OPENAI_BASE_URL], apiKey: 'sk-test-1', model: OPENAI_DEFAULT_MODEL });
    expect(OPENAI_BASE_URL).toBe('https://api.openai.com/v1');
  });

  it('only OPENAI_API_KEY set, with a model named: that model', () => {
    expect(resolveEndpoint(cfg({ model: 'gpt-4.1' }), { OPENAI_API_KEY: 'sk-test-2' }).model).toBe('gpt-4.1');
  });

  it('a key in another variable does not imply OpenAI', () => {
    const c = cfg({ api_key_env: 'MY_KEY' });
    expect(thrown(() => resolveEndpoint(c, { MY_KEY: 'k' })).message).toBe(NO_ENDPOINT_HELP);
  });

  it('the key is read only from the variable --api-key-env names', () => {
    const c = cfg({ api_key_env: 'VLLM_KEY', base_urls: ['http://127.0.0.1:8000/v1'], model: 'qwen' });
    expect(resolveEndpoint(c, { VLLM_KEY: 'local-key', OPENAI_API_KEY: 'sk-other' }).apiKey).toBe('local-key');
    expect(resolveEndpoint(c, { OPENAI_API_KEY: 'sk-other' }).apiKey).toBeUndefined();
  });

  it('the OpenAI endpoint without a key says which variable is missing', () => {
    for (const url of [OPENAI_BASE_URL, `${OPENAI_BASE_URL}/`, `${OPENAI_BASE_URL}//`]) {
      const error = thrown(() => resolveEndpoint(cfg({ base_urls: [url] }), {}));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`the endpoint is ${OPENAI_BASE_URL} but $OPENAI_API_KEY is not set`);
      expect(error.message).toContain(NO_ENDPOINT_HELP);
    }
    const custom = thrown(() => resolveEndpoint(cfg({ base_urls: [OPENAI_BASE_URL], api_key_env: 'OAI' }), { OPENAI_API_KEY: 'sk' }));
    expect(custom.message).toContain('$OAI is not set');
  });

  it('the OpenAI endpoint with a trailing slash still gets the default model', () => {
    const r = resolveEndpoint(cfg({ base_urls: [`${OPENAI_BASE_URL}/`] }), { OPENAI_API_KEY: 'sk-3' });
    expect(r.model).toBe(OPENAI_DEFAULT_MODEL);
    expect(r.baseUrls).toEqual([`${OPENAI_BASE_URL}/`]);
  });

  it('a non-OpenAI endpoint needs a model, and says how to give one', () => {
    const c = cfg({ base_urls: ['http://127.0.0.1:8000/v1', 'http://127.0.0.1:8001/v1'] });
    const error = thrown(() => resolveEndpoint(c, { OPENAI_API_KEY: 'sk-x' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('no model named for http://127.0.0.1:8000/v1, http://127.0.0.1:8001/v1');
    expect(error.message).toContain('--model <name>');
    expect(error.message).toContain('GEMTRAJ_MODEL');
  });

  it('a mix of OpenAI and another endpoint is not OpenAI: a model is required', () => {
    const c = cfg({ base_urls: [OPENAI_BASE_URL, 'http://10.0.0.5:8000/v1'] });
    expect(thrown(() => resolveEndpoint(c, { OPENAI_API_KEY: 'sk-x' })).message).toContain('no model named');
  });

  it('a local endpoint with a model and no key works, with no key', () => {
    const c = cfg({ base_urls: ['http://127.0.0.1:8000/v1'], model: 'Qwen/Qwen3-8B' });
    expect(resolveEndpoint(c, {})).toEqual({ baseUrls: ['http://127.0.0.1:8000/v1'], apiKey: undefined, model: 'Qwen/Qwen3-8B' });
  });

  it('endpoint and model from the environment', () => {
    const env = { OPENAI_BASE_URL: 'http://gpu-box:9000/v1', GEMTRAJ_MODEL: 'served-name' };
    const c = loadConfig({ env });
    expect(resolveEndpoint(c, env)).toEqual({ baseUrls: ['http://gpu-box:9000/v1'], apiKey: undefined, model: 'served-name' });
  });
});

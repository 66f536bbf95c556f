/**
 * `gemtraj eval <heldout> --out DIR --base-url … --model …`: turn-level replay evaluation of a
 * model on reference trajectories (see src/eval/session.ts); `gemtraj eval --compare A B`: two
 * evaluation directories side by side.
 */
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { reportGatewaysExit, watchFailures } from './endpoint-exit.js';
import { EXIT_BAD_INPUT, EXIT_ENDPOINT, EXIT_INTERRUPTED, GemtrajError } from '../errors.js';
import { compareEvals, formatComparison } from '../eval/compare.js';
import { runEval } from '../eval/session.js';
import { formatSummary } from '../eval/summary.js';
import { FORMAT_NAMES } from '../formats/detect.js';
import type { FormatName } from '../formats/types.js';
import type { Gateway } from '../llm/gateway.js';
import { formatUsage } from '../report/run-analysis.js';
import { addModelOptions, configFromFlags, openGateway, type CommonFlags } from './common.js';

interface EvalFlags extends CommonFlags {
  out?: string;
  from: FormatName | 'auto';
  json?: boolean;
  compare?: string[];
  judgeModel?: string;
  judgeBaseUrl?: string[];
  judgeApiKeyEnv?: string;
  exactStrings?: boolean;
  maxTrajectories?: number;
}

const count = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer ≥ 1');
  return n;
};

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

class EvalUsageError extends GemtrajError {
  constructor(message: string) {
    super(message, EXIT_BAD_INPUT);
  }
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('replay every assistant turn of reference trajectories on a model and score it → <out>/turns.jsonl, summary.json')
    .argument('[heldout]', 'reference trajectories (a split test.jsonl, or any format validate imports)')
    .option('--out <dir>', 'evaluation directory (rerun to resume)')
    .addOption(new Option('--from <format>', 'input format').choices(['auto', ...FORMAT_NAMES]).default('auto'))
    .option('--judge-model <name>', 'LLM judge for turns where the reference asks the user (default: a rule-based check)')
    .option('--judge-base-url <url>', 'endpoint of the judge (default: --base-url)', collect)
    .option('--judge-api-key-env <NAME>', 'environment variable with the judge endpoint\'s key (default: --api-key-env)')
    .option('--exact-strings', 'compare string arguments exactly (default: BFCL\'s normalisation: case, spaces and ,./-_*^ ignored)')
    .option('--max-trajectories <n>', 'evaluate only the first N trajectories', count)
    .option('--compare <dirs...>', 'two evaluation directories side by side (no model needed)')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress output');
  addModelOptions(cmd);
  // Replay is a measurement: greedy by default, unlike the generation stages the shared flag describes.
  const temperature = cmd.options.find((o) => o.long === '--temperature');
  if (temperature !== undefined) temperature.description = 'sampling temperature of the evaluated model (default 0: greedy)';
  cmd.action(async (input: string | undefined, flags: EvalFlags) => {
    process.exitCode = await executeEval(input, flags);
  });
}

export async function executeEval(input: string | undefined, flags: EvalFlags): Promise<number> {
  const print = (value: unknown, text: string): void => {
    process.stdout.write(`${flags.json === true ? JSON.stringify(value, null, 2) : text}\n`);
  };
  if (flags.compare !== undefined) {
    if (flags.compare.length !== 2) throw new EvalUsageError(`--compare takes two evaluation directories, got ${flags.compare.length}`);
    const comparison = await compareEvals(flags.compare[0] as string, flags.compare[1] as string);
    print(comparison, formatComparison(comparison));
    return 0;
  }
  if (input === undefined || flags.out === undefined) throw new EvalUsageError('eval needs reference trajectories and --out <dir> (or --compare <dirA> <dirB>)');
  const out = flags.out;
  const config = configFromFlags(flags);
  // Resolve the endpoints before touching the directory: a missing model stops here.
  const gateway = openGateway(config, out);
  let judge: Gateway | undefined;
  try {
    if (flags.judgeModel !== undefined) {
      const judgeConfig = configFromFlags({
        ...flags,
        model: flags.judgeModel,
        baseUrl: flags.judgeBaseUrl ?? flags.baseUrl,
        apiKeyEnv: flags.judgeApiKeyEnv ?? flags.apiKeyEnv,
        // Its own cache file: two gateways never share one.
        cache: flags.cache === false ? false : join(out, 'judge-cache.sqlite'),
      });
      judge = openGateway(judgeConfig, out);
    }
  } catch (error) {
    await gateway.close();
    throw error;
  }
  const lastFailure = watchFailures(gateway);
  const lastJudgeFailure = watchFailures(judge);
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  let result;
  try {
    result = await runEval({
      input,
      from: flags.from,
      out,
      gateway,
      judge,
      settings: {
        model: gateway.modelFor('eval'),
        base_urls: config.base_urls,
        // Replay is a measurement: greedy unless asked otherwise.
        temperature: flags.temperature ?? 0,
        max_tokens: config.max_tokens ?? null,
        strings: flags.exactStrings === true ? 'exact' : 'bfcl',
        judge_model: flags.judgeModel ?? null,
      },
      maxTrajectories: flags.maxTrajectories,
      concurrency: Math.max(1, config.concurrency * 2),
      quiet: flags.quiet === true || flags.json === true,
      signal: abort.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
    await gateway.close();
    await judge?.close();
  }
  const { summary, evalJson, files } = result;
  print(summary, `${formatSummary(summary)}\n\n${formatUsage(evalJson.usage, evalJson.duration_s)}\nturns: ${files.turns}\nsummary: ${files.summary}`);
  if (evalJson.status === 'stopped') {
    process.stderr.write(`gemtraj: stopped: ${evalJson.stop_reason ?? ''}\nScored turns are kept: fix the cause and rerun the same command to resume.\n`);
    return EXIT_ENDPOINT;
  }
  if (evalJson.status === 'interrupted') return EXIT_INTERRUPTED;
  return reportGatewaysExit(summary.turns_pending, [gateway, judge], lastFailure() ?? lastJudgeFailure());
}

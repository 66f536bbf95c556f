/**
 * Prices: the config's `prices` first, then the maintained table by provider URL and model,
 * never for a local server; unknown is unpriced (undefined), not $0; the batch factor applies.
 */
import { describe, expect, it } from 'vitest';
import { isLocalUrl, priceBook, pricePerMillion } from '../src/llm/prices.js';
import { formatCost, formatSaved, UsageAccounting, type UsageFigures } from '../src/llm/usage.js';
import { formatUsage } from '../src/report/run-analysis.js';

const usage = { prompt_tokens: 10_000, completion_tokens: 2_000 };

describe('prices', () => {
  it('takes hosted prices from the table by base URL and model', () => {
    const rate = pricePerMillion({ prices: {}, baseUrl: 'https://api.openai.com/v1' }, 'gpt-4.1-mini');
    expect(rate).toEqual({ prompt_per_million: 0.4, completion_per_million: 1.6 });
    const book = priceBook({ prices: {}, baseUrl: 'https://api.openai.com/v1' });
    expect(book('gpt-4.1-mini', usage)).toBeCloseTo((10_000 * 0.4 + 2_000 * 1.6) / 1e6, 12);
  });

  it('lets the config override the table, and applies the batch factor', () => {
    const book = priceBook({ prices: { 'gpt-4.1-mini': { prompt_per_million: 1, completion_per_million: 1 } }, baseUrl: 'https://api.openai.com/v1', factor: 0.5 });
    expect(book('gpt-4.1-mini', usage)).toBeCloseTo(0.006, 12);
  });

  it('never prices a model on a local server from the table, and unknown stays unpriced', () => {
    expect(isLocalUrl('http://127.0.0.1:8000/v1')).toBe(true);
    expect(isLocalUrl('http://10.0.0.5:8000/v1')).toBe(true);
    expect(isLocalUrl('https://api.together.xyz/v1')).toBe(false);
    expect(priceBook({ prices: {}, baseUrl: 'http://127.0.0.1:8000/v1' })('gpt-4.1-mini', usage)).toBeUndefined();
    expect(priceBook({ prices: {}, baseUrl: 'https://api.openai.com/v1', table: false })('gpt-4.1-mini', usage)).toBeUndefined();
    expect(priceBook({ prices: {}, baseUrl: 'https://api.openai.com/v1' })('no-such-model-xyz', usage)).toBeUndefined();
  });

  it('reports unpriced calls as unpriced, not $0', () => {
    const accounting = new UsageAccounting(priceBook({ prices: { a: { prompt_per_million: 1, completion_per_million: 2 } } }));
    accounting.recordCall('generate', 'local-model', usage);
    expect(formatCost(accounting.report().totals)).toBe('unpriced');
    accounting.recordCall('judge', 'a', usage);
    const totals = accounting.report().totals;
    expect(totals.unpriced_calls).toBe(1);
    expect(formatCost(totals)).toBe('$0.0140 + 1 unpriced call');
    expect(accounting.report().unpriced_models).toEqual(['local-model']);
    // After a kill: answered calls all unpriced, others unconfirmed (cost unknown): unpriced.
    expect(formatCost({ calls: 48, unconfirmed_calls: 16, unpriced_calls: 32, cost_usd: 0 })).toBe('unpriced');
  });

  it('reports what cache hits of unpriced models saved as unpriced, not $0, and the unpriced hits beside a priced saving', () => {
    const accounting = new UsageAccounting(priceBook({ prices: { a: { prompt_per_million: 1, completion_per_million: 2 } } }));
    accounting.recordCached('generate', 'local-model', usage);
    const report = accounting.report();
    expect(report.totals.unpriced_cached_calls).toBe(1);
    expect(formatSaved(report.totals)).toBe('unpriced');
    expect(formatSaved(report.by_model['local-model'] as UsageFigures)).toBe('unpriced');
    accounting.recordCached('judge', 'a', usage);
    const both = accounting.report();
    expect(formatSaved(both.totals)).toBe('$0.0140 + 1 unpriced hit');
    expect(formatSaved(both.by_model.a as UsageFigures)).toBe('$0.0140');
    // No hits: nothing was saved, whatever the prices; a run.json from before the field: priced.
    expect(formatSaved({ cached_calls: 0, saved_cost_usd: 0, unpriced_cached_calls: 0 })).toBe('$0.0000');
    expect(formatSaved({ cached_calls: 3, saved_cost_usd: 0.5 })).toBe('$0.5000');
    // In the text of `gemtraj stats`: per row and in all.
    const text = formatUsage(both, undefined);
    expect(text).toContain('cache saved $0.0140 + 1 unpriced hit)');
    expect(text).toContain('generate local-model: 0 calls + 1 cached, 0 + 0 tokens, $0.0000 (cache saved unpriced)');
    // A model priced at $0 saved $0: that is a price, not "unpriced".
    const free = new UsageAccounting(priceBook({ prices: { free: { prompt_per_million: 0, completion_per_million: 0 } } }));
    free.recordCached('judge', 'free', usage);
    free.recordCall('generate', 'local-model', usage);
    expect(formatSaved(free.report().totals)).toBe('$0.0000');
  });
});

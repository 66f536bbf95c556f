/**
 * What a call costs. The config's `prices` come first; other models are looked up in the
 * maintained price table of hosted models (@pydantic/genai-prices, bundled data, no network),
 * matched by the base URL's provider and the model name, so a local server's model is never
 * priced as some provider's. A model found nowhere is *unpriced*: its cost is unknown, not $0.
 * Batch calls cost `factor` of the live price.
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { Usage } from '../records.js';
import type { ModelPrice } from './options.js';

/** Dollars for `usage` of `model`; `undefined` when the model has no known price. */
export type PriceOf = (model: string, usage: Usage) => number | undefined;

export interface PriceBookOptions {
  /** Prices by model name; they override the table. */
  prices: Record<string, ModelPrice>;
  /** Look models up in the maintained table. @default true */
  table?: boolean | undefined;
  /** Base URL the calls go to: picks the provider in the table. Without it, no table lookup. */
  baseUrl?: string | undefined;
  /** Share of the price paid (0.5 for the Batch API). In [0, 1]. @default 1 */
  factor?: number | undefined;
}

/** Dollars for `usage` at a per-million `price`. */
export function costAt(usage: Usage, price: ModelPrice): number {
  return (usage.prompt_tokens * price.prompt_per_million + usage.completion_tokens * price.completion_per_million) / 1e6;
}

/** The price function for a gateway's calls. */
export function priceBook(options: PriceBookOptions): PriceOf {
  const factor = options.factor ?? 1;
  const { baseUrl } = options;
  const useTable = options.table !== false && baseUrl !== undefined;
  return (model, usage) => {
    const own = options.prices[model];
    if (own !== undefined) return costAt(usage, own) * factor;
    if (!useTable) return undefined;
    const found = tablePrice(model, usage, baseUrl);
    return found === undefined ? undefined : found * factor;
  };
}

/** The table's price of `usage` for `model` at `baseUrl`; `undefined` when the table has none. */
export function tablePrice(model: string, usage: Usage, baseUrl: string): number | undefined {
  try {
    const result = calcPrice({ input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens }, model, { providerApiUrl: baseUrl });
    return result === null ? undefined : result.total_price;
  } catch {
    return undefined; // a table entry the library cannot evaluate is as good as none
  }
}

/** Live price per million prompt and completion tokens of `model` (for estimates); `undefined` when unknown. */
export function pricePerMillion(options: PriceBookOptions, model: string): ModelPrice | undefined {
  const book = priceBook({ ...options, factor: 1 });
  const prompt = book(model, { prompt_tokens: 1e6, completion_tokens: 0 });
  const completion = book(model, { prompt_tokens: 0, completion_tokens: 1e6 });
  return prompt === undefined || completion === undefined ? undefined : { prompt_per_million: prompt, completion_per_million: completion };
}

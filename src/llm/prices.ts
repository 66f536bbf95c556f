/**
 * What a call costs. The config's `prices` come first; other models are looked up in the
 * maintained price table of hosted models (@pydantic/genai-prices, bundled data, no network),
 * matched by the base URL's provider and the model name, so a local server's model is never
 * priced as some provider's. A model found nowhere is *unpriced*: its cost is unknown, not $0.
 * Batch calls cost `factor` of the live price.
 *
 * The table is loaded on the first lookup that needs it (about 2 MB of JavaScript, ~0.3 s) and
 * never for a local or private base URL, which no provider matches; each model's rate is looked
 * up once (a lookup costs about 1 ms of CPU) and priced per call by arithmetic. Rates are taken
 * at a 1,000-token prompt: tiers for very long prompts (some providers charge more above 200k
 * tokens) are not applied.
 */
import { createRequire } from 'node:module';
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
  const useTable = options.table !== false && baseUrl !== undefined && !isLocalUrl(baseUrl);
  const rates = new Map<string, ModelPrice | undefined>();
  return (model, usage) => {
    let price = options.prices[model];
    if (price === undefined && useTable) {
      if (!rates.has(model)) rates.set(model, tableRate(model, baseUrl));
      price = rates.get(model);
    }
    return price === undefined ? undefined : costAt(usage, price) * factor;
  };
}

/** Loopback and private-network URLs: a server of your own, which the table cannot price. */
export function isLocalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return true;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.local') ||
    host === '::1' ||
    /^127\./.test(host) ||
    /^10\./.test(host) ||
    /^192\.168\./.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    /^0\.0\.0\.0$/.test(host)
  );
}

type CalcPrice = (usage: Record<string, number>, model: string, options: { providerApiUrl: string }) => { input_price: number; output_price: number } | null;
let calcPrice: CalcPrice | undefined;

/** The table's price of `model` at `baseUrl`, per million tokens (at a 1,000-token prompt); `undefined` when it has none. */
export function tableRate(model: string, baseUrl: string): ModelPrice | undefined {
  try {
    // Synchronous and lazy: cost accounting is synchronous, and most runs never need the table.
    calcPrice ??= (createRequire(import.meta.url)('@pydantic/genai-prices') as { calcPrice: CalcPrice }).calcPrice;
    const result = calcPrice({ input_tokens: 1000, output_tokens: 1000 }, model, { providerApiUrl: baseUrl });
    return result === null ? undefined : { prompt_per_million: result.input_price * 1000, completion_per_million: result.output_price * 1000 };
  } catch {
    return undefined; // a table entry the library cannot evaluate is as good as none
  }
}

/** Live price per million prompt and completion tokens of `model` (for estimates); `undefined` when unknown. */
export function pricePerMillion(options: PriceBookOptions, model: string): ModelPrice | undefined {
  const own = options.prices[model];
  if (own !== undefined) return own;
  if (options.table === false || options.baseUrl === undefined || isLocalUrl(options.baseUrl)) return undefined;
  return tableRate(model, options.baseUrl);
}

/**
 * What each model accepts, learned from its refusals. OpenAI's reasoning models (gpt-5, the
 * o-series) refuse `max_tokens` and any non-default `temperature`; some servers refuse
 * `reasoning_effort` or `seed`. When a server answers 400 "unsupported parameter/value" for an
 * optional sampling parameter, the HTTP backend adapts it here (renames the token cap, or leaves
 * the parameter out), remembers that for the model, retries, and says so once.
 * Part of the HTTP backend.
 */
import type { ChatRequest } from './backend.js';

/** Optional request members that may be adapted; anything else refused stays a fatal 400. */
export const ADAPTABLE_PARAMS = ['max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'seed', 'reasoning_effort'] as const;
export type AdaptableParam = (typeof ADAPTABLE_PARAMS)[number];

/** Which member carries the completion cap: OpenAI's current name, the older one, or none. */
export type TokenParam = 'max_tokens' | 'max_completion_tokens' | 'none';

/** The parameters of a request as sent on the wire (OpenAI names). */
export type WireParams = Omit<ChatRequest, 'max_tokens'> & { max_tokens?: number; max_completion_tokens?: number };

interface ModelState {
  tokenParam: TokenParam;
  /** Token parameter names the server refused for this model. */
  refusedTokenParams: Set<TokenParam>;
  dropped: Set<AdaptableParam>;
}

const REFUSAL_CODES = new Set(['unsupported_parameter', 'unsupported_value', 'unknown_parameter', 'extra_forbidden']);
const REFUSAL_PATTERNS = [
  /unsupported (?:parameter|value):\s*'([a-z_]+)'/i, // OpenAI
  /unknown parameter:\s*'([a-z_]+)'/i,
  /unrecognized request arguments? supplied:\s*([a-z_]+)/i, // Azure
  /'?([a-z_]+)'? (?:is|are) not supported (?:with|by|for) this model/i,
  /([a-z_]+): extra inputs are not permitted/i, // pydantic (vLLM, SGLang) via error-shapes
];

/**
 * The optional parameter a 400 says the model refuses, when the request carried it; `undefined`
 * for any other 400 (a bad schema, a bad message), which stays fatal.
 */
export function refusedParameter(error: { code?: unknown; type?: unknown; param?: unknown; message: string }, sent: WireParams): AdaptableParam | undefined {
  const candidates: string[] = [];
  const coded = [error.code, error.type].some((c) => typeof c === 'string' && REFUSAL_CODES.has(c));
  if (coded && typeof error.param === 'string') candidates.push(error.param);
  for (const pattern of REFUSAL_PATTERNS) {
    const match = pattern.exec(error.message);
    if (match?.[1] !== undefined) candidates.push(match[1]);
  }
  for (const name of candidates) {
    const param = (ADAPTABLE_PARAMS as readonly string[]).includes(name) ? (name as AdaptableParam) : undefined;
    if (param !== undefined && (sent as Record<string, unknown>)[param] !== undefined) return param;
  }
  return undefined;
}

export class ParamAdapter {
  private readonly models = new Map<string, ModelState>();

  /**
   * @param initialTokenParam the cap's name before any refusal: `max_completion_tokens` for
   *   OpenAI (its reasoning models refuse `max_tokens`), `max_tokens` elsewhere (what every
   *   OpenAI-compatible server has always read).
   * @param onNotice told once per model and parameter what was changed.
   */
  constructor(
    private readonly initialTokenParam: 'max_tokens' | 'max_completion_tokens',
    private readonly onNotice: ((message: string) => void) | undefined,
  ) {}

  private state(model: string): ModelState {
    let state = this.models.get(model);
    if (state === undefined) {
      state = { tokenParam: this.initialTokenParam, refusedTokenParams: new Set(), dropped: new Set() };
      this.models.set(model, state);
    }
    return state;
  }

  /** The request's parameters as this model accepts them. */
  wire(request: ChatRequest): WireParams {
    const state = this.state(request.model);
    const { max_tokens: cap, ...rest } = request;
    const out: WireParams = { ...rest };
    for (const param of state.dropped) delete (out as Record<string, unknown>)[param];
    if (cap !== undefined && state.tokenParam !== 'none') out[state.tokenParam] = cap;
    return out;
  }

  /**
   * Adapts `model` after the server refused `param`; true when the next attempt will differ
   * (retry it), false when there is nothing left to change (the refusal stands).
   */
  adapt(model: string, param: AdaptableParam, serverMessage: string): boolean {
    const state = this.state(model);
    let change: string;
    if (param === 'max_tokens' || param === 'max_completion_tokens') {
      if (state.tokenParam !== param) return true; // another request already adapted it
      state.refusedTokenParams.add(param);
      const other = param === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
      state.tokenParam = state.refusedTokenParams.has(other) ? 'none' : other;
      change = state.tokenParam === 'none' ? 'sends no completion cap' : `sends the completion cap as ${state.tokenParam} instead of ${param}`;
    } else {
      if (state.dropped.has(param)) return true;
      state.dropped.add(param);
      change = `leaves ${param} out (the model's own default applies)`;
    }
    this.onNotice?.(`model "${model}" refuses ${param} ("${serverMessage}"): gemtraj now ${change} for this model`);
    return true;
  }
}

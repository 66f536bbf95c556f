/** The model gateway: the only code in gemtraj that talks HTTP to models. */
export * from './types.js';
export * from './errors.js';
export * from './options.js';
export { createGateway, type Gateway, type GatewayInit, type GatewayEvent, type GatewayListener, type GatewayStats } from './gateway.js';
export { parseJsonAnswer, stripThinking, toJsonSchema, isStrictCompatible, validateAnswer, formatIssues, type ParsedAnswer, type ResponseFormat, type JsonSchema } from './structured.js';
export { ResponseCache, cacheKey, canonicalJson, type CacheKeyParts, type CachedCompletion } from './cache.js';
export { costOf, emptyFigures, type UsageFigures, type UsageReport } from './usage.js';
export { parseRetryAfter, backoffDelay } from './retry.js';
export type { ReplicaStats } from './transport.js';

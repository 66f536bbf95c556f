/** The model gateway: the only code in gemtraj that talks to models. */
export * from './types.js';
export * from './errors.js';
export * from './options.js';
export { createGateway, type Gateway, type GatewayInit, type GatewayEvent, type GatewayListener, type GatewayStats } from './gateway.js';
export {
  BackendError,
  type BackendFailure,
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  type ModelBackend,
  type ReplicaStats,
  type RetryableFailure,
  type SendOptions,
} from './backend.js';
export { HttpBackend, type HttpBackendOptions } from './http-backend.js';
export { gatewayFromConfig, resolveEndpoint, NO_ENDPOINT_HELP, OPENAI_BASE_URL, OPENAI_DEFAULT_MODEL, type Endpoint, type GatewayFromConfigOptions } from './from-config.js';
export { parseJsonAnswer, stripThinking, toJsonSchema, isStrictCompatible, validateAnswer, formatIssues, type ParsedAnswer, type ResponseFormat, type JsonSchema } from './structured.js';
export { ResponseCache, cacheKey, canonicalJson, type CacheKeyParts, type CachedCompletion } from './cache.js';
export { costOf, emptyFigures, type UsageFigures, type UsageReport } from './usage.js';
export { parseRetryAfter, backoffDelay } from './retry.js';
export { BatchBackend, BATCH_METADATA_KEY, type BatchBackendOptions, type BatchBackendStats } from './batch-backend.js';
export { BatchApi, type BatchApiOptions, type BatchStatus, type RemoteBatch } from './batch-api.js';
export { BatchJournal, BATCH_JOURNAL_FILE } from './batch-journal.js';
export { ExportBackend, type ExportBackendOptions } from './batch-export.js';
export { importBatchOutput, type ImportSummary } from './batch-import.js';
export { priceBook, pricePerMillion, type PriceOf, type PriceBookOptions } from './prices.js';
export { formatCost } from './usage.js';

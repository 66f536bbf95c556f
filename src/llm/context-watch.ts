/**
 * Warns once when prompts are likely cut by the server's context window. Ollama's default
 * context is 4,096 tokens on machines with under 24 GiB of VRAM, and it does not refuse a
 * longer prompt: it drops the start of it and answers anyway, so a generate prompt (4k–11k
 * tokens) loses its instructions without any error. Two signs are watched:
 * - the endpoint is Ollama (its port, 11434) and a prompt is estimated above 4,096 tokens;
 * - any endpoint reports `usage.prompt_tokens` far below the estimate: the prompt was
 *   truncated silently (Ollama reports the tokens it kept, capped at its context).
 */

/** Ollama's default context window on machines under 24 GiB of VRAM, in tokens. */
export const OLLAMA_DEFAULT_CONTEXT = 4096;
/** Ollama's default port. */
export const OLLAMA_PORT = '11434';
/**
 * Reported prompt tokens below this share of the estimate mean truncation. The estimate is
 * characters / 4; real tokenizers count English at about 1 token per 3.5–4.5 characters.
 */
const TRUNCATED_SHARE = 0.5;
/** Prompts shorter than this are not judged: fixed overheads dominate small counts. */
const MIN_ESTIMATE = 1024;

/** The setting that raises the context, for every message. */
const RAISE = `raise it on the server: OLLAMA_CONTEXT_LENGTH=32768 ollama serve (or PARAMETER num_ctx 32768 in the model's Modelfile); the OpenAI-compatible API takes no per-request num_ctx`;

/** Whether a base URL points at Ollama's default port. */
export function isOllamaUrl(baseUrl: string): boolean {
  try {
    const url = new URL(baseUrl);
    return url.port === OLLAMA_PORT;
  } catch {
    return false;
  }
}

export class ContextWatch {
  private readonly ollama: boolean;
  private warnedSize = false;
  private warnedTruncation = false;

  constructor(
    baseUrls: readonly string[],
    private readonly notice: (message: string) => void,
  ) {
    this.ollama = baseUrls.some(isOllamaUrl);
  }

  /** Before a request is sent: on Ollama, a prompt larger than its default context. */
  beforeSend(estimate: number): void {
    if (!this.ollama || this.warnedSize || estimate <= OLLAMA_DEFAULT_CONTEXT) return;
    this.warnedSize = true;
    this.notice(
      `a prompt of about ${estimate} tokens goes to Ollama, whose default context is ${OLLAMA_DEFAULT_CONTEXT} tokens (on machines under 24 GiB of VRAM); ` +
        `Ollama cuts longer prompts silently. Unless the context was raised already, ${RAISE}`,
    );
  }

  /** After an answer: reported prompt tokens far below the estimate are the mark of silent truncation. */
  afterResponse(estimate: number, promptTokens: number | undefined, model: string): void {
    if (this.warnedTruncation || promptTokens === undefined || promptTokens <= 0 || estimate < MIN_ESTIMATE) return;
    if (promptTokens >= estimate * TRUNCATED_SHARE) return;
    this.warnedTruncation = true;
    this.notice(
      `the server counted ${promptTokens} prompt tokens for a prompt of about ${estimate} (model "${model}"): it most likely cut the prompt to its context window without saying so, ` +
        `and the answers are written from a partial prompt. Give the model a larger context${this.ollama ? `: ${RAISE}` : ` (on Ollama: ${RAISE})`}`,
    );
  }
}

import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import { transformJSONSchema } from "@anthropic-ai/sdk/lib/transform-json-schema";
import type { Usage } from "../engine/types.js";
import type { Tier } from "../pipeline/schema.js";
import { stripCodeFence } from "../util/text.js";
import type { Price } from "./prices.js";
import { type ModelRequest, type ModelResponse, type Provider, ProviderError } from "./provider.js";

const KEY_VARIABLE = "ANTHROPIC_API_KEY";

/**
 * Current models as of 2026-11-23 (https://platform.claude.com/docs/en/models/overview and each
 * model's overview page). These ids carry no date: Haiku 5.5 has no separate alias, and the Sonnet
 * and Opus 5.5 ids are the ones the docs and the SDK's `Model` type list first.
 */
export const ANTHROPIC_DEFAULT_MODELS: Record<Tier, string> = {
  fast: "claude-haiku-5-5",
  balanced: "claude-sonnet-5-5",
  deep: "claude-opus-5-5",
};

/**
 * USD per million tokens; cache write is the 5-minute write (the adapter asks for no 1-hour
 * cache). Read 2026-11-23 from https://platform.claude.com/docs/en/about-claude/pricing and the
 * model pages https://platform.claude.com/docs/en/models/{haiku-5-5,sonnet-5-5,opus-5-5,opus-5,sonnet-5}/overview.
 * Cache reads are not 0.1x input on every model: Opus 5.5 reads at 0.05x ($0.20, model page).
 * Sonnet 5.5 reads at $0.10 (0.05x) since 2026-10-07: the model page as stored still showed
 * $0.20, the figure is from the price cut reported against the pricing page; confirm it there.
 * Haiku 5.5's cache read ($0.01) is from guides quoting the model page, whose stored copy was cut
 * before that line. Haiku 5.5 has a long-prompt band: see {@link ANTHROPIC_LONG_PROMPT_PRICES}.
 */
export const ANTHROPIC_PRICES: Record<string, Price> = {
  "claude-haiku-5-5": { input: 0.1, output: 0.5, cacheRead: 0.01, cacheWrite: 0.125 },
  "claude-sonnet-5-5": { input: 2, output: 10, cacheRead: 0.1, cacheWrite: 2.5 },
  "claude-opus-5-5": { input: 4, output: 20, cacheRead: 0.2, cacheWrite: 5 },
  "claude-sonnet-5": { input: 2, output: 10, cacheRead: 0.2, cacheWrite: 2.5 },
  "claude-opus-5": { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
};

/**
 * Haiku 5.5 bills a request whose prompt (input + cache read + cache write) is over 100,000
 * tokens at five times the rates, output included (same sources as {@link ANTHROPIC_PRICES}).
 */
export const ANTHROPIC_LONG_PROMPT_PRICES: Record<string, { overTokens: number; price: Price }> = {
  "claude-haiku-5-5": {
    overTokens: 100_000,
    price: { input: 0.5, output: 2.5, cacheRead: 0.05, cacheWrite: 0.625 },
  },
};

/** The price of one call, with Haiku's long-prompt band; undefined for a model not in the table. */
export function anthropicPriceFor(model: string, usage: Usage): Price | undefined {
  const long = ANTHROPIC_LONG_PROMPT_PRICES[model];
  const prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  if (long && prompt > long.overTokens) return long.price;
  return ANTHROPIC_PRICES[model];
}

/**
 * Adaptive thinking is on by default on the 5.x models and its tokens count against max_tokens,
 * so stronger tiers get more room. All stay under 21,333, past which the SDK would ask for
 * streaming (it expects a non-streaming call to take up to 10 minutes at that size).
 */
const DEFAULT_MAX_OUTPUT: Record<Tier, number> = { fast: 8192, balanced: 16384, deep: 16384 };

const JSON_INSTRUCTION =
  "Answer with one JSON object and nothing else: no text before or after it and no Markdown fence.";

export interface AnthropicProviderOptions {
  /** Never logged and never put into a message; missing, every call fails naming ANTHROPIC_API_KEY. */
  apiKey?: string | undefined;
  models?: Partial<Record<Tier, string>>;
  /** A whole call, retries and waits included. Default 10 minutes. */
  timeoutMs?: number;
  /** Retries of 408, 409, 429, 5xx and connection errors. Default 3. */
  maxRetries?: number;
  /** Default https://api.anthropic.com (the ANTHROPIC_BASE_URL variable is not read). */
  baseURL?: string;
  fetch?: typeof globalThis.fetch;
}

/** Claude through the Messages API, with the stable prefix (system, then context) prompt-cached. */
export function createAnthropicProvider(options: AnthropicProviderOptions = {}): Provider {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const apiKey = options.apiKey?.trim() || undefined;
  // Retries are the SDK's own: it retries 408, 409, 429 and >= 500 (529 overloaded included) and
  // connection errors with exponential backoff (0.5 s doubling to 8 s, with jitter), waits for
  // `retry-after-ms` or `retry-after` when the response has one, and obeys `x-should-retry`
  // (node_modules/@anthropic-ai/sdk/src/client.ts, shouldRetry and retryRequest).
  const client = apiKey
    ? new Anthropic({
        apiKey,
        baseURL: options.baseURL ?? "https://api.anthropic.com",
        maxRetries: options.maxRetries ?? 3,
        // Per HTTP attempt; the whole call is bounded below by `timeoutMs` as well.
        timeout: timeoutMs,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      })
    : undefined;
  const modelFor = (tier: Tier) => options.models?.[tier] ?? ANTHROPIC_DEFAULT_MODELS[tier];

  return {
    name: "anthropic",
    modelFor,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      if (!client) {
        throw new ProviderError(`no Anthropic API key: set ${KEY_VARIABLE}`, "config");
      }
      const model = request.model ?? modelFor(request.tier);
      const maxTokens = request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT[request.tier];
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, deadline]) : deadline;
      let message: Anthropic.Message;
      try {
        message = await client.messages.create(body(request, model, maxTokens), { signal });
      } catch (error) {
        throw mapError(error, { request, model, timeoutMs, apiKey });
      }
      return toResponse(message, request, model, maxTokens);
    },
  };
}

function body(
  request: ModelRequest,
  model: string,
  maxTokens: number,
): Anthropic.MessageCreateParamsNonStreaming {
  const ephemeral = { type: "ephemeral" } as const;
  const system = request.json ? `${request.system}\n\n${JSON_INSTRUCTION}` : request.system;
  // The context is the same across a phase's attempts: a breakpoint after it caches system +
  // context, so a retry pays for its prompt only (cache reads are a tenth of input or less).
  const content: Anthropic.TextBlockParam[] = request.context
    ? [
        { type: "text", text: request.context, cache_control: ephemeral },
        { type: "text", text: request.prompt },
      ]
    : [{ type: "text", text: request.prompt }];
  const params: Anthropic.MessageCreateParamsNonStreaming = {
    model,
    max_tokens: maxTokens,
    system: [{ type: "text", text: system, cache_control: ephemeral }],
    messages: [{ role: "user", content }],
  };
  const schema = request.json && request.jsonSchema ? outputSchema(request.jsonSchema) : undefined;
  if (schema) params.output_config = { format: { type: "json_schema", schema } };
  return params;
}

/**
 * Structured outputs accept a subset of JSON Schema; the SDK's own transform makes a schema fit
 * (closed objects, unsupported keywords moved into descriptions). zod's draft-7 output keeps
 * shared parts under `definitions`, which the transform only knows as `$defs`. A schema it cannot
 * take (no type, as zod writes for "any") is left out: the JSON instruction in the system text and
 * the caller's zod check still hold.
 */
function outputSchema(schema: Record<string, unknown>): Record<string, unknown> | undefined {
  let text = JSON.stringify(schema);
  if ("definitions" in schema) {
    const { definitions, ...rest } = schema;
    text = JSON.stringify({ ...rest, $defs: definitions }).replaceAll('"#/definitions/', '"#/$defs/');
  }
  try {
    return transformJSONSchema(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function toResponse(
  message: Anthropic.Message,
  request: ModelRequest,
  model: string,
  maxTokens: number,
): ModelResponse {
  const usage: Usage = {
    // Anthropic's input_tokens already leaves out the tokens read from or written to the cache.
    inputTokens: message.usage.input_tokens,
    outputTokens: message.usage.output_tokens,
    cacheReadTokens: message.usage.cache_read_input_tokens ?? 0,
    cacheWriteTokens: message.usage.cache_creation_input_tokens ?? 0,
  };
  const used = message.model || model;
  // An unusable answer was still billed: the error carries its usage so the run counts it.
  const spent = { spent: { provider: "anthropic", model: used, usage } };
  if (message.stop_reason === "refusal") {
    const category = message.stop_details?.category;
    throw new ProviderError(
      `${used} refused to answer${category ? ` (category: ${category})` : ""}`,
      "bad-output",
      spent,
    );
  }
  if (message.stop_reason === "max_tokens") {
    throw new ProviderError(
      `${used}'s answer was cut off at ${maxTokens} output tokens (the max-tokens limit)`,
      "bad-output",
      spent,
    );
  }
  if (message.stop_reason === "model_context_window_exceeded") {
    throw new ProviderError(`${used}'s answer was cut off: its context window is full`, "bad-output", spent);
  }
  // Thinking blocks come first on the adaptive-thinking models; only the text blocks are the answer.
  let text = message.content
    .filter((block) => block.type === "text")
    .map((block) => block.text)
    .join("");
  if (text.trim() === "") throw new ProviderError(`${used} returned an empty answer`, "bad-output", spent);
  if (request.json) {
    text = stripCodeFence(text);
    if (!isJsonObject(text)) {
      throw new ProviderError(
        `${used} did not answer with the JSON object that was asked for`,
        "bad-output",
        spent,
      );
    }
  }
  return { text, provider: "anthropic", model: used, usage, simulated: false };
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

interface ErrorContext {
  request: ModelRequest;
  model: string;
  timeoutMs: number;
  apiKey: string | undefined;
}

/** Sorts an SDK failure into a {@link ProviderError} kind; the SDK has already retried what it retries. */
function mapError(error: unknown, context: ErrorContext): unknown {
  if (!(error instanceof AnthropicError)) return error;
  const { request, model } = context;
  const fail = (message: string, kind: ProviderError["kind"]) =>
    new ProviderError(redact(message, context.apiKey), kind, { cause: error });
  if (error instanceof APIUserAbortError || request.signal?.aborted) {
    if (request.signal?.aborted) return fail("the Anthropic call was cancelled", "cancelled");
    return fail(`the Anthropic call timed out after ${context.timeoutMs} ms`, "unavailable");
  }
  if (error instanceof APIConnectionTimeoutError) {
    return fail(`the Anthropic call timed out after its retries: ${error.message}`, "unavailable");
  }
  if (error instanceof APIConnectionError) {
    return fail(`could not reach the Anthropic API after its retries: ${error.message}`, "unavailable");
  }
  if (!(error instanceof APIError) || error.status === undefined) {
    return fail(`the Anthropic call failed: ${error.message}`, "unavailable");
  }
  const status = error.status;
  const detail = error.apiMessage ?? error.message;
  const where = `the repository's \`tiers.${request.tier}\` or the phase's \`model:\``;
  if (status === 401) {
    return fail(
      `Anthropic rejected the API key (401: ${detail}): set ${KEY_VARIABLE} to a valid key`,
      "config",
    );
  }
  if (status === 403) {
    return fail(
      `the Anthropic API key may not use ${model} (403: ${detail}): check ${KEY_VARIABLE}, or choose another model with ${where}`,
      "config",
    );
  }
  if (status === 404) {
    return fail(`Anthropic has no model "${model}" (404: ${detail}); it is set by ${where}`, "config");
  }
  // A monthly spend cap answers 429 too, but no wait will lift it.
  if (error.errorCode === "enforced_spend_limit_reached" || status === 402) {
    return fail(`Anthropic refused the call for billing (${status}: ${detail})`, "config");
  }
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    const what = status === 429 ? "rate limited" : status === 529 ? "overloaded" : "failing";
    return fail(
      `the Anthropic API is ${what} (${status}: ${detail}), still after the retries`,
      "unavailable",
    );
  }
  // 400, 413, 422 and the like: the request itself is wrong; sending it again will not help.
  return fail(`Anthropic refused the request to ${model} (${status}: ${detail})`, "config");
}

/** The key never appears in an error, even should an error body or a library message echo it. */
function redact(message: string, apiKey: string | undefined): string {
  return apiKey ? message.replaceAll(apiKey, "[redacted]") : message;
}

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
import { ANTHROPIC_DEFAULT_MODELS } from "./catalog.js";
import { type ModelRequest, type ModelResponse, type Provider, ProviderError } from "./provider.js";

const KEY_VARIABLE = "ANTHROPIC_API_KEY";

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

import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  type ClientOptions,
} from "openai";
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from "openai/resources/chat/completions";
import type { Usage } from "../engine/types.js";
import type { Tier } from "../pipeline/schema.js";
import { oneLine, stripCodeFence } from "../util/text.js";
import { OPENAI_COMPATIBLE_DEFAULT_MODELS } from "./catalog.js";
import {
  estimateTokens,
  type ModelRequest,
  type ModelResponse,
  type Provider,
  ProviderError,
} from "./provider.js";

const NAME = "openai-compatible";

const DEFAULT_MAX_OUTPUT_TOKENS: Record<Tier, number> = { fast: 4096, balanced: 8192, deep: 8192 };

/** The SDK insists on a key; local servers (Ollama, llama.cpp, LM Studio) ignore it. */
const NO_KEY = "not-needed";

export interface OpenAICompatibleOptions {
  /** The server's OpenAI-compatible root, e.g. `http://localhost:11434/v1` for Ollama. */
  baseURL?: string;
  /** Only for servers that check one (vLLM `--api-key`, hosted endpoints). */
  apiKey?: string;
  models?: Partial<Record<Tier, string>>;
  /** Deadline for a whole call, retries included (default 10 minutes). */
  timeoutMs?: number;
  /** Retries of 408/409/429/5xx and connection errors (default 3). */
  maxRetries?: number;
  /** The fetch the SDK uses (tests, proxies). */
  fetch?: ClientOptions["fetch"];
}

interface CallContext {
  request: ModelRequest;
  model: string;
  server: string;
  apiKey: string | undefined;
  timeoutMs: number;
  maxRetries: number;
}

/**
 * Any server that speaks OpenAI's Chat Completions (Ollama, llama.cpp's server, vLLM, LM Studio),
 * so a Raspberry Pi can run on a model on the same machine or the LAN.
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): Provider {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const maxRetries = options.maxRetries ?? 3;
  const modelFor = (tier: Tier) => options.models?.[tier] ?? OPENAI_COMPATIBLE_DEFAULT_MODELS[tier];
  // Every setting is passed explicitly so the SDK reads nothing from process.env (OPENAI_BASE_URL,
  // OPENAI_ORG_ID, ...): configuration comes from the composition root only.
  const client = options.baseURL
    ? new OpenAI({
        baseURL: options.baseURL,
        apiKey: options.apiKey || NO_KEY,
        adminAPIKey: null,
        organization: null,
        project: null,
        webhookSecret: null,
        // The SDK retries 408, 409, 429, 5xx and connection errors with exponential backoff, and
        // waits as long as `retry-after-ms` or `retry-after` says when the server sends one
        // (node_modules/openai/src/client.ts, shouldRetry and retryRequest, v6.49).
        maxRetries,
        // Per attempt; the deadline in `send` bounds the whole call.
        timeout: timeoutMs,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      })
    : undefined;

  return {
    name: NAME,
    modelFor,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      if (!client || !options.baseURL) {
        throw new ProviderError(
          "the openai-compatible provider has no server URL: set ATOMIC_SCRUM_OPENAI_BASE_URL " +
            "(e.g. http://localhost:11434/v1 for Ollama)",
          "config",
        );
      }
      const ctx: CallContext = {
        request,
        model: request.model ?? modelFor(request.tier),
        server: describeServer(options.baseURL),
        apiKey: options.apiKey,
        timeoutMs,
        maxRetries,
      };
      if (request.signal?.aborted) throw cancelled(request.signal.reason);
      const completion = await sendWithFallback(client, ctx);
      return toResponse(completion, ctx);
    },
  };
}

/**
 * Sends the request; if the server rejects `response_format` (LM Studio refuses `json_object`),
 * sends it once more without: the prompt still asks for JSON and the caller validates it.
 */
async function sendWithFallback(client: OpenAI, ctx: CallContext): Promise<ChatCompletion> {
  const body = requestBody(ctx);
  try {
    return await send(client, body, ctx);
  } catch (error) {
    if (body.response_format && rejectsResponseFormat(error)) {
      const { response_format: _, ...plain } = body;
      try {
        return await send(client, plain, ctx);
      } catch (retryError) {
        throw toProviderError(retryError, ctx);
      }
    }
    throw toProviderError(error, ctx);
  }
}

function rejectsResponseFormat(error: unknown): boolean {
  return (
    error instanceof APIError &&
    (error.status === 400 || error.status === 422) &&
    /response_format/i.test(error.message)
  );
}

function requestBody(ctx: CallContext): ChatCompletionCreateParamsNonStreaming {
  const { request } = ctx;
  // One plain-string user message: Ollama turns each content part into a message of its own
  // (openai/openai.go FromChatRequest), and chat templates that require alternating roles reject two
  // user turns in a row. Context goes first so system + context stay a stable prefix that Ollama
  // and llama.cpp keep in their KV cache across a phase's attempts.
  const user = request.context ? `${request.context}\n\n---\n\n${request.prompt}` : request.prompt;
  const body: ChatCompletionCreateParamsNonStreaming = {
    model: ctx.model,
    messages: [
      { role: "system", content: request.system },
      { role: "user", content: user },
    ],
    // `max_tokens`, not `max_completion_tokens`: Ollama reads only the former (it becomes num_predict).
    max_tokens: request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS[request.tier],
  };
  if (request.json) body.response_format = responseFormat(request);
  return body;
}

/**
 * `json_schema` when there is a schema: Ollama, vLLM, llama.cpp and LM Studio all accept it
 * and constrain decoding to it; LM Studio accepts nothing else. `strict: false` because a schema
 * made from zod need not fit OpenAI's strict subset, and local servers ignore the flag anyway.
 * Without a schema, `json_object` (Ollama, vLLM, llama.cpp), with the fallback above for LM Studio.
 */
function responseFormat(request: ModelRequest): ChatCompletionCreateParamsNonStreaming["response_format"] {
  if (!request.jsonSchema) return { type: "json_object" };
  const name = request.purpose.kind === "judge" ? "verdict" : "answer";
  return { type: "json_schema", json_schema: { name, schema: request.jsonSchema, strict: false } };
}

/**
 * One call under a deadline for the whole call, retries included (the SDK's `timeout` is per
 * attempt), passing the caller's signal. The race matters: the SDK's sleep before a retry does not
 * watch the signal, and it honours any `retry-after`, however long, with no cap of its own.
 */
async function send(
  client: OpenAI,
  body: ChatCompletionCreateParamsNonStreaming,
  ctx: CallContext,
): Promise<ChatCompletion> {
  const deadline = AbortSignal.timeout(ctx.timeoutMs);
  const signal = ctx.request.signal ? AbortSignal.any([ctx.request.signal, deadline]) : deadline;
  return untilAborted(client.chat.completions.create(body, { signal }), signal);
}

function untilAborted<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new APIUserAbortError());
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

function toResponse(completion: ChatCompletion, ctx: CallContext): ModelResponse {
  const choice = completion.choices?.[0];
  const raw = choice?.message?.content ?? "";
  // An unusable answer was still billed: the error carries its usage so the run counts it.
  const usage = usageOf(completion, ctx.request, raw);
  const spent = { spent: { provider: NAME, model: completion.model || ctx.model, usage } };
  if (choice?.finish_reason === "length") {
    const limit = ctx.request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS[ctx.request.tier];
    throw new ProviderError(
      `${ctx.model} was cut off at the output limit of ${limit} tokens (finish_reason "length")`,
      "bad-output",
      spent,
    );
  }
  const refusal = choice?.message?.refusal;
  if (refusal) throw new ProviderError(`${ctx.model} refused: ${oneLine(refusal)}`, "bad-output", spent);
  if (choice?.finish_reason === "content_filter") {
    throw new ProviderError(`${ctx.model}'s answer was withheld by a content filter`, "bad-output", spent);
  }
  const text = withoutThinking(raw);
  if (!text.trim()) throw new ProviderError(`${ctx.model} returned an empty answer`, "bad-output", spent);
  return {
    text: ctx.request.json ? jsonText(text) : text,
    provider: NAME,
    model: completion.model || ctx.model,
    usage,
    simulated: false,
  };
}

/** Reasoning models on servers without a reasoning parser put their thinking inline, first. */
function withoutThinking(text: string): string {
  return text.replace(/^\s*<think>[\s\S]*?<\/think>\s*/, "");
}

/** The JSON object alone: small local models often wrap it in a fence or a sentence. */
function jsonText(text: string): string {
  const unfenced = stripCodeFence(text);
  if (unfenced.startsWith("{")) return unfenced;
  const start = unfenced.indexOf("{");
  const end = unfenced.lastIndexOf("}");
  return start >= 0 && end > start ? unfenced.slice(start, end + 1) : unfenced;
}

function usageOf(completion: ChatCompletion, request: ModelRequest, output: string): Usage {
  const usage = completion.usage;
  if (
    !usage ||
    typeof usage.prompt_tokens !== "number" ||
    (usage.prompt_tokens === 0 && usage.completion_tokens === 0)
  ) {
    // Some servers send no usage (or zeros): estimate it, so budgets and reports still see tokens.
    return {
      inputTokens:
        estimateTokens(request.system) +
        estimateTokens(request.context ?? "") +
        estimateTokens(request.prompt),
      outputTokens: estimateTokens(output),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    };
  }
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    inputTokens: Math.max(0, usage.prompt_tokens - cached),
    outputTokens: usage.completion_tokens ?? 0,
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
  };
}

/** Maps an SDK error to the kind that decides what happens next; other errors pass through. */
function toProviderError(error: unknown, ctx: CallContext): unknown {
  if (error instanceof ProviderError) return error;
  if (ctx.request.signal?.aborted) return cancelled(error);
  const cause = { cause: error };
  if (error instanceof APIUserAbortError || error instanceof APIConnectionTimeoutError) {
    return new ProviderError(
      `${ctx.server} gave no answer from ${ctx.model} within ${ctx.timeoutMs} ms`,
      "unavailable",
      cause,
    );
  }
  if (error instanceof APIConnectionError) {
    return new ProviderError(
      `could not reach the model server at ${ctx.server} after ${ctx.maxRetries} retries: is it running? ` +
        "(ATOMIC_SCRUM_OPENAI_BASE_URL)",
      "unavailable",
      cause,
    );
  }
  if (error instanceof APIError && typeof error.status === "number") return statusError(error, ctx);
  return error;
}

function statusError(error: APIError, ctx: CallContext): ProviderError {
  const status = error.status ?? 0;
  const detail = redact(oneLine(error.message, 300), ctx.apiKey);
  const cause = { cause: error };
  if (status === 401 || status === 403) {
    // The server's own text is left out: OpenAI-style servers echo part of the key in it.
    return new ProviderError(
      `${ctx.server} refused the API key (HTTP ${status}): set ATOMIC_SCRUM_OPENAI_API_KEY to a key it accepts`,
      "config",
      cause,
    );
  }
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    return new ProviderError(
      `${ctx.server} answered HTTP ${status} after ${ctx.maxRetries} retries: ${detail}`,
      "unavailable",
      cause,
    );
  }
  const setting = `set by the repository's \`tiers.${ctx.request.tier}\` or the phase's \`model:\``;
  const aboutModel = error.code === "model_not_found" || /model/i.test(error.message);
  if (status === 404 && !aboutModel) {
    // A 404 that names no model is most often a base URL without its /v1.
    return new ProviderError(
      `${ctx.server}/chat/completions does not exist (HTTP 404): check ATOMIC_SCRUM_OPENAI_BASE_URL ` +
        `(Ollama's is http://localhost:11434/v1) and the model "${ctx.model}", ${setting}`,
      "config",
      cause,
    );
  }
  if (status === 404 || (aboutModel && /not (found|loaded)|does not exist|unknown/i.test(error.message))) {
    return new ProviderError(
      `${ctx.server} has no model "${ctx.model}" (${setting}; with Ollama, run \`ollama pull ${ctx.model}\`): ${detail}`,
      "config",
      cause,
    );
  }
  return new ProviderError(`${ctx.server} rejected the request (HTTP ${status}): ${detail}`, "config", cause);
}

function cancelled(cause: unknown): ProviderError {
  return new ProviderError("the model call was cancelled", "cancelled", { cause });
}

/** The server for messages: credentials in the URL (user:pass@) never reach a message. */
function describeServer(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    url.username = "";
    url.password = "";
    url.search = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return "the configured server";
  }
}

function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join("[redacted]") : text;
}

import { setTimeout as sleep } from "node:timers/promises";
import { ApiError, type GenerateContentResponse, GoogleGenAI } from "@google/genai";
import type { Usage } from "../engine/types.js";
import type { Tier } from "../pipeline/schema.js";
import { oneLine, stripCodeFence } from "../util/text.js";
import { GEMINI_DEFAULT_MODELS } from "./catalog.js";
import { type ModelRequest, type ModelResponse, type Provider, ProviderError } from "./provider.js";

/** Thinking tokens count against this cap, so it leaves room for thought as well as the answer. */
const DEFAULT_MAX_OUTPUT_TOKENS: Record<Tier, number> = { fast: 16_384, balanced: 32_768, deep: 65_536 };

const KEY_VARIABLE = "GEMINI_API_KEY";
const BACKOFF_START_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;
/** A server asking for a longer wait than this is not waited for: the call fails as unavailable. */
const LONGEST_WAIT_MS = 120_000;
const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const BLOCKS = new Set(["SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"]);

export interface GeminiProviderOptions {
  /** Never logged and never put in a message. */
  apiKey?: string;
  models?: Partial<Record<Tier, string>>;
  /** For the whole call, retries and waits included (default 10 minutes). */
  timeoutMs?: number;
  /** Retries after the first attempt for 408, 429, 5xx and connection errors (default 3). */
  maxRetries?: number;
  /** The API's address; tests point it at a mocked host. */
  baseUrl?: string;
}

/** The Gemini Developer API (generativelanguage.googleapis.com) through `@google/genai`. */
export function createGeminiProvider(options: GeminiProviderOptions = {}): Provider {
  const apiKey = options.apiKey?.trim() || undefined;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const maxRetries = options.maxRetries ?? 3;
  const modelFor = (tier: Tier): string => options.models?.[tier] ?? GEMINI_DEFAULT_MODELS[tier];
  let client: GoogleGenAI | undefined;

  return {
    name: "gemini",
    modelFor,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      if (!apiKey) {
        throw new ProviderError(`no Gemini API key: set ${KEY_VARIABLE} on the server`, "config");
      }
      if (request.signal?.aborted) throw new ProviderError("the call was cancelled", "cancelled");
      // vertexai and baseUrl are explicit so the SDK's own environment lookups change nothing.
      client ??= new GoogleGenAI({
        apiKey,
        vertexai: false,
        httpOptions: { baseUrl: options.baseUrl ?? "https://generativelanguage.googleapis.com/" },
      });
      const call: Call = { client, request, model: request.model ?? modelFor(request.tier), apiKey };
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, deadline]) : deadline;
      const response = await withRetries(call, signal, maxRetries, Date.now() + timeoutMs).catch(
        (error: unknown) => {
          if (request.signal?.aborted) {
            throw new ProviderError("the call was cancelled", "cancelled", { cause: error });
          }
          if (deadline.aborted && !(error instanceof ProviderError)) {
            throw new ProviderError(
              `Gemini ${call.model} gave no answer within ${timeoutMs / 1000} s`,
              "unavailable",
              { cause: error },
            );
          }
          throw error;
        },
      );
      return answerOf(call, response);
    },
  };
}

interface Call {
  client: GoogleGenAI;
  request: ModelRequest;
  model: string;
  apiKey: string;
}

/**
 * The SDK's own retry (httpOptions.retryOptions, p-retry) ignores retry-after and Gemini's
 * RetryInfo, so it stays off (no retryOptions) and this loop retries instead.
 */
async function withRetries(
  call: Call,
  signal: AbortSignal,
  maxRetries: number,
  deadline: number,
): Promise<GenerateContentResponse> {
  for (let attempt = 0; ; attempt++) {
    const seen: { headers?: Headers } = {};
    try {
      return await send(call, signal, seen);
    } catch (error) {
      if (signal.aborted) throw error;
      const failure = classify(call, error, seen.headers);
      if (!failure.retry || attempt >= maxRetries) throw failure.error;
      const wait = failure.waitMs ?? Math.min(BACKOFF_START_MS * 2 ** attempt, BACKOFF_CAP_MS);
      if (wait > LONGEST_WAIT_MS || Date.now() + wait > deadline) throw failure.error;
      await sleep(wait, undefined, { signal });
    }
  }
}

function send(
  call: Call,
  signal: AbortSignal,
  seen: { headers?: Headers },
): Promise<GenerateContentResponse> {
  const { request } = call;
  const parts = request.context
    ? [{ text: request.context }, { text: request.prompt }]
    : [{ text: request.prompt }];
  return call.client.models.generateContent({
    model: call.model,
    contents: [{ role: "user", parts }],
    config: {
      systemInstruction: request.system,
      maxOutputTokens: request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS[request.tier],
      ...(request.json ? { responseMimeType: "application/json" } : {}),
      ...(request.json && request.jsonSchema ? { responseJsonSchema: request.jsonSchema } : {}),
      abortSignal: signal,
      // Only to read retry-after on a failed response: the SDK's ApiError drops the headers.
      httpOptions: { fetch: headerKeepingFetch(seen) },
    },
  });
}

/**
 * A fetch that remembers the last failed response's headers. Passing any fetch turns off the
 * SDK's lifting of undici's 300 s header and body timeouts, which a long deep call can exceed,
 * so they are lifted here the same way; our own deadline bounds the call.
 */
function headerKeepingFetch(seen: { headers?: Headers }): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, { ...init, dispatcher: NO_UNDICI_TIMEOUTS } as RequestInit);
    if (!response.ok) seen.headers = response.headers;
    return response;
  };
}

interface Dispatcher {
  dispatch(options: object, handler: unknown): boolean;
}

const NO_UNDICI_TIMEOUTS: Dispatcher = {
  dispatch(options, handler) {
    const global = (globalThis as Record<symbol, Dispatcher | undefined>)[
      Symbol.for("undici.globalDispatcher.1")
    ];
    if (!global) throw new Error("Node's fetch dispatcher is not available");
    return global.dispatch({ ...options, headersTimeout: 0, bodyTimeout: 0 }, handler);
  },
};

interface Failure {
  error: ProviderError;
  retry: boolean;
  waitMs?: number;
}

interface ApiErrorBody {
  message?: string;
  status?: string;
  details?: { "@type"?: string; reason?: string; retryDelay?: string; violations?: { quotaId?: string }[] }[];
}

/** What a failed attempt means: the ProviderError to end with, and whether to try again. */
function classify(call: Call, error: unknown, headers: Headers | undefined): Failure {
  // The SDK wraps a failure in a later continuation hop; the API error is its cause.
  const cause = error instanceof ApiError || !(error instanceof Error) ? error : (error.cause ?? error);
  if (!(cause instanceof ApiError)) {
    const what = redact(call, cause instanceof Error ? cause.message : String(cause));
    return {
      error: new ProviderError(`could not reach Gemini (${what})`, "unavailable", { cause: error }),
      retry: true,
    };
  }
  const body = errorBody(cause);
  const said = redact(call, oneLine(body.message ?? cause.message, 300));
  const status = cause.status;
  const fail = (message: string, kind: "config" | "unavailable") =>
    new ProviderError(`${message} (HTTP ${status}: ${said})`, kind, { cause: error });
  const keyInvalid = body.details?.some((d) => d.reason === "API_KEY_INVALID");
  if (status === 401 || status === 403 || keyInvalid) {
    return { error: fail(`Gemini refused the API key: check ${KEY_VARIABLE}`, "config"), retry: false };
  }
  if (status === 404) {
    const where = `set by the repository's \`tiers.${call.request.tier}\` or the phase's \`model:\``;
    return { error: fail(`Gemini has no model "${call.model}" (${where})`, "config"), retry: false };
  }
  if (status === 429 && body.details?.some((d) => d.violations?.some((v) => v.quotaId?.includes("PerDay")))) {
    return { error: fail("the Gemini daily quota is used up", "unavailable"), retry: false };
  }
  if (RETRIED_STATUSES.has(status) || status >= 500) {
    const waitMs = retryAfterMs(headers) ?? retryInfoMs(body);
    return { error: fail(`Gemini is unavailable (${call.model})`, "unavailable"), retry: true, waitMs };
  }
  return { error: fail(`Gemini rejected the request for ${call.model}`, "config"), retry: false };
}

function errorBody(error: ApiError): ApiErrorBody {
  try {
    return (JSON.parse(error.message) as { error?: ApiErrorBody }).error ?? {};
  } catch {
    return {};
  }
}

/** `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Gemini sends no retry-after header on 429: the wait is a RetryInfo detail, e.g. "37.5s". */
function retryInfoMs(body: ApiErrorBody): number | undefined {
  const delay = body.details?.find((d) => d["@type"]?.endsWith("google.rpc.RetryInfo"))?.retryDelay;
  const seconds = delay ? Number.parseFloat(delay) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function redact(call: Call, text: string): string {
  return text.split(call.apiKey).join("[redacted]");
}

function answerOf(call: Call, response: GenerateContentResponse): ModelResponse {
  const model = response.modelVersion ?? call.model;
  // An unusable answer was still billed: the error carries its usage so the run counts it.
  const spent = { provider: "gemini", model, usage: usageOf(response) };
  const bad = (why: string) => new ProviderError(`Gemini ${model} ${why}`, "bad-output", { spent });
  const blocked = response.promptFeedback?.blockReason;
  if (blocked) throw bad(`blocked the prompt (${blocked})`);
  const candidate = response.candidates?.[0];
  if (!candidate) throw bad("returned no answer");
  const finish = candidate.finishReason;
  if (finish === "MAX_TOKENS") {
    const limit = call.request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS[call.request.tier];
    throw bad(`was cut off at the output limit (${limit} tokens, thinking included)`);
  }
  if (finish && BLOCKS.has(finish)) throw bad(`stopped its answer: blocked (${finish})`);
  if (finish && finish !== "STOP") throw bad(`stopped its answer early (${finish})`);
  const text = (candidate.content?.parts ?? [])
    .filter((part) => !part.thought && typeof part.text === "string")
    .map((part) => part.text)
    .join("");
  if (text.trim() === "") throw bad("returned an empty answer");
  return {
    text: call.request.json ? stripCodeFence(text) : text,
    provider: "gemini",
    model,
    usage: usageOf(response),
    simulated: false,
  };
}

/**
 * promptTokenCount includes the implicitly cached tokens; thinking is billed as output. No tools
 * are sent, so toolUsePromptTokenCount stays out.
 */
function usageOf(response: GenerateContentResponse): Usage {
  const meta = response.usageMetadata;
  const cached = meta?.cachedContentTokenCount ?? 0;
  return {
    inputTokens: Math.max(0, (meta?.promptTokenCount ?? 0) - cached),
    outputTokens: (meta?.candidatesTokenCount ?? 0) + (meta?.thoughtsTokenCount ?? 0),
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
  };
}

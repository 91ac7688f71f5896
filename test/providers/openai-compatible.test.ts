import nock from "nock";
import { describe, expect, it } from "vitest";
import { OPENAI_COMPATIBLE_DEFAULT_MODELS } from "../../src/providers/catalog.js";
import {
  createOpenAICompatibleProvider,
  type OpenAICompatibleOptions,
} from "../../src/providers/openai-compatible.js";
import { type ModelRequest, ProviderError } from "../../src/providers/provider.js";

const ORIGIN = "http://ollama.test:11434";
const BASE_URL = `${ORIGIN}/v1`;
const PATH = "/v1/chat/completions";
const KEY = "sk-local-secret-0123456789";

const request = (overrides: Partial<ModelRequest> = {}): ModelRequest => ({
  purpose: { kind: "judge", phaseId: "review", attempt: 1, criterion: "clear" },
  tier: "balanced",
  system: "You are a careful judge.",
  context: "<files>src/a.ts</files>",
  prompt: "Score the draft.",
  ...overrides,
});

const provider = (options: Partial<OpenAICompatibleOptions> = {}) =>
  createOpenAICompatibleProvider({ baseURL: BASE_URL, maxRetries: 0, ...options });

/** A Chat Completions response, shaped as the API documents it (the SDK's `ChatCompletion`). */
const completion = (
  content: string | null,
  extra: { finish_reason?: string; refusal?: string; usage?: unknown; model?: string } = {},
) => ({
  id: "chatcmpl-123",
  object: "chat.completion",
  created: 1_763_900_000,
  model: extra.model ?? "qwen2.5-coder:7b",
  system_fingerprint: "fp_ollama",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content, ...(extra.refusal ? { refusal: extra.refusal } : {}) },
      finish_reason: extra.finish_reason ?? "stop",
    },
  ],
  ...("usage" in extra ? (extra.usage === undefined ? {} : { usage: extra.usage }) : {}),
});

const OLLAMA_USAGE = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 };

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("the openai-compatible provider", () => {
  it("sends system, then context before prompt in one user message, and maps usage with cached tokens", async () => {
    let body: Record<string, unknown> = {};
    let auth: string | undefined;
    nock(ORIGIN)
      .post(PATH)
      .reply(function (_uri, sent) {
        body = sent as Record<string, unknown>;
        auth = this.req.headers.authorization;
        // vLLM's shape with prefix caching: cached tokens are part of prompt_tokens.
        return [
          200,
          completion('```json\n{"score": 0.9, "reason": "clear"}\n```', {
            usage: { ...OLLAMA_USAGE, prompt_tokens_details: { cached_tokens: 100 } },
          }),
        ];
      });

    const response = await provider().complete(request({ json: true }));

    expect(response).toEqual({
      text: '{"score": 0.9, "reason": "clear"}',
      provider: "openai-compatible",
      model: "qwen2.5-coder:7b",
      simulated: false,
      usage: { inputTokens: 20, outputTokens: 30, cacheReadTokens: 100, cacheWriteTokens: 0 },
    });
    expect(body).toEqual({
      model: OPENAI_COMPATIBLE_DEFAULT_MODELS.balanced,
      messages: [
        { role: "system", content: "You are a careful judge." },
        { role: "user", content: "<files>src/a.ts</files>\n\n---\n\nScore the draft." },
      ],
      max_tokens: 8192,
      response_format: { type: "json_object" },
    });
    expect(auth).toBe("Bearer not-needed");
  });

  it("passes a JSON schema, a pinned model and the output limit, and reports the model the server used", async () => {
    let body: Record<string, unknown> = {};
    nock(ORIGIN)
      .post(PATH)
      .reply(200, (_uri, sent) => {
        body = sent as Record<string, unknown>;
        return completion('{"score": 1}', { usage: OLLAMA_USAGE, model: "llama3.2:3b-instruct-q4_K_M" });
      });
    const schema = { type: "object", properties: { score: { type: "number" } }, required: ["score"] };

    const response = await provider({ models: { deep: "ignored" }, apiKey: KEY }).complete(
      request({ json: true, jsonSchema: schema, model: "llama3.2:3b", maxOutputTokens: 256, context: "" }),
    );

    expect(body).toMatchObject({
      model: "llama3.2:3b",
      max_tokens: 256,
      messages: [expect.anything(), { role: "user", content: "Score the draft." }],
      response_format: { type: "json_schema", json_schema: { name: "verdict", schema, strict: false } },
    });
    expect(response.model).toBe("llama3.2:3b-instruct-q4_K_M");
    expect(response.usage).toEqual({
      inputTokens: 120,
      outputTokens: 30,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });

  it("estimates usage when the server sends none, and strips an inline think block", async () => {
    nock(ORIGIN)
      .post(PATH)
      .reply(200, completion("<think>hmm</think>\nThe answer.", { usage: undefined }));

    const response = await provider().complete(request({ tier: "fast" }));

    expect(response.text).toBe("The answer.");
    expect(response.model).toBe("qwen2.5-coder:7b");
    expect(response.usage.inputTokens).toBeGreaterThan(0);
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    expect(response.usage.cacheReadTokens).toBe(0);
  });

  it("sends the request again without response_format when the server rejects it (LM Studio)", async () => {
    const bodies: Record<string, unknown>[] = [];
    nock(ORIGIN)
      .post(PATH)
      .reply(400, (_uri, sent) => {
        bodies.push(sent as Record<string, unknown>);
        return { error: "'response_format.type' must be 'json_schema' or 'text'" };
      })
      .post(PATH)
      .reply(200, (_uri, sent) => {
        bodies.push(sent as Record<string, unknown>);
        return completion('Here it is: {"score": 0.5} done', { usage: OLLAMA_USAGE });
      });

    const response = await provider().complete(request({ json: true }));

    expect(response.text).toBe('{"score": 0.5}');
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toHaveProperty("response_format");
    expect(bodies[1]).not.toHaveProperty("response_format");
  });

  it("waits as long as retry-after says on a 429, then succeeds", async () => {
    let requests = 0;
    nock(ORIGIN)
      .post(PATH)
      .reply(() => {
        requests++;
        return [429, { error: { message: "slow down", type: "rate_limit_error" } }, { "retry-after": "1" }];
      })
      .post(PATH)
      .reply(() => {
        requests++;
        return [200, completion("ok", { usage: OLLAMA_USAGE })];
      });

    const started = Date.now();
    const response = await provider({ maxRetries: 2 }).complete(request());

    expect(response.text).toBe("ok");
    expect(requests).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("gives up as unavailable after the configured retries of a 5xx", async () => {
    let requests = 0;
    nock(ORIGIN)
      .post(PATH)
      .times(3)
      .reply(() => {
        requests++;
        return [
          503,
          { error: { message: "model is loading", type: "api_error" } },
          { "retry-after-ms": "5" },
        ];
      });

    const error = await failure(provider({ maxRetries: 2 }).complete(request()));

    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("HTTP 503 after 2 retries");
    expect(requests).toBe(3);
  });

  it("reports a server that is not running as unavailable, naming the base URL", async () => {
    let requests = 0;
    nock(ORIGIN)
      .post(PATH)
      .times(2)
      .replyWithError(
        Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:11434"), { code: "ECONNREFUSED" }),
      )
      .on("request", () => requests++);

    const error = await failure(provider({ maxRetries: 1, apiKey: KEY }).complete(request()));

    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain(BASE_URL);
    expect(error.message).not.toContain(KEY);
    expect(requests).toBe(2);
  });

  it("reports a call over its deadline as unavailable", async () => {
    nock(ORIGIN)
      .post(PATH)
      .delay(2_000)
      .reply(200, completion("late", { usage: OLLAMA_USAGE }));

    const started = Date.now();
    const error = await failure(provider({ timeoutMs: 200 }).complete(request()));

    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("within 200 ms");
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("holds the deadline over the whole call, retry waits included", async () => {
    nock(ORIGIN)
      .post(PATH)
      .reply(429, { error: { message: "busy", type: "rate_limit_error" } }, { "retry-after": "3" });

    const started = Date.now();
    const error = await failure(provider({ timeoutMs: 300, maxRetries: 2 }).complete(request()));

    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("within 300 ms");
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("fails a 401 at once as config, naming ATOMIC_SCRUM_OPENAI_API_KEY and never the key", async () => {
    let requests = 0;
    nock(ORIGIN)
      .post(PATH)
      .reply(() => {
        requests++;
        return [
          401,
          {
            error: {
              message: `Incorrect API key provided: ${KEY}.`,
              type: "invalid_request_error",
              param: null,
              code: "invalid_api_key",
            },
          },
        ];
      });

    const started = Date.now();
    const error = await failure(provider({ apiKey: KEY, maxRetries: 3 }).complete(request()));

    expect(error.kind).toBe("config");
    expect(error.message).toContain("ATOMIC_SCRUM_OPENAI_API_KEY");
    expect(error.message).not.toContain(KEY);
    expect(requests).toBe(1);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it.each([
    ["an empty answer", completion("", { usage: OLLAMA_USAGE }), /empty answer/],
    ["a think block and nothing else", completion("<think>...</think>", { usage: OLLAMA_USAGE }), /empty/],
    [
      "an answer cut off by the output limit",
      completion('{"score": 0.', { finish_reason: "length", usage: OLLAMA_USAGE }),
      /cut off at the output limit of 8192 tokens/,
    ],
    ["a refusal", completion(null, { refusal: "I can't help with that.", usage: OLLAMA_USAGE }), /refused/],
    ["no choices at all", { ...completion("x"), choices: [] }, /empty answer/],
  ])("treats %s as bad output", async (_name, body, message) => {
    nock(ORIGIN).post(PATH).reply(200, body);

    const error = await failure(provider().complete(request()));

    expect(error.kind).toBe("bad-output");
    expect(error.message).toMatch(message);
    // Billed all the same: the error carries the usage, so the run's totals and budgets count it.
    expect(error.spent?.provider).toBe("openai-compatible");
    expect(error.spent?.usage.outputTokens).toBeGreaterThanOrEqual(0);
  });

  it("fails an unknown model (404) as config, naming the model and the setting", async () => {
    nock(ORIGIN)
      .post(PATH)
      .reply(404, {
        error: {
          message: 'model "qwen9:1b" not found, try pulling it first',
          type: "not_found_error",
          param: null,
          code: null,
        },
      });

    const error = await failure(provider({ models: { balanced: "qwen9:1b" } }).complete(request()));

    expect(error.kind).toBe("config");
    expect(error.message).toContain('no model "qwen9:1b"');
    expect(error.message).toContain("tiers.balanced");
  });

  it("fails a 404 that names no model as config, pointing at the base URL", async () => {
    nock(ORIGIN).post(PATH).reply(404, "404 page not found");

    const error = await failure(provider().complete(request()));

    expect(error.kind).toBe("config");
    expect(error.message).toContain("ATOMIC_SCRUM_OPENAI_BASE_URL");
  });

  it("fails any other 4xx as config, with the server's reason and never the key", async () => {
    nock(ORIGIN)
      .post(PATH)
      .reply(400, {
        error: {
          message: `This model's maximum context length is 4096 tokens (key ${KEY})`,
          type: "invalid_request_error",
          param: "messages",
          code: null,
        },
      });

    const error = await failure(provider({ apiKey: KEY }).complete(request()));

    expect(error.kind).toBe("config");
    expect(error.message).toContain("maximum context length is 4096 tokens");
    expect(error.message).not.toContain(KEY);
  });

  it("fails without a base URL as config, naming the variable, and sends nothing", async () => {
    const error = await failure(createOpenAICompatibleProvider({}).complete(request()));

    expect(error.kind).toBe("config");
    expect(error.message).toContain("ATOMIC_SCRUM_OPENAI_BASE_URL");
  });

  it("maps an abort by the caller's signal to cancelled, mid-call and before the call", async () => {
    nock(ORIGIN)
      .post(PATH)
      .delay(2_000)
      .reply(200, completion("late", { usage: OLLAMA_USAGE }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const started = Date.now();
    const midCall = await failure(provider().complete(request({ signal: controller.signal })));

    expect(midCall.kind).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(1_500);
    const before = await failure(provider().complete(request({ signal: AbortSignal.abort() })));
    expect(before.kind).toBe("cancelled");
  });

  it("cancels at once while waiting to retry, however long retry-after is", async () => {
    nock(ORIGIN)
      .post(PATH)
      .reply(429, { error: { message: "busy", type: "rate_limit_error" } }, { "retry-after": "3" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const started = Date.now();
    const error = await failure(provider({ maxRetries: 2 }).complete(request({ signal: controller.signal })));

    expect(error.kind).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("maps tiers to the configured models, else to the defaults", () => {
    const p = provider({ models: { deep: "qwen2.5-coder:32b" } });
    expect(p.modelFor("deep")).toBe("qwen2.5-coder:32b");
    expect(p.modelFor("fast")).toBe(OPENAI_COMPATIBLE_DEFAULT_MODELS.fast);
  });
});

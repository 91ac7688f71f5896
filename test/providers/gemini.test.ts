import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { GEMINI_DEFAULT_MODELS, GEMINI_PRICES } from "../../src/providers/catalog.js";
import { createGeminiProvider } from "../../src/providers/gemini.js";
import { type ModelRequest, ProviderError } from "../../src/providers/provider.js";

const HOST = "https://generativelanguage.googleapis.com";
const KEY = "AIzaSyTEST-not-a-real-key-0123456789abcd";
const FLASH = "/v1beta/models/gemini-3.8-flash:generateContent";

const request = (overrides: Partial<ModelRequest> = {}): ModelRequest => ({
  purpose: { kind: "judge", phaseId: "review", attempt: 1, criterion: "clear" },
  tier: "balanced",
  system: "You are the judge.",
  prompt: "Score the document.",
  ...overrides,
});

/** A generateContent answer shaped as https://ai.google.dev/api/generate-content documents it. */
const answer = (text: string, finishReason = "STOP") => ({
  candidates: [{ content: { parts: [{ text }], role: "model" }, finishReason, index: 0 }],
  usageMetadata: {
    promptTokenCount: 5200,
    candidatesTokenCount: 300,
    totalTokenCount: 6200,
    cachedContentTokenCount: 4096,
    promptTokensDetails: [{ modality: "TEXT", tokenCount: 5200 }],
    cacheTokensDetails: [{ modality: "TEXT", tokenCount: 4096 }],
    thoughtsTokenCount: 700,
  },
  modelVersion: "gemini-3.8-flash",
  responseId: "resp-1",
});

/** Google's error envelope (https://ai.google.dev/gemini-api/docs/troubleshooting). */
const apiError = (code: number, status: string, message: string, details: unknown[] = []) => ({
  error: { code, message, status, ...(details.length > 0 ? { details } : {}) },
});

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

afterEach(() => {
  nock.emitter.removeAllListeners("no match");
});

describe("the gemini provider", () => {
  it("sends system, context then prompt, JSON mode and the tier's model, and maps usage exactly", async () => {
    let body: Record<string, unknown> = {};
    const scope = nock(HOST)
      .matchHeader("x-goog-api-key", KEY)
      .post(FLASH, (b) => {
        body = b;
        return true;
      })
      .reply(200, answer('```json\n{"score": 0.9, "reason": "clear"}\n```'));
    const schema = { type: "object", properties: { score: { type: "number" } }, required: ["score"] };

    const response = await createGeminiProvider({ apiKey: KEY }).complete(
      request({ context: "FILE src/a.ts\nexport const a = 1;", json: true, jsonSchema: schema }),
    );

    scope.done();
    expect(response).toEqual({
      text: '{"score": 0.9, "reason": "clear"}',
      provider: "gemini",
      model: "gemini-3.8-flash",
      simulated: false,
      usage: { inputTokens: 1104, outputTokens: 1000, cacheReadTokens: 4096, cacheWriteTokens: 0 },
    });
    expect(body).toEqual({
      contents: [
        {
          role: "user",
          parts: [{ text: "FILE src/a.ts\nexport const a = 1;" }, { text: "Score the document." }],
        },
      ],
      systemInstruction: { parts: [{ text: "You are the judge." }], role: "user" },
      generationConfig: {
        maxOutputTokens: 32_768,
        responseMimeType: "application/json",
        responseJsonSchema: schema,
      },
    });
  });

  it("uses a pinned model over the tier's, the request's token limit, and plain text without JSON mode", async () => {
    let body: Record<string, unknown> = {};
    nock(HOST)
      .post("/v1beta/models/gemini-custom-001:generateContent", (b) => {
        body = b;
        return true;
      })
      .reply(200, { ...answer("```json\nkept as written\n```"), modelVersion: undefined });
    const provider = createGeminiProvider({ apiKey: KEY, models: { deep: "gemini-custom-002" } });

    const response = await provider.complete(request({ model: "gemini-custom-001", maxOutputTokens: 100 }));

    expect(provider.modelFor("deep")).toBe("gemini-custom-002");
    expect(provider.modelFor("fast")).toBe(GEMINI_DEFAULT_MODELS.fast);
    expect(response.model).toBe("gemini-custom-001");
    expect(response.text).toBe("```json\nkept as written\n```");
    expect(body).toMatchObject({
      contents: [{ role: "user", parts: [{ text: "Score the document." }] }],
      generationConfig: { maxOutputTokens: 100 },
    });
    expect(body.generationConfig).not.toHaveProperty("responseMimeType");
  });

  it("has a price for every default model", () => {
    for (const model of Object.values(GEMINI_DEFAULT_MODELS)) {
      expect(GEMINI_PRICES[model], model).toMatchObject({ input: expect.any(Number), cacheWrite: 0 });
    }
  });

  // The first backoff step is 1 s, so the delays below are chosen to differ from it.
  it("waits the delay a 429's RetryInfo asks for, then succeeds", async () => {
    const scope = nock(HOST)
      .post(FLASH)
      .reply(
        429,
        apiError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            violations: [
              {
                quotaMetric: "generate_content_requests",
                quotaId: "GenerateRequestsPerMinutePerProjectPerModel",
              },
            ],
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "0.4s" },
        ]),
      )
      .post(FLASH)
      .reply(200, answer("fine"));
    const started = Date.now();

    const response = await createGeminiProvider({ apiKey: KEY, maxRetries: 1 }).complete(request());

    scope.done();
    expect(response.text).toBe("fine");
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(Date.now() - started).toBeLessThan(950);
  });

  it("honours a retry-after header, then succeeds", async () => {
    const scope = nock(HOST)
      .post(FLASH)
      .reply(429, apiError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted."), { "retry-after": "2" })
      .post(FLASH)
      .reply(200, answer("fine"));
    const started = Date.now();

    const response = await createGeminiProvider({ apiKey: KEY, maxRetries: 1 }).complete(request());

    scope.done();
    expect(response.text).toBe("fine");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1950);
  });

  it("gives up as unavailable after the configured retries of a 5xx, waiting what retry-after-ms says", async () => {
    let requests = 0;
    nock(HOST)
      .post(FLASH)
      .times(3)
      .reply(() => {
        requests++;
        return [
          503,
          apiError(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
          { "retry-after-ms": "20" },
        ];
      });

    const started = Date.now();

    const error = await failure(createGeminiProvider({ apiKey: KEY, maxRetries: 2 }).complete(request()));

    expect(requests).toBe(3);
    expect(Date.now() - started).toBeLessThan(900);
    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("The model is overloaded");
  });

  it("does not retry a 429 for a used-up daily quota", async () => {
    nock(HOST)
      .post(FLASH)
      .reply(
        429,
        apiError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            violations: [{ quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier" }],
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "5s" },
        ]),
      );

    const error = await failure(createGeminiProvider({ apiKey: KEY, maxRetries: 3 }).complete(request()));

    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("daily quota");
  });

  it("fails a 401 at once as config, naming the key variable and never the key", async () => {
    nock(HOST)
      .post(FLASH)
      .once()
      .reply(401, apiError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."));
    const started = Date.now();

    const error = await failure(createGeminiProvider({ apiKey: KEY, maxRetries: 3 }).complete(request()));

    expect(error.kind).toBe("config");
    expect(error.fatal).toBe(true);
    expect(error.message).toContain("GEMINI_API_KEY");
    expect(error.message).not.toContain(KEY);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("treats Gemini's 400 API_KEY_INVALID as config and redacts a key the server echoes", async () => {
    nock(HOST)
      .post(FLASH)
      .reply(
        400,
        apiError(400, "INVALID_ARGUMENT", `API key not valid (${KEY}). Please pass a valid API key.`, [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "API_KEY_INVALID",
            domain: "googleapis.com",
          },
        ]),
      );

    const error = await failure(createGeminiProvider({ apiKey: KEY }).complete(request()));

    expect(error.kind).toBe("config");
    expect(error.message).toContain("GEMINI_API_KEY");
    expect(error.message).toContain("[redacted]");
    expect(error.message).not.toContain(KEY);
  });

  it.each([
    ["an empty answer", answer(""), "empty answer"],
    [
      "an answer cut off by the token limit",
      answer('{"score": 0.', "MAX_TOKENS"),
      "cut off at the output limit",
    ],
    ["a safety stop", answer("", "SAFETY"), "blocked (SAFETY)"],
    ["no candidates", { ...answer("x"), candidates: [] }, "no answer"],
    [
      "a blocked prompt",
      { promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 12 } },
      "blocked the prompt (PROHIBITED_CONTENT)",
    ],
  ])("fails %s as bad-output, saying why", async (_name, body, why) => {
    nock(HOST).post(FLASH).reply(200, body);

    const error = await failure(createGeminiProvider({ apiKey: KEY }).complete(request()));

    expect(error.kind).toBe("bad-output");
    expect(error.message).toContain(why);
    // Billed all the same: the error carries the usage, so the run's totals and budgets count it.
    expect(error.spent?.provider).toBe("gemini");
    expect(error.spent?.usage.inputTokens).toBeGreaterThan(0);
  });

  it("fails an unknown model (404) as config, naming the model and where it is set", async () => {
    nock(HOST)
      .post("/v1beta/models/gemini-0-nope:generateContent")
      .reply(
        404,
        apiError(
          404,
          "NOT_FOUND",
          "models/gemini-0-nope is not found for API version v1beta, or is not supported for generateContent.",
        ),
      );
    const provider = createGeminiProvider({ apiKey: KEY, models: { deep: "gemini-0-nope" } });

    const error = await failure(provider.complete(request({ tier: "deep" })));

    expect(error.kind).toBe("config");
    expect(error.message).toContain('"gemini-0-nope"');
    expect(error.message).toContain("tiers.deep");
  });

  it("fails without a key as config, before any request", async () => {
    let attempted = 0;
    nock.emitter.on("no match", () => attempted++);

    const error = await failure(createGeminiProvider({ apiKey: "  " }).complete(request()));

    expect(error.kind).toBe("config");
    expect(error.message).toContain("GEMINI_API_KEY");
    expect(attempted).toBe(0);
  });

  it("ends as cancelled when the request's signal fires mid-call", async () => {
    nock(HOST).post(FLASH).delay(5_000).reply(200, answer("too late"));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();

    const error = await failure(
      createGeminiProvider({ apiKey: KEY }).complete(request({ signal: controller.signal })),
    );

    expect(error.kind).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("ends as unavailable when the call outlives its timeout", async () => {
    nock(HOST).post(FLASH).delay(5_000).reply(200, answer("too late"));

    const error = await failure(createGeminiProvider({ apiKey: KEY, timeoutMs: 100 }).complete(request()));

    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("no answer within");
  });
});

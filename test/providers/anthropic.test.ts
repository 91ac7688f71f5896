import { join } from "node:path";
import nock from "nock";
import { describe, expect, it } from "vitest";
import { initialState } from "../../src/engine/transition.js";
import { createLocalForge } from "../../src/forge/local/local-forge.js";
import { createAnthropicProvider } from "../../src/providers/anthropic.js";
import {
  ANTHROPIC_DEFAULT_MODELS,
  ANTHROPIC_PRICES,
  anthropicPriceFor,
} from "../../src/providers/catalog.js";
import { costOf } from "../../src/providers/prices.js";
import { type ModelRequest, ProviderError } from "../../src/providers/provider.js";
import { openDatabase } from "../../src/store/database.js";
import { getRun, insertRun, listAttempts, listEvents } from "../../src/store/runs.js";
import { enqueueRunStart } from "../../src/worker/jobs.js";
import { createWorker } from "../../src/worker/worker.js";
import { ISSUE, loadPipeline, manualClock } from "../helpers/local-run.js";
import { git, tempDir, tempRepo } from "../helpers/temp.js";

const API = "https://api.anthropic.com";
const KEY = "sk-ant-test-0123456789abcdef";

const request = (extra: Partial<ModelRequest> = {}): ModelRequest => ({
  purpose: { kind: "judge", phaseId: "write", attempt: 1, criterion: "clarity" },
  tier: "fast",
  system: "You are a strict judge.",
  prompt: "Grade the work.",
  ...extra,
});

/** A Messages API response, shaped as the API reference documents it. */
function message(text: string, extra: { model?: string; stop_reason?: string; usage?: object } = {}) {
  return {
    id: "msg_01XFDUDYJgAACzvnptvVoYEL",
    type: "message",
    role: "assistant",
    model: extra.model ?? "claude-haiku-5-5",
    content: [{ type: "text", text, citations: null }],
    stop_reason: extra.stop_reason ?? "end_turn",
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      input_tokens: 21,
      output_tokens: 48,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      inference_geo: "global",
      output_tokens_details: { thinking_tokens: 0 },
      server_tool_use: null,
      service_tier: "standard",
      speed: "standard",
      ...extra.usage,
    },
  };
}

/** An error body, as every Anthropic API error has it. */
const apiError = (type: string, text: string) => ({
  type: "error",
  error: { type, message: text },
  request_id: "req_011CSHoEeqs5C35K2UUqR7Fy",
});

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("the anthropic provider", () => {
  it("sends system and context as a cached prefix and maps every usage field", async () => {
    let sent: Record<string, unknown> = {};
    nock(API)
      .post("/v1/messages")
      // This SDK sends the key as a bearer token (ClientOptions.apiKey: "Sent as `Authorization: Bearer <key>`").
      .matchHeader("authorization", `Bearer ${KEY}`)
      .reply((_uri, body) => {
        sent = body as Record<string, unknown>;
        return [
          200,
          message("A clear draft.", {
            model: "claude-sonnet-5-5",
            usage: {
              input_tokens: 120,
              output_tokens: 340,
              cache_creation_input_tokens: 2048,
              cache_read_input_tokens: 4096,
            },
          }),
        ];
      });
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 0 });
    const response = await provider.complete(
      request({ tier: "balanced", context: "<file>README.md</file>", maxOutputTokens: 1000 }),
    );
    expect(response).toEqual({
      text: "A clear draft.",
      provider: "anthropic",
      model: "claude-sonnet-5-5",
      simulated: false,
      usage: { inputTokens: 120, outputTokens: 340, cacheReadTokens: 4096, cacheWriteTokens: 2048 },
    });
    expect(sent).toEqual({
      model: "claude-sonnet-5-5",
      max_tokens: 1000,
      system: [{ type: "text", text: "You are a strict judge.", cache_control: { type: "ephemeral" } }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "<file>README.md</file>", cache_control: { type: "ephemeral" } },
            { type: "text", text: "Grade the work." },
          ],
        },
      ],
    });
    // Cost: 120 x $2 + 340 x $10 + 4096 x $0.10 + 2048 x $2.50, per million tokens.
    const price = anthropicPriceFor(response.model, response.usage);
    expect(price).toBe(ANTHROPIC_PRICES["claude-sonnet-5-5"]);
    if (!price) throw new Error("no price for claude-sonnet-5-5");
    expect(costOf(response.usage, price)).toBeCloseTo(0.0091696, 9);
  });

  it("asks for JSON, passes a schema as structured output, takes a fence off, and uses the tier's model", async () => {
    let sent: Record<string, unknown> = {};
    nock(API)
      .post("/v1/messages")
      .reply(200, (_uri, body) => {
        sent = body as Record<string, unknown>;
        return message('```json\n{"score": 0.9, "reason": "clear"}\n```', { model: "claude-haiku-5-5" });
      });
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 0 });
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { score: { type: "number", minimum: 0, maximum: 1 }, reason: { type: "string" } },
      required: ["score", "reason"],
    };
    const response = await provider.complete(request({ json: true, jsonSchema: schema }));
    expect(response.text).toBe('{"score": 0.9, "reason": "clear"}');
    expect(sent.model).toBe(ANTHROPIC_DEFAULT_MODELS.fast);
    expect(sent.max_tokens).toBe(8192);
    expect((sent.system as { text: string }[])[0]?.text).toMatch(
      /^You are a strict judge\.\n\nAnswer with one JSON object/,
    );
    // No context: the prompt is the only block of the user turn.
    expect(sent.messages).toEqual([{ role: "user", content: [{ type: "text", text: "Grade the work." }] }]);
    expect(sent.output_config).toEqual({
      format: {
        type: "json_schema",
        schema: {
          type: "object",
          properties: {
            score: { type: "number", description: "{minimum: 0, maximum: 1}" },
            reason: { type: "string" },
          },
          additionalProperties: false,
          required: ["score", "reason"],
        },
      },
    });
  });

  it("moves a draft-7 schema's definitions to $defs, where structured outputs look for them", async () => {
    let format: unknown;
    nock(API)
      .post("/v1/messages")
      .reply(200, (_uri, body) => {
        format = (body as { output_config: { format: unknown } }).output_config.format;
        return message('{"files": []}');
      });
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 0 });
    const jsonSchema = {
      type: "object",
      properties: { files: { type: "array", items: { $ref: "#/definitions/file" } } },
      required: ["files"],
      definitions: { file: { type: "object", properties: { path: { type: "string" } } } },
    };
    await provider.complete(request({ json: true, jsonSchema }));
    expect(format).toEqual({
      type: "json_schema",
      schema: {
        $defs: {
          file: { type: "object", properties: { path: { type: "string" } }, additionalProperties: false },
        },
        type: "object",
        properties: { files: { type: "array", items: { $ref: "#/$defs/file" } } },
        additionalProperties: false,
        required: ["files"],
      },
    });
  });

  it("uses a pinned model over the tier's, and the repository's override over the default", async () => {
    const models: unknown[] = [];
    nock(API)
      .post("/v1/messages")
      .times(2)
      .reply(200, (_uri, body) => {
        models.push((body as { model: string }).model);
        return message("ok");
      });
    const provider = createAnthropicProvider({
      apiKey: KEY,
      maxRetries: 0,
      models: { deep: "claude-opus-5" },
    });
    expect(provider.modelFor("deep")).toBe("claude-opus-5");
    expect(provider.modelFor("balanced")).toBe("claude-sonnet-5-5");
    await provider.complete(request({ tier: "deep" }));
    await provider.complete(request({ tier: "deep", model: "claude-fable-5-1" }));
    expect(models).toEqual(["claude-opus-5", "claude-fable-5-1"]);
  });

  it("waits as long as a 429's retry-after says, then succeeds", async () => {
    const times: number[] = [];
    nock(API)
      .post("/v1/messages")
      .reply(() => {
        times.push(Date.now());
        return [
          429,
          apiError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
          { "retry-after": "1" },
        ];
      })
      .post("/v1/messages")
      .reply(() => {
        times.push(Date.now());
        return [200, message("after the wait")];
      });
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 1 });
    const response = await provider.complete(request());
    expect(response.text).toBe("after the wait");
    expect(times).toHaveLength(2);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("gives up as unavailable after the configured retries of 5xx and overloaded answers", async () => {
    let calls = 0;
    const replies: [number, object][] = [
      [529, apiError("overloaded_error", "Overloaded")],
      [500, apiError("api_error", "Internal server error")],
      [529, apiError("overloaded_error", "Overloaded")],
    ];
    for (const [status, body] of replies) {
      nock(API)
        .post("/v1/messages")
        .reply(() => {
          calls++;
          return [status, body, { "retry-after-ms": "20" }];
        });
    }
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 2 });
    const error = await failure(provider.complete(request()));
    expect(calls).toBe(3);
    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("overloaded (529: Overloaded)");
    expect(error.fatal).toBe(false);
  });

  it("fails a rejected key at once as config, naming the variable and never the key", async () => {
    const scope = nock(API)
      .post("/v1/messages")
      .reply(401, apiError("authentication_error", "invalid x-api-key"));
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 3 });
    const started = Date.now();
    const error = await failure(provider.complete(request()));
    expect(scope.isDone()).toBe(true);
    expect(Date.now() - started).toBeLessThan(400);
    expect(error.kind).toBe("config");
    expect(error.fatal).toBe(true);
    expect(error.message).toContain("ANTHROPIC_API_KEY");
    expect(error.message).not.toContain(KEY);
    expect(JSON.stringify(error)).not.toContain(KEY);
  });

  it("makes no request without a key, and says which variable to set", async () => {
    const provider = createAnthropicProvider({ apiKey: "  " });
    const error = await failure(provider.complete(request()));
    expect(error.kind).toBe("config");
    expect(error.message).toBe("no Anthropic API key: set ANTHROPIC_API_KEY");
  });

  it("names an unknown model and where it is set", async () => {
    nock(API).post("/v1/messages").reply(404, apiError("not_found_error", "model: claude-haiku-9"));
    const provider = createAnthropicProvider({ apiKey: KEY, models: { fast: "claude-haiku-9" } });
    const error = await failure(provider.complete(request()));
    expect(error.kind).toBe("config");
    expect(error.message).toContain('no model "claude-haiku-9"');
    expect(error.message).toContain("`tiers.fast`");
    expect(error.message).toContain("`model:`");
  });

  it("calls an empty, cut-off, refused or non-JSON answer bad output, and says which", async () => {
    const refusal = { ...message(""), stop_reason: "refusal" };
    refusal.stop_details = { type: "refusal", category: "cyber", explanation: null } as never;
    nock(API)
      .post("/v1/messages")
      .reply(200, { ...message(""), content: [] })
      .post("/v1/messages")
      .reply(200, message("The answer begins and then", { stop_reason: "max_tokens" }))
      .post("/v1/messages")
      .reply(200, refusal)
      .post("/v1/messages")
      .reply(200, message("Sure! The score is 0.8."));
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 0 });
    const errors = [
      await failure(provider.complete(request())),
      await failure(provider.complete(request({ maxOutputTokens: 300 }))),
      await failure(provider.complete(request())),
      await failure(provider.complete(request({ json: true }))),
    ];
    expect(errors.map((e) => e.kind)).toEqual(["bad-output", "bad-output", "bad-output", "bad-output"]);
    expect(errors.map((e) => e.message)).toEqual([
      "claude-haiku-5-5 returned an empty answer",
      "claude-haiku-5-5's answer was cut off at 300 output tokens (the max-tokens limit)",
      "claude-haiku-5-5 refused to answer (category: cyber)",
      "claude-haiku-5-5 did not answer with the JSON object that was asked for",
    ]);
    // Each was billed: the error carries the usage, so the run's totals and budgets count it.
    expect(errors[1]?.spent).toEqual({
      provider: "anthropic",
      model: "claude-haiku-5-5",
      usage: { inputTokens: 21, outputTokens: 48, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
  });

  it("is cancelled when the request's signal fires, and times out as unavailable", async () => {
    nock(API).post("/v1/messages").delay(2000).reply(200, message("too late"));
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 2 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const cancelled = await failure(provider.complete(request({ signal: controller.signal })));
    expect(cancelled.kind).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(1000);

    nock(API).post("/v1/messages").delay(2000).reply(200, message("too late"));
    const slow = createAnthropicProvider({ apiKey: KEY, maxRetries: 0, timeoutMs: 100 });
    const timedOut = await failure(slow.complete(request()));
    expect(timedOut.kind).toBe("unavailable");
    expect(timedOut.message).toContain("timed out");
  });

  it("prices Haiku's long prompts at the higher band", () => {
    const usage = { inputTokens: 60_000, outputTokens: 1000, cacheReadTokens: 50_000, cacheWriteTokens: 0 };
    expect(anthropicPriceFor("claude-haiku-5-5", usage)?.input).toBe(0.5);
    expect(anthropicPriceFor("claude-haiku-5-5", { ...usage, cacheReadTokens: 0 })?.input).toBe(0.1);
    expect(anthropicPriceFor("claude-unknown", usage)).toBeUndefined();
  });
});

describe("the anthropic provider in a real worker", () => {
  it("escalates a phase whose fast model stays unavailable, and the balanced model's answer ends the run", async () => {
    const repo = tempRepo();
    const clock = manualClock();
    const db = openDatabase(join(tempDir(), "db.sqlite"));
    const forge = createLocalForge({ repoDir: repo, runsDir: join(tempDir(), "runs") });
    const provider = createAnthropicProvider({ apiKey: KEY, maxRetries: 1 });
    const models: string[] = [];
    const overloaded = () => {
      return [529, apiError("overloaded_error", "Overloaded"), { "retry-after-ms": "10" }] as const;
    };
    nock(API)
      .post("/v1/messages", (body: { model: string }) => models.push(body.model) > 0)
      .times(2)
      .reply(overloaded)
      .post("/v1/messages", (body: { model: string }) => models.push(body.model) > 0)
      .reply(
        200,
        message("# Trimming input\n\nThe balanced model's draft.\n", {
          model: "claude-sonnet-5-5",
          usage: { input_tokens: 900, output_tokens: 120, cache_creation_input_tokens: 1500 },
        }),
      );
    const worker = createWorker({
      db,
      forgeFor: () => forge,
      providerFor: () => provider,
      now: clock.now,
      owner: "w1",
      price: (response) => {
        const price = anthropicPriceFor(response.model, response.usage);
        if (!price) throw new Error(`no price for ${response.model}`);
        return costOf(response.usage, price);
      },
      contextLimits: { maxFiles: 10, maxBytes: 10_000 },
      allowWorkflows: false,
      hints: { resume: () => "", approve: () => "", restart: () => "" },
    });
    const { pipeline, hash } = loadPipeline(`
name: escalating
phases:
  - id: draft
    task: write
    tier: fast
    prompt: "Write about {{ issue.title }}"
    output: { artifact: "notes/{{ issue.number }}/draft.md" }
    on_fail: { retries: 0, escalate: true }
`);
    insertRun(db, {
      id: "run-1",
      pipelineName: pipeline.name,
      pipelineHash: hash,
      pipeline,
      repo: { owner: "local", name: "repo", defaultBranch: "main" },
      issue: ISSUE,
      branch: "atomic-scrum/7-trim",
      state: initialState(),
      createdAt: clock.now(),
    });
    enqueueRunStart(db, "run-1", clock.now());
    await worker.runUntilIdle();

    expect(models).toEqual(["claude-haiku-5-5", "claude-haiku-5-5", "claude-sonnet-5-5"]);
    const attempts = listAttempts(db, "run-1");
    expect(attempts.map((a) => [a.attempt, a.tier, a.model, a.state])).toEqual([
      [1, "fast", "claude-haiku-5-5", "error"],
      [2, "balanced", "claude-sonnet-5-5", "passed"],
    ]);
    expect(attempts[0]?.error).toContain("overloaded (529: Overloaded)");
    // 900 x $2 + 120 x $10 + 1500 x $2.50, per million tokens.
    expect(attempts[1]?.costUsd).toBeCloseTo(0.00675, 8);
    const failed = listEvents(db, "run-1").find((e) => e.type === "agent.failed");
    expect(failed?.data).toMatchObject({
      error: "the Anthropic API is overloaded (529: Overloaded), still after the retries",
      fatal: false,
    });
    const run = getRun(db, "run-1");
    expect(run?.state.status).toBe("succeeded");
    expect(run?.state.outputs.draft).toBe("# Trimming input\n\nThe balanced model's draft.\n");
    expect(git(repo, "show", `${run?.branch}:notes/7/draft.md`)).toBe(
      "# Trimming input\n\nThe balanced model's draft.",
    );
    db.close();
  });
});

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { describe, expect, it } from "vitest";
import { ANTHROPIC_PRICES, GEMINI_DEFAULT_MODELS } from "../../src/providers/catalog.js";
import { costOf } from "../../src/providers/prices.js";
import { type ModelRequest, ProviderError } from "../../src/providers/provider.js";
import { createProviderRegistry } from "../../src/providers/registry.js";
import {
  defaultServerSettings,
  loadServerSettings,
  ServerSettingsSchema,
} from "../../src/providers/settings.js";
import { tempDir } from "../helpers/temp.js";

const ANTHROPIC = "https://api.anthropic.com";
const GEMINI = "https://generativelanguage.googleapis.com";

const request: ModelRequest = {
  purpose: { kind: "judge", phaseId: "review", attempt: 1, criterion: "clear" },
  tier: "fast",
  system: "You are the judge.",
  prompt: "Score the document.",
};

const usage = { inputTokens: 1000, outputTokens: 200, cacheReadTokens: 3000, cacheWriteTokens: 500 };

const overloaded = {
  type: "error",
  error: { type: "overloaded_error", message: "Overloaded" },
  request_id: "req_011CSHoEeqs5C35K2UUqR7Fy",
};

const geminiAnswer = (text: string) => ({
  candidates: [{ content: { parts: [{ text }], role: "model" }, finishReason: "STOP", index: 0 }],
  usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 12, totalTokenCount: 52 },
  modelVersion: GEMINI_DEFAULT_MODELS.fast,
});

function settingsWith(text: string) {
  const file = join(tempDir(), "settings.yml");
  writeFileSync(file, text);
  return loadServerSettings(file);
}

describe("server settings", () => {
  it("a missing file means the defaults", () => {
    expect(loadServerSettings(undefined)).toEqual(defaultServerSettings());
  });

  it("every problem names file, line, column and field", () => {
    const file = join(tempDir(), "settings.yml");
    writeFileSync(
      file,
      [
        "providers:",
        "  anthropic:",
        "    fallback: gemini",
        "    max_retries: -1",
        "  gemini:",
        "    fallback: anthropic",
        "breaker:",
        "  window: soon",
        "",
      ].join("\n"),
    );
    expect(() => loadServerSettings(file)).toThrow(
      [
        `${file} has problems:`,
        `${file}:3:15: providers.anthropic.fallback: fallbacks go round in a circle (anthropic -> gemini -> anthropic)`,
        `${file}:4:18: providers.anthropic.max_retries: Too small: expected number to be >=0`,
      ].join("\n"),
    );
  });

  it("the JSON Schema for editors is generated and committed (npm run schema)", async () => {
    const { readFileSync } = await import("node:fs");
    const { serverSettingsJsonSchemaText } = await import("../../src/providers/settings.js");
    expect(readFileSync("schema/settings.schema.json", "utf8")).toBe(serverSettingsJsonSchemaText());
  });

  it("refuses a key in the file: secrets come from the environment only", () => {
    const parsed = ServerSettingsSchema.safeParse({ providers: { anthropic: { api_key: "sk-ant-x" } } });
    expect(parsed.success).toBe(false);
  });
});

describe("the provider registry", () => {
  it("offers the offline providers always, and a real one only once its key or URL is set", () => {
    const settings = defaultServerSettings();
    expect(createProviderRegistry({ settings, env: {} }).available()).toEqual(["simulated", "recorded"]);
    expect(
      createProviderRegistry({
        settings,
        env: {
          ANTHROPIC_API_KEY: "sk-ant-x",
          GOOGLE_API_KEY: "g",
          ATOMIC_SCRUM_OPENAI_BASE_URL: "http://pi:11434/v1",
        },
      }).available(),
    ).toEqual(["simulated", "recorded", "anthropic", "gemini", "openai-compatible"]);
  });

  it("maps tiers: the run's pinned repository models, then the server's, then the adapter's defaults", () => {
    const settings = settingsWith(
      "providers:\n  anthropic:\n    models: { fast: server-fast, balanced: server-balanced }\n",
    );
    const registry = createProviderRegistry({ settings, env: { ANTHROPIC_API_KEY: "sk-ant-x" } });
    const provider = registry.forChoice({ name: "anthropic", models: { fast: "repo-fast" } });
    expect([provider.modelFor("fast"), provider.modelFor("balanced"), provider.modelFor("deep")]).toEqual([
      "repo-fast",
      "server-balanced",
      "claude-opus-5-5",
    ]);
    expect(registry.forChoice({ name: "anthropic", models: { fast: "repo-fast" } })).toBe(provider);
  });

  it("a provider without its key fails at once, naming the variable, and sends nothing", async () => {
    const registry = createProviderRegistry({ settings: defaultServerSettings(), env: {} });
    const error = await registry
      .forChoice({ name: "anthropic" })
      .complete(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("config");
    expect((error as ProviderError).message).toContain("ANTHROPIC_API_KEY");
  });

  it("hands a call to the fallback when the provider stays unavailable, and the answer names who gave it", async () => {
    const settings = settingsWith("providers:\n  anthropic:\n    fallback: gemini\n    max_retries: 0\n");
    const registry = createProviderRegistry({
      settings,
      env: { ANTHROPIC_API_KEY: "sk-ant-x", GEMINI_API_KEY: "gm-key" },
    });
    nock(ANTHROPIC).post("/v1/messages").reply(529, overloaded);
    nock(GEMINI)
      .post(`/v1beta/models/${GEMINI_DEFAULT_MODELS.fast}:generateContent`)
      .reply(200, geminiAnswer("from gemini"));
    const response = await registry
      .forChoice({ name: "anthropic" })
      .complete({ ...request, model: "claude-pinned" });
    expect(response).toMatchObject({
      text: "from gemini",
      provider: "gemini",
      model: GEMINI_DEFAULT_MODELS.fast,
    });
  });

  it("does not fall back on a bad key: the error is the answer", async () => {
    const settings = settingsWith("providers:\n  anthropic:\n    fallback: gemini\n");
    const registry = createProviderRegistry({
      settings,
      env: { ANTHROPIC_API_KEY: "sk-ant-x", GEMINI_API_KEY: "gm-key" },
    });
    nock(ANTHROPIC)
      .post("/v1/messages")
      .reply(401, { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } });
    const error = await registry
      .forChoice({ name: "anthropic" })
      .complete(request)
      .catch((e: unknown) => e);
    expect((error as ProviderError).kind).toBe("config");
  });

  it("prices a call from the table, lets the settings file override it, and warns once for a model it cannot price", () => {
    const warnings: string[] = [];
    const settings = settingsWith(
      "prices:\n  claude-sonnet-5-5: { input: 1, output: 2 }\n  qwen2.5-coder:7b: { input: 0.5, output: 1, cache_read: 0.1 }\n",
    );
    const registry = createProviderRegistry({ settings, env: {}, warn: (m) => warnings.push(m) });
    const haiku = ANTHROPIC_PRICES["claude-haiku-5-5"];
    if (!haiku) throw new Error("no Haiku price");
    expect(registry.price({ provider: "anthropic", model: "claude-haiku-5-5", usage })).toBeCloseTo(
      costOf(usage, haiku),
      12,
    );
    expect(registry.price({ provider: "anthropic", model: "claude-sonnet-5-5", usage })).toBeCloseTo(
      (1000 * 1 + 200 * 2 + 3000 * 1 + 500 * 1) / 1e6,
      12,
    );
    expect(registry.price({ provider: "openai-compatible", model: "qwen2.5-coder:7b", usage })).toBeCloseTo(
      (1000 * 0.5 + 200 * 1 + 3000 * 0.1 + 500 * 0.5) / 1e6,
      12,
    );
    expect(registry.price({ provider: "simulated", model: "simulated-fast", usage })).toBe(0);
    expect(registry.price({ provider: "gemini", model: "gemini-unknown", usage })).toBe(0);
    expect(registry.price({ provider: "gemini", model: "gemini-unknown", usage })).toBe(0);
    expect(warnings).toEqual([
      "no price for gemini/gemini-unknown: its calls count as $0, so cost budgets cannot stop them; add it under `prices:` in the settings file",
    ]);
  });

  it("skips a fallback whose key is not set here, so an outage stays an outage and is retried", async () => {
    const settings = settingsWith("providers:\n  anthropic:\n    fallback: gemini\n    max_retries: 0\n");
    const registry = createProviderRegistry({ settings, env: { ANTHROPIC_API_KEY: "sk-ant-x" } });
    nock(ANTHROPIC).post("/v1/messages").reply(529, overloaded);
    const error = await registry
      .forChoice({ name: "anthropic" })
      .complete(request)
      .catch((e: unknown) => e);
    expect((error as ProviderError).kind).toBe("unavailable");
  });

  it("keeps what a fallback's unusable answer cost, so the run still counts it", async () => {
    const settings = settingsWith("providers:\n  anthropic:\n    fallback: gemini\n    max_retries: 0\n");
    const registry = createProviderRegistry({
      settings,
      env: { ANTHROPIC_API_KEY: "sk-ant-x", GEMINI_API_KEY: "gm-key" },
    });
    nock(ANTHROPIC).post("/v1/messages").reply(529, overloaded);
    nock(GEMINI)
      .post(`/v1beta/models/${GEMINI_DEFAULT_MODELS.fast}:generateContent`)
      .reply(200, {
        ...geminiAnswer("cut"),
        candidates: [{ ...geminiAnswer("cut").candidates[0], finishReason: "MAX_TOKENS" }],
      });
    const error = (await registry
      .forChoice({ name: "anthropic" })
      .complete(request)
      .catch((e: unknown) => e)) as ProviderError;
    expect(error.kind).toBe("bad-output");
    expect(error.message).toMatch(/^anthropic unavailable \(.*\); then gemini: /);
    expect(error.spent).toEqual({
      provider: "gemini",
      model: GEMINI_DEFAULT_MODELS.fast,
      usage: { inputTokens: 40, outputTokens: 12, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
  });

  it("knows which models it can price: offline ones always, real ones only from a table", () => {
    const settings = settingsWith("prices:\n  qwen-mid: { input: 0, output: 0 }\n");
    const registry = createProviderRegistry({ settings, env: {} });
    expect(registry.isPriced("simulated", "simulated-fast")).toBe(true);
    expect(registry.isPriced("anthropic", "claude-haiku-5-5")).toBe(true);
    expect(registry.isPriced("anthropic", "claude-haiku-5-5-20261007")).toBe(false);
    expect(registry.isPriced("openai-compatible", "qwen-mid")).toBe(true);
    expect(registry.isPriced("openai-compatible", "qwen-other")).toBe(false);
  });

  it("judges with another model family than the author's when the server has one, or as the gate says", () => {
    const settings = defaultServerSettings();
    const both = createProviderRegistry({ settings, env: { ANTHROPIC_API_KEY: "a", GEMINI_API_KEY: "g" } });
    expect(both.judgeFor({ name: "anthropic" }).name).toBe("gemini");
    expect(both.judgeFor({ name: "gemini" }).name).toBe("anthropic");
    expect(both.judgeFor({ name: "anthropic" }, "anthropic").name).toBe("anthropic");
    expect(both.judgeFor({ name: "simulated" }).name).toBe("simulated");
    const onlyOne = createProviderRegistry({ settings, env: { ANTHROPIC_API_KEY: "a" } });
    expect(onlyOne.judgeFor({ name: "anthropic" }).name).toBe("anthropic");
  });
});

import nock from "nock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isLocalUrl } from "../../src/providers/local-url.js";
import { createProviderRegistry } from "../../src/providers/registry.js";
import { ServerSettingsSchema } from "../../src/providers/settings.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

// A model on your own machine costs nothing (issue 12, item 5): an openai-compatible model served
// on a loopback address is priced at $0 unless the settings price it, and the output says so.

const USAGE = { inputTokens: 1_000_000, outputTokens: 1_000_000, cacheReadTokens: 0, cacheWriteTokens: 0 };

function registry(
  baseUrl: string | undefined,
  extra: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
) {
  const warnings: string[] = [];
  const settings = ServerSettingsSchema.parse({
    ...(baseUrl ? { providers: { "openai-compatible": { base_url: baseUrl } } } : {}),
    ...extra,
  });
  const built = createProviderRegistry({ settings, env, warn: (message) => warnings.push(message) });
  return { registry: built, warnings };
}

afterEach(() => {
  vi.unstubAllEnvs();
  nock.cleanAll();
});

describe("a local openai-compatible model", () => {
  it.each([
    "http://localhost:11434/v1",
    "http://LOCALHOST:8080/v1",
    "http://ollama.localhost/v1",
    "http://127.0.0.1:1234/v1",
    "http://127.8.9.10/v1",
    "http://[::1]:8000/v1",
    "http://0.0.0.0:11434/v1",
  ])("at %s is priced at zero and says so once, naming the setting that changes it", (url) => {
    const { registry: built, warnings } = registry(url);
    expect(built.isPriced("openai-compatible", "llama3.2")).toBe(true);
    expect(built.price({ provider: "openai-compatible", model: "llama3.2", usage: USAGE })).toBe(0);
    expect(built.priceOf("openai-compatible", "llama3.2")).toEqual({
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite: 0,
    });
    expect(warnings).toEqual([
      `openai-compatible model llama3.2 at ${url} is priced at $0 (local model; set prices.llama3.2 in the settings file to change)`,
    ]);
  });

  it("takes its address from ATOMIC_SCRUM_OPENAI_BASE_URL too", () => {
    const { registry: built } = registry(
      undefined,
      {},
      { ATOMIC_SCRUM_OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" },
    );
    expect(built.isPriced("openai-compatible", "qwen2.5-coder:7b")).toBe(true);
  });

  it("a price in the settings file wins over $0, and nothing is said", () => {
    const prices = { prices: { "llama3.2": { input: 1, output: 2 } } };
    const { registry: built, warnings } = registry("http://localhost:11434/v1", prices);
    expect(built.price({ provider: "openai-compatible", model: "llama3.2", usage: USAGE })).toBe(3);
    expect(warnings).toEqual([]);
  });

  it.each([
    "http://pi.lan:11434/v1",
    "https://openrouter.ai/api/v1",
    "http://192.168.1.20:11434/v1",
    "http://localhost.example.com/v1",
  ])("at %s (not this machine) stays unpriced until the settings price it or mark it free", (url) => {
    const { registry: built } = registry(url);
    expect(built.isPriced("openai-compatible", "llama3.2")).toBe(false);
    const free = registry(url, { prices: { "llama3.2": { input: 0, output: 0 } } }).registry;
    expect(free.isPriced("openai-compatible", "llama3.2")).toBe(true);
  });

  it("tells a URL on this machine from one that only looks like it", () => {
    expect(isLocalUrl("http://127.0.0.1.nip.io/v1")).toBe(false);
    expect(isLocalUrl("localhost:11434/v1")).toBe(false);
    expect(isLocalUrl("not a url")).toBe(false);
  });

  it("runs a pipeline with a cost budget on a local server without a price entry, saying the model costs $0", async () => {
    const LOCAL = "http://localhost:11434";
    vi.stubEnv("ATOMIC_SCRUM_OPENAI_BASE_URL", `${LOCAL}/v1`);
    const asked: string[] = [];
    nock(LOCAL)
      .persist()
      .post("/v1/chat/completions")
      .reply(200, (_uri, body) => {
        const request = body as { model: string; response_format?: { json_schema?: { name?: string } } };
        asked.push(request.model);
        const name = request.response_format?.json_schema?.name;
        const content =
          name === "verdict"
            ? JSON.stringify({ score: 0.9, reason: "Grounded in the issue." })
            : name === "answer"
              ? JSON.stringify({
                  summary: "Trim.",
                  files: [{ path: "src/trim.ts", content: "export const t = 1;\n" }],
                })
              : "## Findings\n\nThe parser keeps stray spaces; trimming at the entry fixes it.\n";
        return {
          id: "chatcmpl-1",
          object: "chat.completion",
          created: 1_763_900_000,
          model: request.model,
          choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
          usage: { prompt_tokens: 400, completion_tokens: 60, total_tokens: 460 },
        };
      });
    const budgeted = SMALL_PIPELINE.replace("name: small\n", "name: small\nbudget: { max_cost_usd: 1 }\n");
    const result = await cli(
      "run",
      tempFile("p.yml", budgeted),
      "--issue",
      issueFile(),
      "--repo",
      tempRepo(),
      "--provider",
      "openai-compatible",
    );
    expect(result.code).toBe(0);
    expect(result.out).not.toContain("no price");
    expect(asked).toEqual(["qwen2.5-coder:7b", "qwen2.5-coder:14b", "qwen2.5-coder:14b", "qwen2.5-coder:7b"]);
    expect(result.err).toContain(
      `openai-compatible model qwen2.5-coder:7b at ${LOCAL}/v1 is priced at $0 (local model; set prices.qwen2.5-coder:7b in the settings file to change)`,
    );
  });

  it("the dry run prices it at $0 and says so in the forecast; a remote one is named as unpriced", async () => {
    const repo = tempRepo();
    const dryRun = (url: string) => {
      vi.stubEnv("ATOMIC_SCRUM_OPENAI_BASE_URL", url);
      return cli(
        "run",
        "coding",
        "--issue",
        issueFile(),
        "--repo",
        repo,
        "--provider",
        "openai-compatible",
        "--dry-run",
      );
    };
    const local = await dryRun("http://127.0.0.1:11434/v1");
    expect(local.out).toContain("Forecast, priced on openai-compatible");
    expect(local.out).toContain(
      "  openai-compatible model qwen2.5-coder:7b at http://127.0.0.1:11434/v1 is priced at $0 (local model; set prices.qwen2.5-coder:7b in the settings file to change)",
    );
    expect(local.out).not.toContain("no price for");
    const remote = await dryRun("http://pi.lan:11434/v1");
    expect(remote.out).not.toContain("is priced at $0");
    expect(remote.out).toContain("no price for openai-compatible/qwen2.5-coder:7b");
  });
});

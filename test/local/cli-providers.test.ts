import { writeFileSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { listAttempts, listRuns } from "../../src/store/runs.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { git, tempDir, tempFile, tempRepo } from "../helpers/temp.js";

const OLLAMA = "http://pi.lan:11434";

/** What a local model answers: a grade, a file edit or a document, by what the request asks for. */
function answerFor(body: { response_format?: { type: string; json_schema?: { name?: string } } }): string {
  const name = body.response_format?.json_schema?.name;
  if (name === "verdict") return JSON.stringify({ score: 0.9, reason: "Grounded in the issue." });
  if (name === "answer") {
    return JSON.stringify({
      summary: "Trim inputs before parsing.",
      files: [{ path: "src/trim.ts", content: "export const trim = (s: string): string => s.trim();\n" }],
    });
  }
  return "## Findings\n\nThe parser keeps leading and trailing spaces; trimming at the entry fixes it.\n";
}

/** An Ollama server on the LAN, speaking OpenAI's Chat Completions. */
function ollama() {
  const models: string[] = [];
  nock(OLLAMA)
    .persist()
    .post("/v1/chat/completions")
    .reply(200, (_uri, body) => {
      const request = body as {
        model: string;
        response_format?: { type: string; json_schema?: { name?: string } };
      };
      models.push(request.model);
      return {
        id: `chatcmpl-${models.length}`,
        object: "chat.completion",
        created: 1_763_900_000,
        model: request.model,
        choices: [
          { index: 0, message: { role: "assistant", content: answerFor(request) }, finish_reason: "stop" },
        ],
        usage: { prompt_tokens: 400, completion_tokens: 60, total_tokens: 460 },
      };
    });
  return models;
}

afterEach(() => {
  vi.unstubAllEnvs();
  nock.cleanAll();
});

describe("atomic-scrum run with a real provider", () => {
  it("runs a pipeline on a local model through an OpenAI-compatible server, with the models and prices of a settings file", async () => {
    vi.stubEnv("ATOMIC_SCRUM_OPENAI_BASE_URL", `${OLLAMA}/v1`);
    const models = ollama();
    const repo = tempRepo();
    const settings = tempFile(
      "settings.yml",
      [
        "providers:",
        "  openai-compatible:",
        "    models: { fast: qwen-small, balanced: qwen-mid, deep: qwen-large }",
        "prices:",
        "  qwen-mid: { input: 0.2, output: 0.4 }",
        "  qwen-large: { input: 0.5, output: 1 }",
      ].join("\n"),
    );
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const result = await cli(
      "run",
      pipeline,
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--provider",
      "openai-compatible",
      "--settings",
      settings,
    );
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(result.out).toContain("atomic-scrum approve");
    // research (balanced) and its two grades (deep, the judge's default), then implement (balanced).
    expect(models).toEqual(["qwen-mid", "qwen-large", "qwen-large", "qwen-mid"]);
    expect(git(repo, "show", "atomic-scrum/7-trim-the-input:src/trim.ts")).toContain("s.trim()");
    const db = openDatabase(join(repo, ".git/atomic-scrum/atomic-scrum.db"));
    try {
      const [run] = listRuns(db);
      // The settings file's content is pinned with the run (issue 12): a resume without it keeps it.
      expect(run?.provider).toMatchObject({ name: "openai-compatible", settingsFile: expect.any(String) });
      expect(Object.keys(run?.provider?.settings?.prices ?? {})).not.toEqual([]);
      const attempts = listAttempts(db, run?.id ?? "");
      expect(attempts.map((a) => [a.phaseId, a.provider, a.model])).toEqual([
        ["research", "openai-compatible", "qwen-mid"],
        ["implement", "openai-compatible", "qwen-mid"],
      ]);
      // research: its answer at qwen-mid plus two grades at qwen-large; implement: one answer.
      const answer = (400 * 0.2 + 60 * 0.4) / 1e6;
      const grade = (400 * 0.5 + 60 * 1) / 1e6;
      expect(attempts[0]?.costUsd).toBeCloseTo(answer + 2 * grade, 12);
      expect(attempts[1]?.costUsd).toBeCloseTo(answer, 12);
      expect(run?.state.totals.costUsd).toBeCloseTo(2 * answer + 2 * grade, 12);
    } finally {
      db.close();
    }
  });

  it("a real provider without its key is refused before a run or a branch exists, naming the variable", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", "");
    const repo = tempRepo();
    const result = await cli(
      "run",
      tempFile("p.yml", SMALL_PIPELINE),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--provider",
      "anthropic",
    );
    expect(result.err).toContain("no API key for anthropic (the run's provider): set ANTHROPIC_API_KEY");
    expect(result.out).toBe("");
    expect(result.code).toBe(1);
    expect(git(repo, "branch", "--format=%(refname:short)")).toBe("main");
  });

  it("a settings file with problems stops the command before anything starts, listing each with its line", async () => {
    const file = join(tempDir(), "settings.yml");
    writeFileSync(file, "providers:\n  anthropic:\n    modles: {}\n");
    const result = await cli(
      "run",
      tempFile("p.yml", SMALL_PIPELINE),
      "--issue",
      issueFile(),
      "--repo",
      tempRepo(),
      "--settings",
      file,
    );
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${file}:3:5: providers.anthropic.modles: unknown field`);
  });

  it("a daily budget in the settings stops the next call once the day's spending would pass it", async () => {
    vi.stubEnv("ATOMIC_SCRUM_OPENAI_BASE_URL", `${OLLAMA}/v1`);
    const models = ollama();
    const repo = tempRepo();
    const settings = tempFile(
      "settings.yml",
      [
        "prices:",
        "  qwen2.5-coder:7b: { input: 1, output: 1 }",
        "  qwen2.5-coder:14b: { input: 1, output: 1 }",
        "budget: { daily_max_cost_usd: 0.0005 }",
      ].join("\n"),
    );
    const result = await cli(
      "run",
      tempFile("p.yml", SMALL_PIPELINE),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--provider",
      "openai-compatible",
      "--settings",
      settings,
    );
    expect(result.code).toBe(1);
    expect(result.out).toMatch(
      /daily budget: runs in this database have spent \$0\.0005 of \$0\.0005 today \(UTC\)/,
    );
    // The first answer (460 tokens at $1/M) was paid for; nothing after it was asked.
    expect(models).toEqual(["qwen2.5-coder:7b"]);
  });
});

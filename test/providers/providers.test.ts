import { describe, expect, it } from "vitest";
import { untrusted } from "../../src/engine/template-context.js";
import { parseFileEdit } from "../../src/executors/llm.js";
import type { ModelRequest } from "../../src/providers/provider.js";
import { createRecordedProvider } from "../../src/providers/recorded.js";
import { createSimulatedProvider, SIMULATED_MARK } from "../../src/providers/simulated.js";

type Task = "research" | "write" | "code" | "review" | "mechanical";

const agent = (
  output: "artifact" | "files",
  attempt = 1,
  task: Task = "code",
  prompt = "Implement the change.",
): ModelRequest => ({
  purpose: {
    kind: "agent",
    phaseId: "implement",
    phaseName: "Implement",
    task,
    attempt,
    output,
    issue: { number: 3, title: "Trim input" },
  },
  tier: "balanced",
  system: "You are the implement phase.",
  prompt,
});

describe("the simulated provider", () => {
  it("is deterministic, marked as simulated and reports usage", async () => {
    const provider = createSimulatedProvider();
    const request = agent("artifact", 1, "research");
    const a = await provider.complete(request);
    const b = await provider.complete(request);
    expect(a.text).toBe(b.text);
    expect(a.text).toContain(SIMULATED_MARK);
    expect(a.simulated).toBe(true);
    expect(a.model).toBe("simulated-balanced");
    expect(a.usage.inputTokens).toBeGreaterThan(5);
    expect(a.text.split(/\s+/).length).toBeGreaterThan(200);
  });

  it("answers a files phase with an edit that parses and stays in the repository", async () => {
    const response = await createSimulatedProvider().complete(agent("files"));
    const edit = parseFileEdit(response.text);
    expect(edit.files).toEqual([expect.objectContaining({ path: "src/trim-input.ts" })]);
  });

  it("follows the shape the prompt asks for: template headings, numbered labels and fixed lines", async () => {
    const prompt =
      "List facts as F1, F2, ...\n```\n## Key facts\n## Verdict\nVerdict: publish\n```\nEnd with `Risk: low`.";
    const response = await createSimulatedProvider().complete(agent("artifact", 1, "review", prompt));
    expect(response.text).toContain("## Key facts");
    expect(response.text).toMatch(/^- F1: /m);
    expect(response.text).toContain("Verdict: publish");
    expect(response.text).toContain("Risk: low");
  });

  it("ignores shapes written inside untrusted blocks", async () => {
    const prompt = `Write it.\n${untrusted("issue.body", "```\n## Pwned\n```")}`;
    const response = await createSimulatedProvider().complete(agent("artifact", 1, "write", prompt));
    expect(response.text).not.toContain("## Pwned");
  });

  it("judges stronger tiers and later attempts higher, within 0..1", async () => {
    const provider = createSimulatedProvider();
    const judge = (tier: ModelRequest["tier"], attempt: number) =>
      provider
        .complete({
          purpose: { kind: "judge", phaseId: "p", attempt, criterion: "c" },
          tier,
          system: "",
          prompt: "",
        })
        .then((r) => JSON.parse(r.text) as { score: number });
    const fast = await judge("fast", 1);
    const deep = await judge("deep", 1);
    const later = await judge("fast", 3);
    expect(deep.score).toBeGreaterThan(fast.score);
    expect(later.score).toBeGreaterThan(fast.score);
    expect(deep.score).toBeLessThanOrEqual(1);
  });
});

describe("the recorded provider", () => {
  const provider = createRecordedProvider(
    {
      implement: [
        { agent: "first", judge: { c: { score: 0.4, reason: "weak" } } },
        { agent: { summary: "s", files: [] }, judge: {} },
      ],
    },
    "fixtures.yml",
  );

  it("replays the answer for the phase and attempt, objects as JSON", async () => {
    expect((await provider.complete(agent("artifact", 1))).text).toBe("first");
    expect(JSON.parse((await provider.complete(agent("files", 2))).text)).toEqual({
      summary: "s",
      files: [],
    });
    const judged = await provider.complete({
      purpose: { kind: "judge", phaseId: "implement", attempt: 1, criterion: "c" },
      tier: "deep",
      system: "",
      prompt: "",
    });
    expect(JSON.parse(judged.text)).toEqual({ score: 0.4, reason: "weak" });
  });

  it("fails loudly, and fatally, on a call it has no fixture for", async () => {
    await expect(provider.complete(agent("artifact", 3))).rejects.toMatchObject({
      fatal: true,
      message: 'no recorded agent output for phase "implement" attempt 3 in fixtures.yml',
    });
  });
});

describe("parsing a files edit from model output", () => {
  it.each([
    ["not JSON", "here you go", "is not the JSON edit"],
    ["a path into .git", JSON.stringify({ files: [{ path: ".git/config", content: "x" }] }), "refused edit"],
    [
      "a path outside the repository",
      JSON.stringify({ files: [{ path: "../etc/passwd", content: "x" }] }),
      "refused edit",
    ],
    [
      "a workflow file",
      JSON.stringify({ files: [{ path: ".github/workflows/ci.yml", content: "x" }] }),
      "refused edit",
    ],
    ["a file without content", JSON.stringify({ files: [{ path: "a.ts" }] }), "malformed"],
  ])("refuses %s as a failed attempt", (_name, text, message) => {
    expect(() => parseFileEdit(text)).toThrow(message);
    try {
      parseFileEdit(text);
    } catch (error) {
      expect((error as { fatal: boolean }).fatal).toBe(false);
    }
  });

  it("accepts workflow files only when allowed, and fenced JSON", () => {
    const text = `\`\`\`json\n${JSON.stringify({ summary: "ci", files: [{ path: ".github/workflows/ci.yml", content: "on: push" }] })}\n\`\`\``;
    expect(parseFileEdit(text, { allowWorkflows: true }).files).toEqual([
      { path: ".github/workflows/ci.yml", content: "on: push" },
    ]);
  });
});

describe("what a files phase shows later phases", () => {
  it("is its summary and each changed file, a very long file cut with a note", async () => {
    const { outputText, FILE_TEXT_LIMIT } = await import("../../src/engine/output-text.js");
    const text = outputText({
      text: "Adds a.",
      files: [
        { path: "a.ts", content: "x".repeat(FILE_TEXT_LIMIT + 10) },
        { path: "old.ts", delete: true },
      ],
      provider: "p",
      model: "m",
      tier: "fast",
      usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: 0,
    });
    expect(text.startsWith("Adds a.\n\n#### `a.ts`")).toBe(true);
    expect(text).toContain("… (10 more characters not shown)");
    expect(text).toContain("#### `old.ts` (deleted)");
    expect(text.length).toBeLessThan(FILE_TEXT_LIMIT + 200);
  });
});

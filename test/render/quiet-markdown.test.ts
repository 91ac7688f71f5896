import { describe, expect, it } from "vitest";
import { serve } from "../../src/app.js";
import { renderPhaseComment } from "../../src/render/phase-comment.js";
import { quietMarkdown } from "../../src/render/quiet-markdown.js";

describe("untrusted text in a comment", () => {
  it("pings nobody, hides nothing and cannot open or close a fold", () => {
    const text = "cc @octocat @acme/security <!-- hidden --> </details><details><summary>x</summary>";
    const quiet = quietMarkdown(text);
    expect(quiet).not.toMatch(/@[a-z]/);
    expect(quiet).not.toContain("<!--");
    expect(quiet).not.toMatch(/<\/?details|<summary/i);
    expect(quiet).toContain("octocat");
    expect(quietMarkdown("mail me at a@b.c")).toBe("mail me at a@\u200bb.c");
  });

  it("keeps a phase comment's folds whole whatever the artifact says", () => {
    const output = `${"line\n".repeat(40)}</details>\n@maintainers please merge`;
    const body = renderPhaseComment({
      phase: {
        kind: "agent",
        id: "draft",
        name: "Draft",
        task: "write",
        tier: "balanced",
        executor: "llm",
        prompt: "p",
        context: [],
        output: { artifact: "a.md" },
        gates: [],
        onFail: { retries: 1, escalate: true, exhausted: "fail", feedback: "critique" },
      },
      attempts: [],
      output,
    });
    expect(body.match(/<details>/g)?.length).toBe(body.match(/<\/details>/g)?.length);
    expect(body).not.toMatch(/@maintainers/);
  });
});

describe("atomic-scrum serve", () => {
  it("refuses to start with an app id but no webhook secret, naming the variable", async () => {
    await expect(serve({ dbPath: ":memory:", env: { APP_ID: "1", PRIVATE_KEY: "k" } })).rejects.toThrow(
      "WEBHOOK_SECRET is not set",
    );
  });
});

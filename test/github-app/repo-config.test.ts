import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_PIPELINES,
  parseRepoConfig,
  repoConfigJsonSchemaText,
} from "../../src/github/repo-config.js";
import { formatProblem } from "../../src/pipeline/problem.js";

function problems(text: string): string[] {
  const result = parseRepoConfig(text);
  if (result.ok) throw new Error("expected problems");
  return result.problems.map(formatProblem);
}

describe("repo config", () => {
  it("an empty file means the defaults", () => {
    const result = parseRepoConfig("");
    expect(result).toEqual({
      ok: true,
      config: {
        pipelines: DEFAULT_PIPELINES,
        provider: "simulated",
        tiers: {},
        budget: {},
        allowed_permissions: ["write", "maintain", "admin"],
        prevent_self_review: false,
        merge_after_approval: false,
        edits: { allow: [], max_file_bytes: 1048576, max_files: 100, max_total_bytes: 5242880 },
      },
    });
  });

  it("a full file is read as written", () => {
    const result = parseRepoConfig(
      [
        "pipelines:",
        "  atomic:docs: .github/pipelines/docs.yml",
        "provider: anthropic",
        "tiers: { fast: claude-haiku-4-5 }",
        "budget: { max_cost_usd: 5, max_tokens: 400000, daily_max_cost_usd: 20 }",
        "allowed_permissions: [maintain, admin]",
        "prevent_self_review: true",
      ].join("\n"),
    );
    expect(result.ok && result.config).toMatchObject({
      pipelines: { "atomic:docs": ".github/pipelines/docs.yml" },
      provider: "anthropic",
      tiers: { fast: "claude-haiku-4-5" },
      budget: { max_cost_usd: 5, max_tokens: 400000, daily_max_cost_usd: 20 },
      allowed_permissions: ["maintain", "admin"],
      prevent_self_review: true,
    });
  });

  it("every problem names file, line, column and field", () => {
    const text = [
      "pipelines:",
      "  atomic:coding: coding",
      "provider: gpt",
      "budget:",
      "  max_cost: 3",
      "  max_tokens: -1",
      "allowed_permissions: [write, owner]",
      "prevent_self_review: yes please",
    ].join("\n");
    expect(problems(text)).toMatchInlineSnapshot(`
      [
        ".github/atomic-scrum.yml:3:11: provider: expected one of simulated | recorded | anthropic | gemini | openai-compatible, got "gpt"",
        ".github/atomic-scrum.yml:5:3: budget.max_cost: unknown field "max_cost"",
        ".github/atomic-scrum.yml:6:15: budget.max_tokens: must be more than 0",
        ".github/atomic-scrum.yml:7:30: allowed_permissions[1]: expected one of admin | maintain | write | triage | read, got "owner"",
        ".github/atomic-scrum.yml:8:22: prevent_self_review: expected boolean, got string "yes please"",
      ]
    `);
  });

  it("a YAML syntax error is located", () => {
    expect(problems("pipelines:\n  a: [b\n")).toMatchInlineSnapshot(`
      [
        ".github/atomic-scrum.yml:2:6: YAML syntax error: the [ that starts here is never closed: end it with ], or write one item per line",
      ]
    `);
  });

  it("has a JSON Schema for editors, generated from the zod schema, and the committed copy is not stale (npm run schema)", () => {
    expect(readFileSync("schema/repo-config.schema.json", "utf8")).toBe(repoConfigJsonSchemaText());
    const schema = JSON.parse(repoConfigJsonSchemaText()) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties).sort()).toEqual(
      [
        "$schema",
        "allowed_permissions",
        "budget",
        "edits",
        "merge_after_approval",
        "pipelines",
        "prevent_self_review",
        "provider",
        "tiers",
      ].sort(),
    );
  });

  it("accepts the editor hint a file written with the schema starts with", () => {
    const result = parseRepoConfig("$schema: https://atomic-scrum.dev/schema/repo-config.schema.json\n");
    expect(result.ok).toBe(true);
  });
});

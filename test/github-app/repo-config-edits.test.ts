import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultEditPolicy, type EditPolicy, withEditPolicy } from "../../src/forge/edit-policy.js";
import { parseRepoConfig } from "../../src/github/repo-config.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import { yamlBlocks } from "../helpers/markdown.js";

function problems(text: string): string[] {
  const result = parseRepoConfig(text);
  if (result.ok) throw new Error("expected problems");
  return result.problems.map(formatProblem);
}

function edits(text: string) {
  const result = parseRepoConfig(text);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
  return result.config.edits;
}

describe("repo config > edits: (issue 11, class 8)", () => {
  it("defaults to no sensitive area and caps of 1 MiB, 100 files and 5 MiB", () => {
    expect(edits("")).toEqual({
      allow: [],
      max_file_bytes: 1048576,
      max_files: 100,
      max_total_bytes: 5242880,
    });
  });

  it("keeps the defaults of the fields a file leaves out", () => {
    expect(edits("edits:\n  allow: [hooks, submodules]\n")).toEqual({
      allow: ["hooks", "submodules"],
      max_file_bytes: 1048576,
      max_files: 100,
      max_total_bytes: 5242880,
    });
  });

  it.each([
    ["edits:\n  allow: [everything]\n", /edits\.allow\[0\].*workflows \| submodules \| attributes \| hooks/],
    ["edits:\n  max_file_bytes: 0\n", /edits\.max_file_bytes: must be more than 0/],
    ["edits:\n  max_file_bytes: 200000000\n", /edits\.max_file_bytes: GitHub refuses files over 100 MiB/],
    ["edits:\n  max_files: 2.5\n", /edits\.max_files: expected int, got number 2\.5/],
    ["edits:\n  max_total_bytes: -1\n", /edits\.max_total_bytes: must be more than 0/],
    ["edits:\n  max_size: 10\n", /edits/],
  ])("refuses %j, located", (text, rule) => {
    const found = problems(text);
    expect(found.join("\n")).toMatch(/^\.github\/atomic-scrum\.yml:\d+:\d+: /);
    expect(found.join("\n")).toMatch(rule);
  });

  describe("is pinned with the run", () => {
    const pipeline: { name: string; edits?: EditPolicy } = { name: "coding" };

    it("only when it differs from the defaults, so runs that configure nothing store nothing new", () => {
      expect(withEditPolicy(pipeline, edits(""))).toEqual(pipeline);
    });

    it("as the policy the worker and the forges check", () => {
      expect(withEditPolicy(pipeline, edits("edits:\n  allow: [attributes]\n  max_files: 7\n"))).toEqual({
        name: "coding",
        edits: { ...defaultEditPolicy(), allow: ["attributes"], maxFiles: 7 },
      });
    });
  });
});

describe("docs/configuration.md examples", () => {
  const blocks = yamlBlocks(readFileSync("docs/configuration.md", "utf8"), "docs/configuration.md");

  it("has an example of edits:", () => {
    expect(blocks.some((block) => block.text.includes("edits:"))).toBe(true);
  });

  it.each(blocks.map((block) => [block.line, block.text] as const))(
    "the block at line %i parses",
    (_, text) => {
      const result = parseRepoConfig(text);
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
    },
  );
});

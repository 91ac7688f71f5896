import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../src/github/repo-config.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import { problemLines } from "./helpers.js";

/**
 * Issue 11, class 16: names a pipeline declares must fit where they are used later. A phase id
 * names check runs, files in the run folder and keys; a pipeline name heads comments and names a
 * folder; a label must be one GitHub accepts. `validate` refuses what no run could use.
 */

const pipeline = (fields: { name?: string; id?: string; phaseName?: string; labels?: string }) =>
  [
    `name: ${fields.name ?? "demo"}`,
    ...(fields.labels ? [`labels: ${fields.labels}`] : []),
    "phases:",
    `  - id: ${fields.id ?? "a"}`,
    ...(fields.phaseName ? [`    name: ${fields.phaseName}`] : []),
    "    task: code",
    "    prompt: hi",
    "",
  ].join("\n");

describe("phase ids", () => {
  it("accepts 64 characters", () => {
    expect(problemLines(pipeline({ id: "a".repeat(64) }))).toEqual([]);
  });

  it.each([
    ["65 characters", "a".repeat(65)],
    ["20,000 characters", "a".repeat(20_000)],
    ["many kebab words", Array(30).fill("word").join("-")],
  ])("refuses %s, once, at the id", (_, id) => {
    expect(problemLines(pipeline({ id }))).toEqual([
      "p.yml:3:9: phases[0].id: must be at most 64 characters: it names a check run and files",
    ]);
  });
});

describe("pipeline names", () => {
  it.each(["coding", "docs page", "release-notes_v2.1"])("accepts %j", (name) => {
    expect(problemLines(pipeline({ name }))).toEqual([]);
  });

  it.each([
    ["a path out of the scenarios folder", "../../etc"],
    ["a slash", "team/coding"],
    ["a backtick that breaks the status comment", '"`code`"'],
    ["a line break", '"two\\nlines"'],
  ])("refuses %s", (_, name) => {
    expect(problemLines(pipeline({ name }))).toEqual([
      "p.yml:1:7: name: must start with a letter or digit and hold only letters, digits, spaces, . _ and -",
    ]);
  });

  it("refuses more than 64 characters", () => {
    expect(problemLines(pipeline({ name: "n".repeat(65) }))).toEqual([
      "p.yml:1:7: name: must be at most 64 characters",
    ]);
  });
});

describe("labels", () => {
  it("accepts GitHub's 50 characters, spaces and colons", () => {
    expect(problemLines(pipeline({ labels: `["${"l".repeat(50)}", "atomic: docs"]` }))).toEqual([]);
  });

  it("refuses a label longer than GitHub allows, and one with a line break", () => {
    expect(problemLines(pipeline({ labels: `["${"l".repeat(51)}", "a\\nb"]` }))).toEqual([
      "p.yml:2:10: labels[0]: must be at most 50 characters (GitHub's limit for a label)",
      "p.yml:2:65: labels[1]: must be one line without control characters",
    ]);
  });

  it("refuses the same in the repository config's label -> pipeline map", () => {
    const result = parseRepoConfig(`pipelines:\n  "${"l".repeat(51)}": coding\n`, "c.yml");
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      `c.yml:2:3: pipelines.${"l".repeat(51)}: key "${"l".repeat(51)}": must be at most 50 characters (GitHub's limit for a label)`,
    ]);
  });
});

describe("phase names", () => {
  it("refuses one that is not one line: it is a commit message's subject", () => {
    expect(problemLines(pipeline({ phaseName: '"Fix\\nSigned-off-by: someone"' }))).toEqual([
      "p.yml:4:11: phases[0].name: must be one line without control characters: it is a commit message's subject",
    ]);
  });

  it("refuses more than 100 characters", () => {
    expect(problemLines(pipeline({ phaseName: "n".repeat(101) }))).toEqual([
      "p.yml:4:11: phases[0].name: must be at most 100 characters",
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../src/github/repo-config.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import { HEAD, problemLines } from "./helpers.js";

/**
 * Issue 12, item 10: one mis-indented line produced a cascade of raw YAML errors. A YAML
 * mistake is now one line: where the fix goes, what to do, and how many errors followed from it.
 */
const PHASE = "  - id: a\n    task: code\n    prompt: y\n";

const MISTAKES: Record<string, { text: string; line: string }> = {
  "a key indented one space deeper than the one above": {
    text: `${HEAD}  - id: a\n    task: code\n     prompt: y\n${PHASE.replace("id: a", "id: b")}`,
    line: "p.yml:5:6: YAML syntax error: this line is indented deeper than the one above, so it reads as part of its value: check the indentation of this line against the one above (1 more error follows from it)",
  },
  "a key indented one space less than the keys below it": {
    text: `${HEAD}  - id: a\n    task: code\n    prompt: y\n    gates:\n      - judge:\n         threshold: 0.75\n          tier: deep\n          criteria:\n            - { name: c, weight: 1, rubric: r }\n`,
    line: "p.yml:8:10: YAML syntax error: Nested mappings are not allowed in compact mappings: check the indentation of this line against the lines below it (3 more errors follow from it)",
  },
  "a key indented less than the others of its mapping": {
    text: `${HEAD}  - id: a\n    task: code\n  prompt: y\n    gates: []\n${PHASE.replace("id: a", "id: b")}`,
    line: "p.yml:5:1: YAML syntax error: All mapping items must start at the same column: check the indentation of this line against the one above (5 more errors follow from it)",
  },
  "a key between the list item's and its mapping's indentation": {
    text: `${HEAD}  - id: a\n    task: code\n   prompt: y\n`,
    line: "p.yml:5:1: YAML syntax error: Sequence item without - indicator: check the indentation of this line against the one above",
  },
  "a tab as indentation": {
    text: `${HEAD}\t- id: a\n`,
    line: "p.yml:3:1: YAML syntax error: Tabs are not allowed as indentation: indent with spaces, not a tab",
  },
  "a key without a space after its colon": {
    text: `${HEAD}  - id: a\n    task:code\n    prompt: y\n`,
    line: 'p.yml:4:9: YAML syntax error: Implicit keys need to be on a single line: a key needs a space after its colon ("task: ..." not "task:...")',
  },
  "a double quote never closed, found at the end of the file": {
    text: `name: "demo\nphases:\n${PHASE}`,
    line: "p.yml:1:7: YAML syntax error: the double quote that starts here is never closed: close it, or write long text as a block (prompt: |)",
  },
  "a single quote never closed, with a doubled quote inside": {
    text: `${HEAD}  - id: a\n    task: code\n    prompt: 'it''s\n`,
    line: "p.yml:5:13: YAML syntax error: the single quote that starts here is never closed: close it, or write long text as a block (prompt: |)",
  },
  "a flow list never closed": {
    text: `${HEAD}  - id: a\n    task: code\n    context: ["src/**", "docs/**"\n    prompt: y\n`,
    line: "p.yml:5:14: YAML syntax error: the [ that starts here is never closed: end it with ], or write one item per line",
  },
  "a flow mapping never closed": {
    text: `${HEAD}  - id: a\n    task: code\n    prompt: y\n    gates:\n      - assert: { type: max-words, value: 200\n      - assert: { type: no-placeholders }\n`,
    line: "p.yml:7:17: YAML syntax error: the { that starts here is never closed: end it with }, or write one item per line",
  },
};

describe("a YAML mistake is one problem with a hint", () => {
  it.each(Object.entries(MISTAKES))("%s", (_, { text, line }) => {
    expect(problemLines(text)).toEqual([line]);
  });

  it("says to quote a template written unquoted, which YAML reads as a mapping, without a warning on stderr", async () => {
    const warnings: string[] = [];
    const listen = (warning: Error) => warnings.push(warning.message);
    process.on("warning", listen);
    try {
      expect(problemLines(`${HEAD}  - id: a\n    task: code\n    prompt: {{ issue.title }}\n`)).toEqual([
        'p.yml:5:13: phases[0].prompt: expected string, got a mapping {"{ issue.title }":null}: a value that starts with { is read as a YAML mapping; quote it ("{{ ... }}") or write it as a block (|)',
      ]);
      // Node emits a process warning on the next tick.
      await new Promise((done) => setImmediate(done));
    } finally {
      process.off("warning", listen);
    }
    expect(warnings).toEqual([]);
  });

  it("keeps every duplicate key, which are separate mistakes, not a cascade", () => {
    expect(problemLines("name: a\nname: b\nphases: []\nphases: []\n")).toEqual([
      "p.yml:2:1: duplicate key: Map keys must be unique",
      "p.yml:4:1: duplicate key: Map keys must be unique",
    ]);
  });

  it("reads the same in the repository config, which shares the reader", () => {
    const result = parseRepoConfig(
      "pipelines:\n  atomic:coding: coding\n   atomic:docs: docs.yml\n",
      "c.yml",
    );
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      "c.yml:3:4: YAML syntax error: this line is indented deeper than the one above, so it reads as part of its value: check the indentation of this line against the one above (1 more error follows from it)",
    ]);
  });
});

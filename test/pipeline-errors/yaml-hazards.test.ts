import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../src/github/repo-config.js";
import { readIssueFile } from "../../src/local/issue-file.js";
import { loadPipelineText } from "../../src/pipeline/load-pipeline.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import { loadFixtures } from "../../src/providers/recorded.js";
import { loadServerSettings } from "../../src/providers/settings.js";
import { tempFile } from "../helpers/temp.js";

/**
 * Issue 11, class 16: YAML that the library parses but cannot turn into data (aliases with no
 * anchor, circular anchors, alias bombs), or that would hurt whoever walks it next (deep nesting),
 * is a located problem in every loader of outside YAML, never an exception.
 */

/** Every loader of outside YAML, as `file:line:col: path: message` lines, or what it threw. */
const LOADERS: Record<string, (text: string) => string[]> = {
  pipeline: (text) => {
    const result = loadPipelineText(text, "p.yml");
    return result.ok ? [] : result.problems.map(formatProblem);
  },
  "repo config": (text) => {
    const result = parseRepoConfig(text, "c.yml");
    return result.ok ? [] : result.problems.map(formatProblem);
  },
  "server settings": (text) => thrownLines(() => loadServerSettings(tempFile("s.yml", text)), "s.yml"),
  fixtures: (text) => thrownLines(() => loadFixtures(tempFile("f.yml", text)), "f.yml"),
};

/**
 * The problem lines of a loader that throws one error for a bad file: its first line says which
 * file, each further line is one located problem. An error of another shape is a failure.
 */
function thrownLines(load: () => unknown, name: string): string[] {
  try {
    load();
    return [];
  } catch (error) {
    const [head, ...lines] = (error as Error).message.split("\n");
    expect(head).toMatch(/ has problems:$|^invalid fixture file .*:$/);
    return lines.map((line) => line.replace(/^\/\S+?\.yml:/, `${name}:`));
  }
}

/** Nine lists of nine of the anchor before, six times: 9^6 values from six short lines. */
const BOMB = [
  "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]",
  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
  "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
  "",
].join("\n");

/** Hazard -> text, the line:col it must be reported at and what the message says. */
const HAZARDS: Record<string, { text: string; at: string; message: RegExp }> = {
  "an alias to an anchor that does not exist": {
    text: "x: 1\ny: *nope\n",
    at: "2:4",
    message: /y: alias \*nope names no anchor: define &nope before it/,
  },
  "an alias before its anchor": {
    text: "x: *later\ny: &later 1\n",
    at: "1:4",
    message: /alias \*later names no anchor/,
  },
  "a list anchored around an alias to itself": {
    text: "x: 1\ny: &loop [1, *loop]\n",
    at: "2:14",
    message: /y\[1\]: alias \*loop is inside the value it names \(a circular anchor\)/,
  },
  "a mapping anchored around an alias to itself, deeper down": {
    text: "x:\n  y: &m\n    z:\n      back: *m\n",
    at: "4:13",
    message: /x\.y\.z\.back: alias \*m is inside the value it names/,
  },
  "an exponential alias bomb": {
    text: BOMB,
    at: "5:8",
    message: /aliases expand this file by more than 10000 values \(an alias bomb\?\)/,
  },
  "one big block aliased many times": {
    text: `big: &big [${Array.from({ length: 200 }, (_, i) => i).join(", ")}]\nuses: [${Array(60).fill("*big").join(", ")}]\n`,
    at: "2:",
    message: /aliases expand this file by more than 10000 values/,
  },
  "flow lists nested 100 deep": {
    text: `x: ${"[".repeat(100)}${"]".repeat(100)}\n`,
    at: "1:",
    message: /nested more than 64 levels deep/,
  },
  "block mappings nested 70 deep": {
    text: Array.from({ length: 70 }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n") + " 1\n",
    at: "",
    message: /nested more than 64 levels deep/,
  },
  "an alias that nests a shallow file past the limit": {
    text: `deep: &d ${"[".repeat(40)}${"]".repeat(40)}\nmore: ${"[".repeat(30)}*d${"]".repeat(30)}\n`,
    at: "2:",
    message: /alias \*d nests the file more than 64 levels deep/,
  },
  "nesting so deep that the YAML parser itself gives up": {
    text: `x: ${"[".repeat(5000)}${"]".repeat(5000)}\n`,
    at: "1:",
    message: /nested too deeply to read: at most 64 levels|nested more than 64 levels deep/,
  },
  "a duplicate key": { text: "x: 1\nx: 2\n", at: "2:1", message: /duplicate key: Map keys must be unique/ },
  "a duplicate key inside a list item": {
    text: "x:\n  - a: 1\n    a: 2\n",
    at: "3:5",
    message: /duplicate key/,
  },
  "two documents in one file": { text: "x: 1\n---\ny: 2\n", at: "2:1", message: /multiple documents/ },
};

describe("YAML that does not become plain data, in every loader of outside input", () => {
  for (const [loader, load] of Object.entries(LOADERS)) {
    describe(loader, () => {
      for (const [hazard, { text, at, message }] of Object.entries(HAZARDS)) {
        it(`reports ${hazard} at its place instead of throwing`, () => {
          const lines = load(text);
          expect(lines.length, `${loader} accepted ${hazard}`).toBeGreaterThan(0);
          const file = {
            pipeline: "p.yml",
            "repo config": "c.yml",
            "server settings": "s.yml",
            fixtures: "f.yml",
          }[loader] as string;
          const hit = lines.find((line) => message.test(line));
          expect(hit, lines.join("\n")).toBeDefined();
          expect(hit?.startsWith(`${file}:${at}`), `${hit} is not at ${file}:${at}`).toBe(true);
        });
      }
    });
  }

  it("accepts an anchor used more than the YAML library's 100 uses, when it expands to little", () => {
    const uses = Array(150).fill("*g").join(", ");
    const text = `name: demo\ndescription: &g "src/**"\ndefaults: { context: [${uses}] }\nphases:\n  - id: a\n    task: code\n    prompt: hi\n`;
    expect(LOADERS.pipeline?.(text)).toEqual([]);
  });

  it("reports a bad alias in an issue's front matter at the file's own line", () => {
    const file = tempFile("issue.md", "---\nnumber: 3\nlabels: *nope\n---\n# T\n");
    expect(() => readIssueFile(file)).toThrow(
      `${file}:3:9: labels: alias *nope names no anchor: define &nope before it, or write the value out; fix the YAML front matter between the --- lines`,
    );
  });
});

describe("numbers YAML reads as not finite", () => {
  const judge = (threshold: string) =>
    `name: demo\nphases:\n  - id: a\n    task: code\n    prompt: hi\n    gates:\n      - judge:\n          threshold: ${threshold}\n          criteria: [{ name: c, weight: 1, rubric: r }]\n`;
  for (const [spelling, shown] of [
    [".nan", ".nan"],
    [".NaN", ".nan"],
    [".inf", ".inf"],
    ["-.inf", "-.inf"],
    ["1e400", ".inf"],
  ] as const) {
    it(`a pipeline's threshold of ${spelling} is "expected a finite number"`, () => {
      expect(LOADERS.pipeline?.(judge(spelling))).toEqual([
        `p.yml:8:22: phases[0].gates[0].judge.threshold: expected a finite number, got ${shown}`,
      ]);
    });
  }

  it("says so in the repository config, the server settings and an issue's front matter too", () => {
    expect(LOADERS["repo config"]?.("budget:\n  max_cost_usd: .inf\n")).toEqual([
      "c.yml:2:17: budget.max_cost_usd: expected a finite number, got .inf",
    ]);
    expect(LOADERS["server settings"]?.("breaker:\n  threshold: .nan\n")).toEqual([
      "s.yml:2:14: breaker.threshold: expected a finite number, got .nan",
    ]);
    const issue = tempFile("issue.md", "---\nnumber: .inf\n---\n# T\n");
    expect(() => readIssueFile(issue)).toThrow(`${issue}: number: expected a finite number`);
    const json = tempFile("issue.json", '{"number": 1e999, "title": "T"}');
    expect(() => readIssueFile(json)).toThrow(`${json}: number: expected a finite number`);
  });

  it("where text was expected, says how to keep it text", () => {
    const text = "name: demo\nphases:\n  - id: a\n    task: code\n    prompt: .nan\n";
    expect(LOADERS.pipeline?.(text)).toEqual([
      "p.yml:5:13: phases[0].prompt: expected string, got .nan (quote it to keep it as text)",
    ]);
  });
});

describe("the rest of what a YAML file can hold", () => {
  it("a byte order mark is ignored, and line 1's columns are the editor's", () => {
    expect(LOADERS["repo config"]?.("\uFEFFprovider: nope\n")).toEqual([
      'c.yml:1:11: provider: expected one of simulated | recorded | anthropic | gemini | openai-compatible, got "nope"',
    ]);
    expect(
      LOADERS.pipeline?.("\uFEFFname: demo\nphases:\n  - id: a\n    task: code\n    prompt: hi\n"),
    ).toEqual([]);
  });

  it("YAML 1.1 tags do not turn text into binary data or sets", () => {
    expect(
      LOADERS.pipeline?.(
        "name: demo\ndescription: !!binary aGVsbG8=\nphases:\n  - id: a\n    task: code\n    prompt: hi\n",
      ),
    ).toEqual([]);
    expect(LOADERS["repo config"]?.("pipelines: !!set { a, b }\n")).toEqual([
      "c.yml:1:20: pipelines.a: expected string, got null (an empty value)",
      "c.yml:1:23: pipelines.b: expected string, got null (an empty value)",
    ]);
  });

  it("an empty pipeline file says what a pipeline needs; an empty config or settings file is the defaults", () => {
    expect(LOADERS.pipeline?.("")).toEqual([
      "p.yml:1:1: the file is empty: a pipeline needs name: and phases:",
    ]);
    expect(LOADERS.pipeline?.("# only a comment\n")).toEqual([
      "p.yml:1:1: the file is empty: a pipeline needs name: and phases:",
    ]);
    expect(LOADERS["repo config"]?.("")).toEqual([]);
    expect(LOADERS["server settings"]?.("\n")).toEqual([]);
  });

  it("text past the size limit is refused unparsed, also when it comes from GitHub rather than a file", () => {
    const huge = `name: demo\ndescription: "${"x".repeat(1024 * 1024)}"\nphases: []\n`;
    expect(LOADERS.pipeline?.(huge)).toEqual([
      "p.yml:1:1: the file is larger than 1 MiB, the most this file may hold: is it the right file?",
    ]);
    expect(LOADERS["repo config"]?.(`# ${"y".repeat(1024 * 1024)}\n`)).toEqual([
      "c.yml:1:1: the file is larger than 1 MiB, the most this file may hold: is it the right file?",
    ]);
  });
});

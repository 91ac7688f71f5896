import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { findGaps } from "../../src/pipeline/gaps.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { openDatabase } from "../../src/store/database.js";
import { listRuns } from "../../src/store/runs.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { yamlBlocks } from "../helpers/markdown.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

/**
 * Must-show 1 of issue 12: every pipeline in README.md and docs/*.md runs offline, on the default
 * simulated model, to its end, or to the stop its text documents. A block is a pipeline when it has
 * top-level `name:` and `phases:` (repository config, settings, fixtures and scenarios are not).
 */
const DOCS = ["README.md", ...readdirSync("docs").map((name) => `docs/${name}`)].filter((path) =>
  path.endsWith(".md"),
);

const examples = DOCS.flatMap((doc) =>
  yamlBlocks(readFileSync(doc, "utf8"), doc)
    .filter((block) => /^name: /m.test(block.text) && /^phases:/m.test(block.text))
    .map((block) => ({
      doc,
      line: block.line,
      text: block.text,
      name: /^name: (.+)$/m.exec(block.text)?.[1] ?? "",
    })),
);

/** A tiny JavaScript project on Node's own test runner: the repository most examples describe. */
const JS_PROJECT: Record<string, string> = {
  "README.md": "# sample\n\nA tiny library that formats names.\n",
  "package.json": `${JSON.stringify({ name: "sample", version: "1.0.0", type: "module", scripts: { test: "node --test" } }, null, 2)}\n`,
  "src/format-name.js": "export function formatName(name) {\n  return name.trim();\n}\n",
  "test/format-name.test.js":
    'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { formatName } from "../src/format-name.js";\n\ntest("trims", () => {\n  assert.equal(formatName(" a "), "a");\n});\n',
};

/** The repository an example's text describes, where it is not the tiny JS project. */
const FIXTURES: Record<string, Record<string, string>> = {
  // "Fix the spelling mistakes": a README with one, and a docs page.
  "fix-typos": {
    ...JS_PROJECT,
    "README.md": "# sample\n\nA tiny library that formats names. Install it and recieve clean names.\n",
    "docs/usage.md": "# Usage\n\nCall `formatName` with teh name.\n",
  },
  // Its context and paths are TypeScript: a TypeScript project tested with vitest.
  "small-fix": {
    "README.md": "# sample\n\nA tiny library that formats names.\n",
    "package.json": `${JSON.stringify({ name: "sample", type: "module", scripts: { test: "vitest run" }, devDependencies: { typescript: "^5.9.0", vitest: "^3.2.0" } }, null, 2)}\n`,
    "tsconfig.json": '{ "compilerOptions": { "strict": true, "module": "NodeNext" } }\n',
    "src/format-name.ts": "export function formatName(name: string): string {\n  return name.trim();\n}\n",
    "test/format-name.test.ts":
      'import { expect, it } from "vitest";\nimport { formatName } from "../src/format-name.js";\n\nit("trims", () => {\n  expect(formatName(" a ")).toBe("a");\n});\n',
  },
};

/** Where an example stops by design, as its text says; every other example succeeds. */
const DOCUMENTED_STOPS: Record<string, { status: string; reason: string }> = {
  // docs/dry-run.md plants a gap of every kind: "post" has word limits no answer meets.
  "docs/dry-run.md:release-notes": { status: "failed", reason: 'phase "post" failed' },
};

/**
 * Examples whose judges name a real provider: its wire is stood in on the test's side (nock, no
 * network), with a key in the environment, so the example runs as written. The grade is fixed.
 */
const REAL_JUDGES: Record<string, () => void> = {
  "docs/gates.md:release-notes": () => {
    vi.stubEnv("GEMINI_API_KEY", "AIzaSyTEST-not-a-real-key-0123456789abcd");
    const grade = JSON.stringify({ score: 0.9, reason: "Lists only what the issue describes." });
    nock("https://generativelanguage.googleapis.com")
      .post(/\/v1beta\/models\/[^/]+:generateContent$/)
      .times(3)
      .reply(200, {
        candidates: [
          { content: { parts: [{ text: grade }], role: "model" }, finishReason: "STOP", index: 0 },
        ],
        usageMetadata: { promptTokenCount: 900, candidatesTokenCount: 20, totalTokenCount: 920 },
      });
  },
};

function runOf(repo: string) {
  const db = openDatabase(join(repo, ".git", "atomic-scrum", "atomic-scrum.db"));
  try {
    const [run] = listRuns(db);
    if (!run) throw new Error("no run was created");
    return run.state;
  } finally {
    db.close();
  }
}

describe("every pipeline example in README.md and docs/*.md", () => {
  it("finds the examples of the README and every docs page that has one", () => {
    const docs = new Set(examples.map((example) => example.doc));
    expect([...docs].sort()).toEqual(["README.md", "docs/dry-run.md", "docs/gates.md", "docs/pipelines.md"]);
    expect(examples.length).toBeGreaterThanOrEqual(12);
  });

  it.each(examples.map((example) => [`${example.doc}:${example.line} (${example.name})`, example] as const))(
    "%s runs offline on the simulated model to its end, or to the stop its text documents",
    async (_label, example) => {
      const repo = tempRepo(FIXTURES[example.name] ?? JS_PROJECT);
      REAL_JUDGES[`${example.doc}:${example.name}`]?.();
      const pipeline = tempFile(`${example.name.replace(/\W+/g, "-")}.yml`, example.text);
      const args = ["--repo", repo];
      const run = await cli(
        "run",
        pipeline,
        "--issue",
        issueFile(),
        ...args,
        "--provider",
        "simulated",
        "--no-wait",
      );
      expect(run.err).toBe("");
      const id = /run (run-\d+-[0-9a-f]{6})/.exec(run.out)?.[1] ?? "";
      // A documented human review is given, as a maintainer would, until the run ends.
      for (let review = 0; review < 3 && runOf(repo).status === "awaiting_approval"; review++) {
        const approved = await cli("approve", id, ...args, "--no-wait");
        expect(approved.err).toBe("");
      }
      const state = runOf(repo);
      const stop = DOCUMENTED_STOPS[`${example.doc}:${example.name}`];
      if (stop) {
        expect(state.status, run.out).toBe(stop.status);
        expect(state.reason).toContain(stop.reason);
      } else {
        expect(state.status, run.out).toBe("succeeded");
      }
    },
    60_000,
  );

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(examples.map((example) => [`${example.doc}:${example.line} (${example.name})`, example] as const))(
    "%s tells its agents every assert they must meet (no untold-assert in the dry run)",
    (_label, example) => {
      const loaded = loadPipelineFile(tempFile("example.yml", example.text));
      if (!loaded.ok) throw new Error(`${example.doc}:${example.line} does not load`);
      const untold = findGaps(loaded.pipeline).filter((gap) => gap.kind === "untold-assert");
      // The dry-run page's example plants a gap of every kind, this one included.
      if (example.doc === "docs/dry-run.md") expect(untold.length).toBeGreaterThan(0);
      else expect(untold.map((gap) => `${gap.field}: ${gap.message}`)).toEqual([]);
    },
  );
});

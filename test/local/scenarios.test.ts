import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli as cli } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { yamlBlocks } from "../helpers/markdown.js";
import { tempDir } from "../helpers/temp.js";

/** A folder of scenario files, written from `name -> text`. */
function scenarioDir(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const CODING_CLEAN_RUN = resolve("pipelines/scenarios/coding/clean-run.yml");

/** SMALL_PIPELINE's phases: research (judge: grounded, complete), implement (paths), human-review. */
const SMALL_CLEAN = `name: small clean run
issue: { number: 7, title: Trim the input, body: Inputs arrive with stray spaces. }
approve: true
cassettes:
  research:
    - agent: "Inputs need trimming before they are stored; the issue names no other change."
      judge:
        grounded: { score: 0.9, reason: Every claim comes from the issue text. }
        complete: { score: 0.8, reason: The one request in the issue is covered. }
  implement:
    - agent:
        summary: Trims the input where it is read.
        files: [{ path: src/trim.ts, content: "export const trim = (s: string) => s.trim();\\n" }]
expect:
  status: succeeded
  phases:
    research: { attempts: 1, tiers: [balanced], gates: [pass] }
    implement: { attempts: 1, gates: [{ assert paths: pass }] }
`;

describe("atomic-scrum test", () => {
  it("passes the coding pipeline's built-in scenarios", async () => {
    const result = await cli("test", "pipelines/coding.yml");
    expect(result.err).toBe("");
    expect(result.out).toContain("atomic-scrum test · coding · 3 scenarios in pipelines/scenarios/coding");
    expect(result.out).toMatch(/✓ clean run \(6 phases, 6 attempts, \d+\.\d s\)/);
    expect(result.out).toContain("✓ a paths failure that a retry fixes (6 phases, 7 attempts,");
    expect(result.out).toContain("✓ tests escalate from balanced to deep (6 phases, 8 attempts,");
    expect(result.out.split("\n").at(-1)).toBe("3 passed, 0 failed");
    expect(result.code).toBe(0);
  });

  it("passes the content pipeline's built-in scenarios, named as `atomic-scrum run` names it", async () => {
    const result = await cli("test", "content");
    expect(result.out).toContain("✓ clean run (6 phases, 6 attempts,");
    expect(result.out).toContain("✓ a thin fact-check that a retry fixes (6 phases, 7 attempts,");
    expect(result.out).toContain("✓ the copy edit escalates from fast to balanced (6 phases, 9 attempts,");
    expect(result.out.split("\n").at(-1)).toBe("3 passed, 0 failed");
    expect(result.code).toBe(0);
  });

  it("fails a scenario whose expectations are wrong, saying what was expected and what happened", async () => {
    const dir = scenarioDir({
      "wrong.yml": `name: wrong about the clean run
extends: ${JSON.stringify(CODING_CLEAN_RUN)}
approve: false
expect:
  status: succeeded
  reason: budget
  phases:
    implement: { attempts: 2, tiers: [balanced, deep], escalated: true }
    code-review: { gates: [{ assert min-words: fail, judge: skipped }] }
    tests: { gates: [pass, pass] }
`,
    });
    const result = await cli("test", "pipelines/coding.yml", "--scenarios", dir);
    expect(result.code).toBe(1);
    const report = result.out.slice(result.out.indexOf("✗ wrong about the clean run"));
    expect(report).toContain(
      [
        "    status: expected succeeded, got awaiting_approval",
        '    reason: expected it to contain "budget", got no reason',
        "    implement: attempts: expected 2, got 1",
        "    implement: tiers: expected [balanced, deep], got [balanced]",
        "    implement: escalated: expected true, got false",
        '    code-review attempt 1: gate "assert min-words": expected fail, got pass',
        '    code-review attempt 1: gate "judge": expected skipped, got pass',
        "    tests attempt 2: expected pass, but the phase made 1 attempt(s)",
        "    what the run did:",
        "      requirements: balanced pass",
      ].join("\n"),
    );
    expect(report).toContain("      ended awaiting_approval");
    expect(result.out.split("\n").at(-1)).toBe("0 passed, 1 failed");
  });

  it("fails a scenario whose cassettes hold an attempt the run never replayed", async () => {
    const pipeline = join(tempDir(), "small.yml");
    writeFileSync(pipeline, SMALL_PIPELINE);
    const unused = SMALL_CLEAN.replace("name: small clean run", "name: one attempt too many").replace(
      "  implement:\n",
      "  implement:\n    - agent: { summary: Trims the input., files: [] }\n",
    );
    const result = await cli(
      "test",
      pipeline,
      "--scenarios",
      scenarioDir({ "a.yml": SMALL_CLEAN, "b.yml": unused }),
    );
    expect(result.out).toContain("✓ small clean run (2 phases, 2 attempts,");
    expect(result.out).toMatch(
      /✗ one attempt too many \(2 phases, 2 attempts, [\d.]+ s\)\n {4}cassettes: implement has 2 recorded attempts, the run made 1: attempt 2 was never replayed\n/,
    );
    expect(result.out.split("\n").at(-1)).toBe("1 passed, 1 failed");
    expect(result.code).toBe(1);
  });

  it("reports a malformed scenario file at file:line:col and runs the others", async () => {
    const pipeline = join(tempDir(), "small.yml");
    writeFileSync(pipeline, SMALL_PIPELINE);
    const dir = scenarioDir({
      "a-good.yml": SMALL_CLEAN,
      "b-syntax.yml": "name: broken\nissue: { title: x\n",
      "c-schema.yml": [
        "name: wrong fields",
        "issue: { title: Trim the input }",
        "approve: yes",
        "cassettes:",
        "  reserch:",
        "    - agent: notes",
        "expect:",
        "  status: done",
        "  phases:",
        "    human-review: { attempts: 1 }",
        "    research: { tiers: [fastest] }",
        "",
      ].join("\n"),
      "d-names.yml": [
        "issue: { title: Trim the input }",
        "cassettes:",
        "  reserch:",
        "    - agent: notes",
        "expect:",
        "  status: succeeded",
        "  phases:",
        "    human-review: { attempts: 1 }",
        "    implement: { attempts: 1, gates: [{ assert path: pass }, fail] }",
        "",
      ].join("\n"),
    });
    const result = await cli("test", pipeline, "--scenarios", dir);
    expect(result.out).toContain("✓ small clean run");
    const shown = (name: string) => join(dir, name);
    expect(result.out).toContain(`✗ ${shown("b-syntax.yml")}: the scenario file has problems`);
    expect(result.out).toContain(
      `    ${shown("b-syntax.yml")}:2:8: YAML syntax error: the { that starts here is never closed`,
    );
    expect(result.out).toContain(
      [
        `    ${shown("c-schema.yml")}:3:10: approve: expected true, false, or a list of different reviewer names such as [alice, bob]`,
        `    ${shown("c-schema.yml")}:8:11: expect.status: expected one of succeeded | failed | awaiting_approval | needs_human, got "done"`,
        `    ${shown("c-schema.yml")}:11:25: expect.phases.research.tiers[0]: expected one of fast | balanced | deep, got "fastest"`,
      ].join("\n"),
    );
    expect(result.out).toContain(
      [
        `    ${shown("d-names.yml")}:3:3: cassettes.reserch: pipeline "small" has no phase "reserch" (did you mean "research"?)`,
        `    ${shown("d-names.yml")}:8:5: expect.phases.human-review: "human-review" is an approval phase: only agent phases call models and make attempts`,
        `    ${shown("d-names.yml")}:9:38: expect.phases.implement.gates: lists 2 attempts but attempts is 1`,
        `    ${shown("d-names.yml")}:9:41: expect.phases.implement.gates[0].assert path: phase "implement" has no gate "assert path" (did you mean "assert paths"?); its gates are: "assert paths"`,
      ].join("\n"),
    );
    expect(result.out.split("\n").at(-1)).toBe("1 passed, 3 failed");
    expect(result.code).toBe(1);
  });

  it("finds scenarios next to a pipeline file by default, and follows extends relative to the file", async () => {
    const root = tempDir();
    writeFileSync(join(root, "small.yml"), SMALL_PIPELINE);
    mkdirSync(join(root, "scenarios", "small"), { recursive: true });
    writeFileSync(join(root, "scenarios", "small", "clean.yml"), SMALL_CLEAN);
    writeFileSync(
      join(root, "scenarios", "small", "stops.yml"),
      "name: stops at the review\nextends: clean.yml\napprove: false\nexpect: { status: awaiting_approval }\n",
    );
    const result = await cli("test", join(root, "small.yml"));
    expect(result.out).toContain("✓ small clean run");
    expect(result.out).toContain("✓ stops at the review");
    expect(result.code).toBe(0);
  });

  it("is an error when there are no scenarios, saying where it looked", async () => {
    const dir = tempDir();
    const result = await cli("test", "pipelines/coding.yml", "--scenarios", dir);
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `no scenarios for pipeline "coding": no .yml files in ${dir}; write one there (see docs/gates.md#scenario-tests), or pass --scenarios DIR`,
    );
    expect(result.out).toBe("");
  });

  describe("the example in docs/gates.md", () => {
    const doc = readFileSync("docs/gates.md", "utf8");
    const start = doc.indexOf("## Scenario tests");
    const end = doc.indexOf("\n## ", start + 1);
    const section = doc.slice(start, end < 0 ? undefined : end);
    const [pipeline, scenario] = yamlBlocks(section, "docs/gates.md").map((block) => block.text);
    const textBlocks = [...section.matchAll(/```text\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");

    /** Runs the documented pipeline with a variant of the documented scenario; paths as the doc shows them. */
    async function runExample(edit: (text: string) => string = (text) => text) {
      const root = tempDir();
      writeFileSync(join(root, "changelog.yml"), pipeline ?? "");
      mkdirSync(join(root, "scenarios", "changelog"), { recursive: true });
      writeFileSync(join(root, "scenarios", "changelog", "too-long.yml"), edit(scenario ?? ""));
      const result = await cli("test", join(root, "changelog.yml"));
      const out = result.out.replaceAll(`${root}/`, "").replace(/\d+\.\d s\)/g, "0.3 s)");
      return { code: result.code, out };
    }

    it("passes as written", async () => {
      const result = await runExample();
      expect(result.out.split("\n").at(-1)).toBe("1 passed, 0 failed");
      expect(result.code).toBe(0);
    });

    it("fails as the doc shows when the scenario expects the first draft to pass", async () => {
      const shown = textBlocks.find((text) => text.startsWith("$ atomic-scrum test changelog.yml"));
      const result = await runExample((text) =>
        text.replace("        - { assert max-words: fail, judge: skipped }\n", "        - pass\n"),
      );
      expect(`$ atomic-scrum test changelog.yml\n${result.out}\n`).toBe(shown);
      expect(result.code).toBe(1);
    });

    it("reports a misnamed phase as the doc shows", async () => {
      const shown = textBlocks.find((text) => text.includes("the scenario file has problems"));
      const result = await runExample((text) =>
        text.replace("  draft:\n    - agent: >-", "  drafts:\n    - agent: >-"),
      );
      expect(result.out).toContain(shown?.trimEnd());
      expect(result.code).toBe(1);
    });
  });
});

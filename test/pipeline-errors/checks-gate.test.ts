import { describe, expect, it } from "vitest";
import { findGaps } from "../../src/pipeline/gaps.js";
import { loadPipelineText } from "../../src/pipeline/load-pipeline.js";
import { HEAD, problemLines } from "./helpers.js";

const code = (gates: string) =>
  `${HEAD}  - id: code\n    task: code\n    prompt: y\n    output: { files: true }\n    gates:\n${gates}`;

describe("a checks gate", () => {
  it("defaults its timeout to 30m and takes names of the checks to wait for", () => {
    const result = loadPipelineText(code("      - checks: {}\n"), "p.yml");
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join("\n"));
    expect(result.pipeline.phases[0]).toMatchObject({ gates: [{ checks: { timeout: "30m" } }] });
    const named = loadPipelineText(code("      - checks: { timeout: 1h, names: [build, test] }\n"), "p.yml");
    expect(named.ok && named.pipeline.phases[0]).toMatchObject({
      gates: [{ checks: { timeout: "1h", names: ["build", "test"] } }],
    });
  });

  it("is refused twice on one phase, at the second one", () => {
    expect(
      problemLines(
        code(
          "      - checks: {}\n      - assert: { type: no-placeholders }\n      - checks: { timeout: 1h }\n",
        ),
      ),
    ).toEqual([
      "p.yml:10:17: phases[0].gates[2].checks: a phase has at most one checks gate; list every check name in one gate's names",
    ]);
  });

  it("refuses a timeout past 24h, an empty names list and an unknown field, each where it is", () => {
    expect(problemLines(code("      - checks: { timeout: 2d }\n"))).toEqual([
      "p.yml:8:28: phases[0].gates[0].checks.timeout: must be at most 24h: a CI run that takes longer is better split up",
    ]);
    expect(problemLines(code("      - checks: { names: [] }\n"))).toEqual([
      "p.yml:8:26: phases[0].gates[0].checks.names: list at least one check-run name, or leave names out to wait for every check",
    ]);
    expect(problemLines(code("      - checks: { timeout: 1h, name: test }\n"))).toEqual([
      'p.yml:8:32: phases[0].gates[0].checks.name: unknown field "name" (did you mean "names"?)',
    ]);
  });

  it("is a note in the gaps: offline there is no CI, and alone it gates nothing there", () => {
    const result = loadPipelineText(code("      - checks: {}\n"), "p.yml");
    if (!result.ok) throw new Error("does not load");
    expect(findGaps(result.pipeline)).toEqual([
      {
        kind: "checks-offline",
        severity: "note",
        phase: "code",
        field: "code.gates[0].checks",
        message:
          "the checks gate waits for the repository's CI on GitHub; a local run, scenario tests and mutation testing have no CI and pass it as skipped: it is this phase's only gate, so offline the phase passes whatever the model answers",
      },
    ]);
  });
});

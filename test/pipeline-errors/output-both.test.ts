import { describe, expect, it } from "vitest";
import { HEAD, problemLines } from "./helpers.js";

const phase = (output: string) => `${HEAD}  - id: a\n    task: code\n    prompt: y\n    output: ${output}\n`;

describe("an output with both artifact and files", () => {
  it("says the two forms exclude each other, at the output, instead of calling a field unknown", () => {
    expect(problemLines(phase("{ artifact: a.md, files: true }"))).toEqual([
      "p.yml:6:13: phases[0].output: output is either { artifact: <path> } or { files: true }, not both",
    ]);
  });

  it("says the same whichever key comes first", () => {
    expect(problemLines(phase("{ files: true, artifact: a.md }"))).toEqual([
      "p.yml:6:13: phases[0].output: output is either { artifact: <path> } or { files: true }, not both",
    ]);
  });

  it("still names a real unknown field next to one of the forms", () => {
    expect(problemLines(phase("{ artifact: a.md, artefact: b.md }"))).toEqual([
      'p.yml:6:31: phases[0].output.artefact: unknown field "artefact" (did you mean "artifact"?)',
    ]);
  });
});

describe("a gate with both judge and assert", () => {
  it("says the two forms exclude each other, at the gate", () => {
    const text = `${HEAD}  - id: a\n    task: code\n    prompt: y\n    gates:\n      - judge: { threshold: 0.5, criteria: [{ name: c, weight: 1, rubric: r }] }\n        assert: { type: contains, value: x }\n`;
    expect(problemLines(text)).toEqual([
      "p.yml:7:9: phases[0].gates[0]: a gate is one of { judge: ... }, { assert: ... } or { checks: ... }, not two at once",
    ]);
  });
});

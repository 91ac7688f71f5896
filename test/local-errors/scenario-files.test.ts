import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/local/scenarios/load.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import { tempDir } from "../helpers/temp.js";

/**
 * Issue 11, class 16: a scenario file, or a file it extends, that cannot be read or is not plain
 * YAML data is a located problem (`atomic-scrum test` prints it and runs the other scenarios).
 */

const loaded = loadPipelineFile("pipelines/coding.yml");
if (!loaded.ok) throw new Error("the built-in coding pipeline does not load");
const pipeline = loaded.pipeline;

/** Problems of `own.yml` in a folder holding `files`, with the folder cut from the paths. */
function problemsOf(files: Record<string, string | Buffer>, setUp?: (dir: string) => void): string[] {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  setUp?.(dir);
  const result = loadScenario(join(dir, "own.yml"), pipeline);
  if (result.ok) return [];
  return result.problems.map((p) => formatProblem(p).replaceAll(`${dir}/`, ""));
}

const ISSUE = "issue: { number: 1, title: T }\nexpect: { status: succeeded }\n";

describe("scenario files that cannot be read", () => {
  it("extends a file that does not exist: said at the extends", () => {
    expect(problemsOf({ "own.yml": `${ISSUE}extends: base.yml\n` })).toEqual([
      "own.yml:3:10: extends: base.yml: cannot read: no such file",
    ]);
  });

  it("extends a directory: said at the extends", () => {
    expect(
      problemsOf({ "own.yml": `${ISSUE}extends: base\n` }, (dir) => mkdirSync(join(dir, "base"))),
    ).toEqual(["own.yml:3:10: extends: base: cannot read: it is a directory, not a file"]);
  });

  it("extends a binary file: said at the extends", () => {
    expect(
      problemsOf({ "own.yml": `${ISSUE}extends: base.yml\n`, "base.yml": Buffer.from([0xff, 0xd8, 0xff]) }),
    ).toEqual([
      "own.yml:3:10: extends: base.yml: not UTF-8 text (a binary file, or another encoding): save it as UTF-8",
    ]);
  });

  it("is itself not UTF-8: said in the file, at the byte", () => {
    expect(
      problemsOf({ "own.yml": Buffer.concat([Buffer.from(`${ISSUE}name: `), Buffer.from([0xe9])]) }),
    ).toEqual(["own.yml:3:7: not UTF-8 text (a binary file, or another encoding): save it as UTF-8"]);
  });

  it("extends a file with an alias bomb: said in that file", () => {
    const bomb = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]", "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]"];
    for (const letter of "cdef") {
      const prev = String.fromCharCode(letter.charCodeAt(0) - 1);
      bomb.push(`${letter}: &${letter} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const problems = problemsOf({
      "own.yml": `${ISSUE}extends: base.yml\n`,
      "base.yml": `${bomb.join("\n")}\n`,
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^base\.yml:5:8: e\[0\]: aliases expand this file by more than 10000 values/);
  });

  it("holds a circular anchor in its cassettes", () => {
    expect(problemsOf({ "own.yml": `${ISSUE}cassettes:\n  plan: &p\n    - agent: *p\n` })).toEqual([
      "own.yml:5:14: cassettes.plan[0].agent: alias *p is inside the value it names (a circular anchor): write the value out",
    ]);
  });
});

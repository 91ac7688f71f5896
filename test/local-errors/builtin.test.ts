import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { BUILTIN_DIR, builtinPipelineNames, resolvePipelinePath } from "../../src/local/builtin.js";
import { captureIo } from "../helpers/io.js";
import { tempDir, tempFile } from "../helpers/temp.js";

describe("resolving the pipeline argument of atomic-scrum run", () => {
  it("lists the built-ins from the pipelines folder", () => {
    expect(builtinPipelineNames()).toEqual(["coding", "content"]);
  });

  it("turns a built-in name into its file, and leaves an existing path alone", () => {
    expect(resolvePipelinePath("coding")).toBe(join(BUILTIN_DIR, "coding.yml"));
    const file = tempFile("mine.yml", "name: x\n");
    expect(resolvePipelinePath(file)).toBe(file);
  });

  it("names the built-ins and the nearest one for a misspelt name", () => {
    expect(() => resolvePipelinePath("codin")).toThrow(
      'unknown pipeline "codin": built-in pipelines are coding, content (did you mean "coding"?); or give a path to a .yml file',
    );
  });

  it("offers no guess when no built-in is close", () => {
    expect(() => resolvePipelinePath("deploy-everything")).toThrow(
      'unknown pipeline "deploy-everything": built-in pipelines are coding, content; or give a path to a .yml file',
    );
  });

  it("says a path that does not exist was not found", () => {
    expect(() => resolvePipelinePath("x.yml")).toThrow('pipeline file "x.yml" not found');
    expect(() => resolvePipelinePath("ci/pipelines/coding")).toThrow(
      'pipeline file "ci/pipelines/coding" not found',
    );
  });

  it("refuses a folder given as the pipeline", () => {
    const dir = tempDir();
    expect(() => resolvePipelinePath(dir)).toThrow(`pipeline "${dir}" is a directory`);
  });

  it("reaches the command line as one readable line, not a read error at 1:1", async () => {
    const io = captureIo();
    const issue = tempFile("i.md", "# T\n");
    expect(await main(["run", "codin", "--issue", issue, "--repo", tempDir()], io)).toBe(1);
    expect(io.stderr).toEqual([
      'atomic-scrum: unknown pipeline "codin": built-in pipelines are coding, content (did you mean "coding"?); or give a path to a .yml file',
    ]);
  });
});

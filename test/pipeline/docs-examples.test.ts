import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import { yamlBlocks } from "../helpers/markdown.js";

const docPath = new URL("../../docs/pipelines.md", import.meta.url);
const doc = readFileSync(docPath, "utf8");

const blocks = yamlBlocks(doc, "docs/pipelines.md");
const dir = mkdtempSync(join(tmpdir(), "atomic-scrum-docs-"));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("docs/pipelines.md examples", () => {
  it("has at least three yaml examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it("finds blocks the way a reader sees them", () => {
    const sample = "text\n```yaml\nname: a\n```\n```text\nnot: yaml\n```\n```yml\nname: b\n```\n";
    expect(yamlBlocks(sample)).toEqual([
      { line: 3, text: "name: a\n" },
      { line: 9, text: "name: b\n" },
    ]);
  });

  it.each(blocks.map((block) => [block.line, block.text] as const))(
    "the block starting at line %i is a valid pipeline",
    (line, text) => {
      const file = join(dir, `pipelines-md-line-${line}.yml`);
      writeFileSync(file, text);
      const result = loadPipelineFile(file);
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
    },
  );
});

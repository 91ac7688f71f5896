import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { formatProblem } from "../../src/pipeline/problem.js";

const docPath = new URL("../../docs/pipelines.md", import.meta.url);
const doc = readFileSync(docPath, "utf8");

/** Every ```yaml (or ```yml) fenced block, with the line its content starts on. */
function yamlBlocks(markdown: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  const lines = markdown.split("\n");
  let open: { line: number; body: string[] } | undefined;
  lines.forEach((line, index) => {
    if (!open && /^```ya?ml\s*$/.test(line)) open = { line: index + 2, body: [] };
    else if (open && /^```\s*$/.test(line)) {
      blocks.push({ line: open.line, text: `${open.body.join("\n")}\n` });
      open = undefined;
    } else open?.body.push(line);
  });
  if (open) throw new Error(`docs/pipelines.md: yaml block opened at line ${open.line - 1} is never closed`);
  return blocks;
}

const blocks = yamlBlocks(doc);
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

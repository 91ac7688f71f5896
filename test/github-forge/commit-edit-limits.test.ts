import { describe, expect, it } from "vitest";
import { ForgeRefusal } from "../../src/forge/forge.js";
import { requestLog } from "../helpers/github/api.js";
import { BASE_SHA, BRANCH, commitMutation, headQuery, listPulls, newForge } from "./fixtures.js";

const MiB = 1024 * 1024;

describe("GitHub forge > commit > edit caps and sensitive areas (issue 11, class 8)", () => {
  it.each([
    [
      "a 30 MB file",
      [{ path: "big.txt", content: "a".repeat(30_000_000) }],
      /30000000 bytes.*edits\.max_file_bytes/,
    ],
    [
      "3,000 small files",
      Array.from({ length: 3000 }, (_, i) => ({ path: `many/${i}.txt`, content: "x" })),
      /3000 files.*edits\.max_files/,
    ],
    [
      "six files of 1 MiB",
      Array.from({ length: 6 }, (_, i) => ({ path: `mb/${i}.txt`, content: "m".repeat(MiB) })),
      /together.*edits\.max_total_bytes/,
    ],
    [
      ".gitmodules with an ext:: URL",
      [{ path: ".gitmodules", content: "url = ext::sh -c id\n" }],
      /\[submodules\]/,
    ],
    [".GITMODULES.", [{ path: ".GITMODULES.", content: "x" }], /\[submodules\]/],
    ["a nested .gitattributes", [{ path: "a/b/.gitattributes", content: "* -diff\n" }], /\[attributes\]/],
    [".HUSKY/pre-commit", [{ path: ".HUSKY/pre-commit", content: "id\n" }], /\[hooks\]/],
    ["a name with U+2028", [{ path: "docs/a\u2028b.md", content: "x" }], /U\+2028/],
  ])("refuses %s before any request", async (_, changes, reason) => {
    const attempt = newForge().commit({ branch: BRANCH, message: "m", changes, key: "k" });
    await expect(attempt).rejects.toThrow(ForgeRefusal);
    await expect(attempt).rejects.toThrow(reason);
    expect(requestLog()).toEqual([]);
  });

  it("commits a sensitive area the run's policy allows", async () => {
    const sent: { input: { fileChanges: { additions: { path: string }[] } } }[] = [];
    headQuery(BASE_SHA);
    commitMutation("d".repeat(40), sent);
    listPulls([{ number: 7 }]);
    const result = await newForge().commit({
      branch: BRANCH,
      message: "hooks",
      changes: [{ path: ".husky/pre-commit", content: "npm test\n" }],
      key: "k",
      edits: { allow: ["hooks"], maxFileBytes: MiB, maxFiles: 100, maxTotalBytes: 5 * MiB },
    });
    expect(result.created).toBe(true);
    expect(sent[0]?.input.fileChanges.additions.map((a) => a.path)).toEqual([".husky/pre-commit"]);
  });
});

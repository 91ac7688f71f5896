import { describe, expect, it } from "vitest";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { BRANCH, newForge, R, REF_PATH } from "./fixtures.js";

const HEAD = "e".repeat(40);
const sha = (n: number) => String(n).repeat(40).slice(0, 40);

function tree(
  entries: { path: string; size?: number; mode?: string; type?: string; sha?: string }[],
  truncated = false,
) {
  githubApi()
    .get(REF_PATH)
    .reply(200, { object: { sha: HEAD } });
  githubApi()
    .get(`${R}/git/trees/${HEAD}`)
    .query({ recursive: "1" })
    .reply(200, {
      sha: HEAD,
      truncated,
      tree: entries.map((e, i) => ({ mode: "100644", type: "blob", sha: sha(i + 1), ...e })),
    });
}

function blob(n: number, content: Buffer | string) {
  const bytes = Buffer.from(content);
  githubApi()
    .get(`${R}/git/blobs/${sha(n)}`)
    .reply(200, { sha: sha(n), size: bytes.length, encoding: "base64", content: bytes.toString("base64") });
}

describe("GitHub forge > readContext", () => {
  it("reads matching files within the limits and reports every omission with its reason", async () => {
    tree([
      { path: ".env", size: 5 },
      { path: "README.md", size: 4 },
      { path: "src/a.ts", size: 6 },
      { path: "src/big.ts", size: 1000 },
      { path: "src/img.ts", size: 3 },
      { path: "src/link.ts", size: 3, mode: "120000" },
      { path: "src/lib", type: "commit", mode: "160000" },
      { path: "src/z.ts", size: 2 },
      { path: "src", type: "tree", mode: "040000" },
    ]);
    blob(2, "docs");
    blob(3, "code()");
    const context = await newForge().readContext({
      branch: BRANCH,
      globs: ["*.md", "src/**", ".env.example"],
      maxFiles: 2,
      maxBytes: 100,
    });
    expect(context).toEqual({
      files: [
        { path: "README.md", content: "docs" },
        { path: "src/a.ts", content: "code()" },
      ],
      omitted: [
        { path: "src/big.ts", reason: "maxFiles reached (2 files)" },
        { path: "src/img.ts", reason: "maxFiles reached (2 files)" },
        { path: "src/lib", reason: "submodule" },
        { path: "src/link.ts", reason: "symlink" },
        { path: "src/z.ts", reason: "maxFiles reached (2 files)" },
      ],
    });
    expect(requestLog()).toHaveLength(4);
  });

  it("skips a file over the byte budget and a binary one, still taking a later small file", async () => {
    tree([
      { path: "a.txt", size: 8 },
      { path: "b.bin", size: 3 },
      { path: "c.txt", size: 2 },
    ]);
    blob(2, Buffer.from([1, 0, 2]));
    blob(3, "ok");
    const context = await newForge().readContext({ branch: BRANCH, globs: ["*"], maxFiles: 10, maxBytes: 6 });
    expect(context).toEqual({
      files: [{ path: "c.txt", content: "ok" }],
      omitted: [
        { path: "a.txt", reason: "maxBytes: 8 bytes, only 6 of 6 left" },
        { path: "b.bin", reason: "binary (NUL byte in the first 8000 bytes)" },
      ],
    });
  });

  it("reports a tree GitHub truncated", async () => {
    tree([{ path: "a.md", size: 1 }], true);
    blob(1, "a");
    const context = await newForge().readContext({
      branch: BRANCH,
      globs: ["**"],
      maxFiles: 5,
      maxBytes: 50,
    });
    expect(context.omitted).toEqual([
      { path: "*", reason: "GitHub truncated the tree listing: files past its limit were not seen" },
    ]);
  });

  it("refuses bad limits before any request", async () => {
    await expect(
      newForge().readContext({ branch: BRANCH, globs: ["*"], maxFiles: -1, maxBytes: 1 }),
    ).rejects.toThrow(/maxFiles must be a whole number/);
    expect(requestLog()).toEqual([]);
  });
});

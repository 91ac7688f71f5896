import { describe, expect, it } from "vitest";
import { GitHubAccessLost } from "../../src/forge/github/github-errors.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import {
  BRANCH,
  commitMutation,
  contextQuery,
  type GraphqlBlob,
  headQuery,
  listPulls,
  newForge,
  R,
  REF_PATH,
  textBlob,
} from "./fixtures.js";

const HEAD = "e".repeat(40);
const NEW_SHA = "d".repeat(40);
const sha = (n: number) => String(n).padStart(40, "0");
const operations = () => requestLog().map((r) => r.operation);

type TreeEntry = { path: string; size?: number; mode?: string; type?: string; sha?: string };

/** The branch at `head` (read over REST when `withRef`) and its tree; entry i has blob sha(i + 1). */
function tree(entries: TreeEntry[], { truncated = false, head = HEAD, withRef = true } = {}) {
  if (withRef) {
    githubApi()
      .get(REF_PATH)
      .reply(200, { object: { sha: head } });
  }
  githubApi()
    .get(`${R}/git/trees/${head}`)
    .query({ recursive: "1" })
    .reply(200, {
      sha: head,
      truncated,
      tree: entries.map((e, i) => ({ mode: "100644", type: "blob", sha: sha(i + 1), ...e })),
    });
}

function restBlob(n: number, content: string) {
  const bytes = Buffer.from(content);
  githubApi()
    .get(`${R}/git/blobs/${sha(n)}`)
    .reply(200, { sha: sha(n), size: bytes.length, encoding: "base64", content: bytes.toString("base64") });
}

/** The aliased blob SHAs one context query asked for, in order. */
const blobsAsked = (variables: Record<string, unknown>) =>
  Object.entries(variables)
    .filter(([name]) => /^b\d+$/.test(name))
    .map(([, value]) => value);

describe("GitHub forge > readContext", () => {
  it("reads matching files within the limits, every blob in one query, and reports every omission", async () => {
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
    const sent: Record<string, unknown>[] = [];
    contextQuery(HEAD, { [sha(2)]: textBlob("docs"), [sha(3)]: textBlob("code()") }, [], sent);
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
    expect(operations()).toEqual(["git/get-ref", "git/get-tree", "AtomicScrumContext"]);
    expect(sent).toEqual([
      { owner: "octo", repo: "hello", ref: `refs/heads/${BRANCH}`, b0: sha(2), b1: sha(3) },
    ]);
  });

  it("asks only for blobs it has not cached, and nothing at all when a read needs nothing new", async () => {
    const forge = newForge();
    tree([
      { path: "a.md", size: 1 },
      { path: "b.md", size: 1 },
    ]);
    const sent: Record<string, unknown>[] = [];
    contextQuery(HEAD, { [sha(1)]: textBlob("a") }, [], sent);
    contextQuery(HEAD, { [sha(2)]: textBlob("b") }, [], sent);
    const limits = { branch: BRANCH, maxFiles: 5, maxBytes: 50 };
    await forge.readContext({ ...limits, globs: ["a.md"] });
    const both = await forge.readContext({ ...limits, globs: ["*.md"] });
    expect(both.files.map((f) => f.content)).toEqual(["a", "b"]);
    expect(sent.map(blobsAsked)).toEqual([[sha(1)], [sha(2)]]);
    // Tree and blobs cached, and a head read the commit has not used yet: no request.
    expect(await forge.readContext({ ...limits, globs: ["b.md"] })).toEqual({
      files: [{ path: "b.md", content: "b" }],
      omitted: [],
    });
    expect(operations()).toEqual(["git/get-ref", "git/get-tree", "AtomicScrumContext", "AtomicScrumContext"]);
  });

  it("reads again at the head GitHub reports when the cached one is stale (a push during a cooldown)", async () => {
    const forge = newForge();
    const PUSHED = "f".repeat(40);
    const limits = { branch: BRANCH, maxFiles: 5, maxBytes: 50 };
    tree([{ path: "a.md", size: 1 }]);
    contextQuery(HEAD, { [sha(1)]: textBlob("a") });
    await forge.readContext({ ...limits, globs: ["*.md"] });
    commitMutation(NEW_SHA);
    listPulls([{ number: 7 }]);
    await forge.commit({
      branch: BRANCH,
      message: "m",
      changes: [{ path: "x.txt", content: "x" }],
      key: "run-1/p/1/commit",
    });
    // A person pushes PUSHED, adding b.md, while the run waits. The forge still believes NEW_SHA.
    tree([{ path: "a.md", size: 1 }], { head: NEW_SHA, withRef: false });
    contextQuery(PUSHED, {});
    tree(
      [
        { path: "a.md", size: 1 },
        { path: "b.md", size: 1 },
      ],
      { head: PUSHED, withRef: false },
    );
    contextQuery(PUSHED, { [sha(2)]: textBlob("b") });
    const context = await forge.readContext({ ...limits, globs: ["*.md"] });
    expect(context.files).toEqual([
      { path: "a.md", content: "a" },
      { path: "b.md", content: "b" },
    ]);
    expect(operations().slice(-4)).toEqual([
      "git/get-tree",
      "AtomicScrumContext",
      "git/get-tree",
      "AtomicScrumContext",
    ]);
  });

  it("leaves out binary blobs, and asks in a second query for a file they made room for", async () => {
    tree([
      { path: "a.txt", size: 8 },
      { path: "b.png", size: 3 },
      { path: "c.dat", size: 3 },
      { path: "d.txt", size: 2 },
    ]);
    const sent: Record<string, unknown>[] = [];
    const binary: GraphqlBlob = { text: null, isBinary: true, isTruncated: false };
    // GitHub calling a blob text does not hide a NUL from git's own test.
    contextQuery(HEAD, { [sha(2)]: binary, [sha(3)]: textBlob("x\0y") }, [], sent);
    contextQuery(HEAD, { [sha(4)]: textBlob("ok") }, [], sent);
    const context = await newForge().readContext({ branch: BRANCH, globs: ["*"], maxFiles: 10, maxBytes: 6 });
    expect(context).toEqual({
      files: [{ path: "d.txt", content: "ok" }],
      omitted: [
        { path: "a.txt", reason: "maxBytes: 8 bytes, only 6 of 6 left" },
        { path: "b.png", reason: "binary (GitHub says so)" },
        { path: "c.dat", reason: "binary (NUL byte in the first 8000 bytes)" },
      ],
    });
    expect(sent.map(blobsAsked)).toEqual([[sha(2), sha(3)], [sha(4)]]);
    // The head came with the first query; the second asks for the blob only.
    expect(sent.map((variables) => variables.ref)).toEqual([`refs/heads/${BRANCH}`, undefined]);
  });

  it("reads a blob GitHub truncated again over REST, so no file is silently cut", async () => {
    const full = `${"x".repeat(30)}\n`;
    tree([
      { path: "big.txt", size: full.length },
      { path: "small.txt", size: 2 },
    ]);
    contextQuery(HEAD, {
      [sha(1)]: { text: "x".repeat(10), isBinary: false, isTruncated: true },
      [sha(2)]: textBlob("ok"),
    });
    restBlob(1, full);
    const context = await newForge().readContext({
      branch: BRANCH,
      globs: ["*"],
      maxFiles: 5,
      maxBytes: 100,
    });
    expect(context.files).toEqual([
      { path: "big.txt", content: full },
      { path: "small.txt", content: "ok" },
    ]);
    expect(operations()).toEqual(["git/get-ref", "git/get-tree", "AtomicScrumContext", "git/get-blob"]);
  });

  it("asks for at most 100 blobs per query", async () => {
    const paths = Array.from({ length: 150 }, (_, i) => ({
      path: `f${String(i).padStart(3, "0")}`,
      size: 1,
    }));
    tree(paths);
    const blobs = Object.fromEntries(paths.map((_, i) => [sha(i + 1), textBlob("z")]));
    const sent: Record<string, unknown>[] = [];
    contextQuery(HEAD, blobs, [], sent);
    contextQuery(HEAD, blobs, [], sent);
    const context = await newForge().readContext({
      branch: BRANCH,
      globs: ["*"],
      maxFiles: 200,
      maxBytes: 200,
    });
    expect(context.files).toHaveLength(150);
    expect(sent.map((variables) => blobsAsked(variables).length)).toEqual([100, 50]);
  });

  it("reports a tree GitHub truncated", async () => {
    tree([{ path: "a.md", size: 1 }], { truncated: true });
    contextQuery(HEAD, { [sha(1)]: textBlob("a") });
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

  it("says the app lost access when GraphQL answers a null repository", async () => {
    tree([{ path: "a.md", size: 1 }]);
    githubApi()
      .post("/graphql")
      .reply(200, { data: { repository: null } });
    await expect(
      newForge().readContext({ branch: BRANCH, globs: ["*"], maxFiles: 5, maxBytes: 50 }),
    ).rejects.toThrow(GitHubAccessLost);
  });

  it("refuses bad limits before any request", async () => {
    await expect(
      newForge().readContext({ branch: BRANCH, globs: ["*"], maxFiles: -1, maxBytes: 1 }),
    ).rejects.toThrow(/maxFiles must be a whole number/);
    expect(requestLog()).toEqual([]);
  });
});

describe("GitHub forge > commit after readContext", () => {
  const limits = { branch: BRANCH, globs: ["*.md"], maxFiles: 5, maxBytes: 50 };
  const change = { message: "m", changes: [{ path: "a.md", content: "b" }] };

  it("commits on the head read with the context: no head read of its own", async () => {
    const forge = newForge();
    tree([{ path: "a.md", size: 1 }]);
    contextQuery(HEAD, { [sha(1)]: textBlob("a") });
    const sent: unknown[] = [];
    commitMutation(NEW_SHA, sent);
    listPulls([{ number: 7 }]);
    await forge.readContext(limits);
    expect(await forge.commit({ branch: BRANCH, ...change, key: "k1" })).toEqual({
      sha: NEW_SHA,
      created: true,
    });
    expect(sent).toEqual([{ input: expect.objectContaining({ expectedHeadOid: HEAD }) }]);
    expect(operations()).not.toContain("AtomicScrumBranchHead");
  });

  it("returns a keyed commit found in the history read with the context, with no write", async () => {
    const forge = newForge();
    tree([{ path: "a.md", size: 1 }]);
    contextQuery(HEAD, { [sha(1)]: textBlob("a") }, [{ oid: HEAD, message: "m\n\nAtomic-Scrum-Key: k1" }]);
    listPulls([{ number: 7 }]);
    await forge.readContext(limits);
    expect(await forge.commit({ branch: BRANCH, ...change, key: "k1" })).toEqual({
      sha: HEAD,
      created: false,
    });
    expect(operations()).toEqual(["git/get-ref", "git/get-tree", "AtomicScrumContext", "pulls/list"]);
  });

  it("still reads the head with every blob cached: one query, the one the commit no longer makes", async () => {
    const forge = newForge();
    tree([{ path: "a.md", size: 1 }]);
    contextQuery(HEAD, { [sha(1)]: textBlob("a") });
    commitMutation(NEW_SHA);
    listPulls([{ number: 7 }]);
    await forge.readContext(limits);
    await forge.commit({ branch: BRANCH, ...change, key: "k1" });
    // The next phase: the tree of the new commit has the same blob, so only the head is asked for.
    tree([{ path: "a.md", size: 1 }], { head: NEW_SHA, withRef: false });
    const sent: Record<string, unknown>[] = [];
    contextQuery(NEW_SHA, {}, [], sent);
    const commits: unknown[] = [];
    commitMutation("1".repeat(40), commits);
    await forge.readContext(limits);
    await forge.commit({ branch: BRANCH, ...change, key: "k2" });
    expect(sent).toEqual([{ owner: "octo", repo: "hello", ref: `refs/heads/${BRANCH}` }]);
    expect(commits).toEqual([{ input: expect.objectContaining({ expectedHeadOid: NEW_SHA }) }]);
    expect(operations().slice(-3)).toEqual(["git/get-tree", "AtomicScrumContext", "AtomicScrumCommit"]);
  });

  it("does its own head read when the context read had no globs", async () => {
    const forge = newForge();
    headQuery(HEAD);
    commitMutation(NEW_SHA);
    listPulls([{ number: 7 }]);
    await forge.readContext({ ...limits, globs: [] });
    await forge.commit({ branch: BRANCH, ...change, key: "k1" });
    expect(operations()).toEqual(["AtomicScrumBranchHead", "AtomicScrumCommit", "pulls/list"]);
  });

  it("drops the head after a failed commit: the retry reads the branch again and finds what landed", async () => {
    const forge = newForge();
    tree([{ path: "a.md", size: 1 }]);
    contextQuery(HEAD, { [sha(1)]: textBlob("a") });
    // The write lands but its answer is lost.
    githubApi()
      .post("/graphql", (body: { query: string }) => body.query.includes("createCommitOnBranch"))
      .reply(502, { message: "Server Error" });
    await forge.readContext(limits);
    await expect(forge.commit({ branch: BRANCH, ...change, key: "k1" })).rejects.toThrow(
      /committing to .* on top of e{40} failed/,
    );
    headQuery(NEW_SHA, [{ oid: NEW_SHA, message: "m\n\nAtomic-Scrum-Key: k1" }]);
    listPulls([{ number: 7 }]);
    expect(await forge.commit({ branch: BRANCH, ...change, key: "k1" })).toEqual({
      sha: NEW_SHA,
      created: false,
    });
    expect(operations()).toEqual([
      "git/get-ref",
      "git/get-tree",
      "AtomicScrumContext",
      "AtomicScrumCommit",
      "AtomicScrumBranchHead",
      "pulls/list",
    ]);
    expect(requestLog().filter((r) => r.isWrite)).toHaveLength(1);
  });

  it("drops the head after a refused commit: a context read then asks GitHub where the branch is", async () => {
    const forge = newForge();
    tree([{ path: "a.md", size: 1 }]);
    contextQuery(HEAD, { [sha(1)]: textBlob("a") });
    githubApi()
      .post("/graphql", (body: { query: string }) => body.query.includes("createCommitOnBranch"))
      .reply(200, {
        data: { createCommitOnBranch: null },
        errors: [
          {
            type: "STALE_DATA",
            path: ["createCommitOnBranch"],
            message: `Expected branch to point to "${HEAD}" but it did not. Pull and try again.`,
          },
        ],
      });
    await forge.readContext(limits);
    await expect(forge.commit({ branch: BRANCH, ...change, key: "k1" })).rejects.toThrow(/Expected branch/);
    tree([{ path: "a.md", size: 1 }], { head: NEW_SHA });
    contextQuery(NEW_SHA, {});
    const sent: unknown[] = [];
    commitMutation("1".repeat(40), sent);
    listPulls([{ number: 7 }]);
    await forge.readContext(limits);
    await forge.commit({ branch: BRANCH, ...change, key: "k1" });
    expect(sent).toEqual([{ input: expect.objectContaining({ expectedHeadOid: NEW_SHA }) }]);
    expect(operations().slice(4)).toEqual([
      "git/get-ref",
      "git/get-tree",
      "AtomicScrumContext",
      "AtomicScrumCommit",
      "pulls/list",
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { ForgeRefusal } from "../../src/forge/forge.js";
import { GitHubAccessLost } from "../../src/forge/github/github-errors.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { BASE_SHA, BRANCH, commitMutation, headQuery, ISSUE, listPulls, newForge, R } from "./fixtures.js";

const NEW_SHA = "d".repeat(40);

describe("GitHub forge > commit", () => {
  it("commits with one createCommitOnBranch guarded by the head it read, then opens the draft PR", async () => {
    const sent: unknown[] = [];
    headQuery(BASE_SHA);
    commitMutation(NEW_SHA, sent);
    listPulls([]);
    githubApi().get(R).reply(200, { default_branch: "main" });
    const opened: unknown[] = [];
    githubApi()
      .post(`${R}/pulls`, (body) => opened.push(body) > 0)
      .reply(201, { number: 7 });
    const forge = newForge();
    const result = await forge.commit({
      branch: BRANCH,
      message: "requirements: write the spec\n\nModel: simulated",
      changes: [
        { path: "docs/atomic/42/requirements.md", content: "# Spec\n" },
        { path: "old.md", delete: true },
      ],
      key: "run-1/requirements/1",
    });
    expect(result).toEqual({ sha: NEW_SHA, created: true });
    expect(sent).toMatchInlineSnapshot(`
      [
        {
          "input": {
            "branch": {
              "branchName": "atomic-scrum/42-add-login",
              "repositoryNameWithOwner": "octo/hello",
            },
            "expectedHeadOid": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "fileChanges": {
              "additions": [
                {
                  "contents": "IyBTcGVjCg==",
                  "path": "docs/atomic/42/requirements.md",
                },
              ],
              "deletions": [
                {
                  "path": "old.md",
                },
              ],
            },
            "message": {
              "body": "Model: simulated
      Atomic-Scrum-Key: run-1/requirements/1",
              "headline": "requirements: write the spec",
            },
          },
        },
      ]
    `);
    expect(opened).toEqual([
      expect.objectContaining({ head: BRANCH, base: "main", draft: true, title: "Add login (#42)" }),
    ]);
    const body = (opened[0] as { body: string }).body;
    expect(body).toMatch(new RegExp(`^Closes #${ISSUE}\\n`));
    expect(body).toContain("https://atomic.example/runs/7");
    expect(await forge.pullRequest()).toBe(7);
  });

  it("returns the earlier commit for a key already on the branch: one mutation for two calls", async () => {
    const forge = newForge();
    headQuery(BASE_SHA);
    commitMutation(NEW_SHA);
    listPulls([{ number: 7 }]);
    const input = {
      branch: BRANCH,
      message: "code: implement",
      changes: [{ path: "a.ts", content: "x" }],
      key: "k1",
    };
    expect(await forge.commit(input)).toEqual({ sha: NEW_SHA, created: true });
    headQuery(NEW_SHA, [
      { oid: NEW_SHA, message: "code: implement\n\nAtomic-Scrum-Key: k1\n" },
      { oid: BASE_SHA, message: "initial" },
    ]);
    expect(await forge.commit(input)).toEqual({ sha: NEW_SHA, created: false });
    const mutations = requestLog().filter((r) => r.isWrite);
    expect(mutations.map((r) => r.operation)).toEqual(["AtomicScrumCommit"]);
  });

  it("after a restart finds the keyed commit and the open PR: no second commit, no second PR", async () => {
    headQuery(NEW_SHA, [{ oid: NEW_SHA, message: "code: implement\n\nAtomic-Scrum-Key: k1\n" }]);
    listPulls([{ number: 7 }]);
    const restarted = newForge();
    const result = await restarted.commit({
      branch: BRANCH,
      message: "code: implement",
      changes: [],
      key: "k1",
    });
    expect(result).toEqual({ sha: NEW_SHA, created: false });
    expect(await restarted.pullRequest()).toBe(7);
    expect(requestLog().filter((r) => r.isWrite)).toEqual([]);
  });

  it("says the repository is gone when GraphQL cannot find it", async () => {
    githubApi()
      .post("/graphql")
      .reply(200, {
        data: { repository: null },
        errors: [{ type: "NOT_FOUND", path: ["repository"], message: "Could not resolve to a Repository" }],
      });
    await expect(newForge().commit({ branch: BRANCH, message: "m", changes: [], key: "k" })).rejects.toThrow(
      GitHubAccessLost,
    );
  });

  it("does not take key k1 for k10", async () => {
    headQuery(BASE_SHA, [{ oid: BASE_SHA, message: "x\n\nAtomic-Scrum-Key: k10" }]);
    commitMutation(NEW_SHA);
    listPulls([{ number: 7 }]);
    const result = await newForge().commit({ branch: BRANCH, message: "m", changes: [], key: "k1" });
    expect(result.created).toBe(true);
  });

  it("surfaces GitHub's stale-head refusal as an error and opens no PR", async () => {
    headQuery(BASE_SHA);
    githubApi()
      .post("/graphql", (body: { query: string }) => body.query.includes("createCommitOnBranch"))
      .reply(200, {
        data: { createCommitOnBranch: null },
        errors: [
          {
            type: "STALE_DATA",
            path: ["createCommitOnBranch"],
            message: `Expected branch to point to "${BASE_SHA}" but it did not. Pull and try again.`,
          },
        ],
      });
    await expect(
      newForge().commit({ branch: BRANCH, message: "m", changes: [{ path: "a", content: "b" }], key: "k" }),
    ).rejects.toThrow(
      /committing to "atomic-scrum\/42-add-login" on top of a{40} failed: .*Expected branch to point to/,
    );
    expect(requestLog().map((r) => r.operation)).toEqual(["AtomicScrumBranchHead", "AtomicScrumCommit"]);
  });

  it("opens the draft PR once, not again on the next commit", async () => {
    const forge = newForge();
    headQuery(BASE_SHA);
    commitMutation("1".repeat(40));
    listPulls([]);
    githubApi().get(R).reply(200, { default_branch: "main" });
    githubApi().post(`${R}/pulls`).reply(201, { number: 9 });
    await forge.commit({ branch: BRANCH, message: "one", changes: [], key: "k1" });
    headQuery("1".repeat(40));
    commitMutation("2".repeat(40));
    await forge.commit({ branch: BRANCH, message: "two", changes: [], key: "k2" });
    expect(requestLog().filter((r) => r.operation === "pulls/create")).toHaveLength(1);
    expect(await forge.pullRequest()).toBe(9);
  });

  it("opens a normal pull request marked not ready where the plan allows no drafts", async () => {
    const forge = newForge();
    headQuery(BASE_SHA);
    commitMutation("1".repeat(40));
    listPulls([]);
    githubApi().get(R).reply(200, { default_branch: "main" });
    githubApi()
      .post(`${R}/pulls`, (body) => body.draft === true)
      .reply(422, {
        message: "Validation Failed",
        errors: [
          {
            resource: "PullRequest",
            code: "custom",
            message: "Draft pull requests are not supported in this repository.",
          },
        ],
      });
    const bodies: { draft: boolean; title: string }[] = [];
    githubApi()
      .post(`${R}/pulls`, (body) => bodies.push(body) > 0 && body.draft === false)
      .reply(201, { number: 11 });
    await forge.commit({ branch: BRANCH, message: "one", changes: [], key: "k1" });
    expect(bodies).toEqual([expect.objectContaining({ draft: false, title: "[not ready] Add login (#42)" })]);
    expect(await forge.pullRequest()).toBe(11);
  });

  it.each([
    [".git/hooks/pre-commit", /inside a .git directory/],
    [".github/workflows/ci.yml", /under .github\/workflows\//],
  ])("refuses %s before any request", async (path, reason) => {
    const attempt = newForge().commit({
      branch: BRANCH,
      message: "m",
      changes: [{ path, content: "x" }],
      key: "k",
    });
    await expect(attempt).rejects.toThrow(ForgeRefusal);
    await expect(attempt).rejects.toThrow(reason);
    expect(requestLog()).toEqual([]);
  });

  it("refuses to commit to a branch that does not exist", async () => {
    githubApi()
      .post("/graphql")
      .reply(200, { data: { repository: { ref: null } } });
    await expect(newForge().commit({ branch: BRANCH, message: "m", changes: [], key: "k" })).rejects.toThrow(
      /the branch does not exist; prepare it first/,
    );
  });
});

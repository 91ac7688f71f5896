import { describe, expect, it } from "vitest";
import { createGitHubForge } from "../../src/forge/github/github-forge.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { testOctokit } from "../helpers/github/octokit.js";
import { BRANCH, ISSUE, OWNER, R, REPO } from "./fixtures.js";

const APPROVED = "c".repeat(40);
const forge = () =>
  createGitHubForge({
    octokit: testOctokit(),
    owner: OWNER,
    repo: REPO,
    issueNumber: ISSUE,
    title: "Add login (#42)",
    branch: BRANCH,
  });

function pulls(pull: { head: string; draft?: boolean; merged?: boolean; state?: "open" | "closed" }) {
  githubApi()
    .get(`${R}/pulls`)
    .query({ head: `${OWNER}:${BRANCH}`, state: "all" })
    .reply(200, [
      {
        number: 7,
        node_id: "PR_7",
        state: pull.state ?? "open",
        draft: pull.draft ?? false,
        merged_at: pull.merged ? "2026-11-24T00:00:00Z" : null,
        head: { ref: BRANCH, sha: pull.head },
      },
    ]);
}

describe("GitHub forge > merging the approved commit", () => {
  it("marks a draft ready, then merges at exactly the approved commit", async () => {
    pulls({ head: APPROVED, draft: true });
    const sent: unknown[] = [];
    githubApi()
      .post("/graphql", (body: { query: string }) => body.query.includes("markPullRequestReadyForReview"))
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } });
    githubApi()
      .put(`${R}/pulls/7/merge`, (body) => sent.push(body) > 0)
      .reply(200, { sha: "d".repeat(40), merged: true, message: "Pull Request successfully merged" });
    await expect(forge().mergePull({ sha: APPROVED, method: "squash" })).resolves.toEqual({ merged: true });
    expect(sent).toEqual([
      {
        sha: APPROVED,
        merge_method: "squash",
        commit_title: "Add login (#42) (#7)",
        commit_message: `Closes #42\n\nMerged by Atomic Scrum at ${APPROVED} after approval.`,
      },
    ]);
    expect(requestLog().map((r) => r.operation)).toEqual(["pulls/list", "AtomicScrumReady", "pulls/merge"]);
  });

  describe("an issue title with a closing keyword closes nothing but the run's issue (issue 11, class 7)", () => {
    const titles: [string, string][] = [
      ["Add subtract (closes #1) (#42)", "Add subtract (closes ref #1) (#42)"],
      ["Fixes #3 and RESOLVED #4 (#42)", "Fixes ref #3 and RESOLVED ref #4 (#42)"],
      ["fix: octo/other#1 crash (#42)", "fix: ref octo/other#1 crash (#42)"],
      [
        "Closed\thttps://github.com/octo/hello/issues/9 (#42)",
        "Closed ref https://github.com/octo/hello/issues/9 (#42)",
      ],
      ["resolves:   GH-12 (#42)", "resolves: ref GH-12 (#42)"],
    ];
    for (const method of ["merge", "squash"] as const) {
      it.each(titles)(`${method}: %j is sent as an explicit, defused commit title`, async (title, safe) => {
        pulls({ head: APPROVED });
        const sent: { commit_title?: string; commit_message?: string }[] = [];
        githubApi()
          .put(`${R}/pulls/7/merge`, (body) => sent.push(body) > 0)
          .reply(200, { sha: "d".repeat(40), merged: true, message: "Pull Request successfully merged" });
        const titled = createGitHubForge({
          octokit: testOctokit(),
          owner: OWNER,
          repo: REPO,
          issueNumber: ISSUE,
          title,
          branch: BRANCH,
        });
        await expect(titled.mergePull({ sha: APPROVED, method })).resolves.toEqual({ merged: true });
        expect(sent[0]?.commit_title).toBe(`${safe} (#7)`);
        expect(sent[0]?.commit_message).toBe(
          `Closes #42\n\nMerged by Atomic Scrum at ${APPROVED} after approval.`,
        );
      });
    }

    it("rebase sends no title (GitHub writes no commit of its own); the commits carry the app's messages", async () => {
      pulls({ head: APPROVED });
      const sent: Record<string, unknown>[] = [];
      githubApi()
        .put(`${R}/pulls/7/merge`, (body) => sent.push(body) > 0)
        .reply(200, { sha: "d".repeat(40), merged: true, message: "Pull Request successfully merged" });
      await forge().mergePull({ sha: APPROVED, method: "rebase" });
      expect(sent).toEqual([{ sha: APPROVED, merge_method: "rebase" }]);
    });
  });

  it("refuses, without trying, when the branch moved past the approved commit", async () => {
    pulls({ head: "e".repeat(40) });
    await expect(forge().mergePull({ sha: APPROVED, method: "merge" })).resolves.toEqual({
      merged: false,
      reason: "the branch moved to eeeeeee after the approval",
    });
  });

  it("a pull request already merged at that commit (an answer lost) counts as done", async () => {
    pulls({ head: APPROVED, merged: true, state: "closed" });
    await expect(forge().mergePull({ sha: APPROVED, method: "merge" })).resolves.toEqual({ merged: true });
  });

  it("GitHub's refusals go to a person; a rate limit is thrown, to be tried again", async () => {
    pulls({ head: APPROVED });
    githubApi().put(`${R}/pulls/7/merge`).reply(405, { message: 'Required status check "test" is failing.' });
    await expect(forge().mergePull({ sha: APPROVED, method: "merge" })).resolves.toMatchObject({
      merged: false,
      reason: expect.stringMatching(/^GitHub refused the merge \(405\)/),
    });
    pulls({ head: APPROVED });
    githubApi().put(`${R}/pulls/7/merge`).reply(403, { message: "Resource not accessible by integration" });
    await expect(forge().mergePull({ sha: APPROVED, method: "merge" })).resolves.toMatchObject({
      merged: false,
      reason: expect.stringMatching(/^GitHub refused the merge \(403\)/),
    });
    pulls({ head: APPROVED });
    githubApi()
      .put(`${R}/pulls/7/merge`)
      .reply(403, { message: "API rate limit exceeded" }, { "x-ratelimit-remaining": "0" });
    await expect(forge().mergePull({ sha: APPROVED, method: "merge" })).rejects.toThrow(/rate limit/);
  });
});

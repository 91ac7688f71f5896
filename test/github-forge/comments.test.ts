import { describe, expect, it } from "vitest";
import { createGitHubForge } from "../../src/forge/github/github-forge.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { testOctokit } from "../helpers/github/octokit.js";
import { BRANCH, botComment, ISSUE, listPulls, newForge, OWNER, R, REPO } from "./fixtures.js";

const comments = (n: number) => `${R}/issues/${n}/comments`;
const listed = (n: number, page = 1) =>
  githubApi()
    .get(comments(n))
    .query({ per_page: "100", page: String(page) });

function forgeOnBranch() {
  return createGitHubForge({
    octokit: testOctokit(),
    owner: OWNER,
    repo: REPO,
    issueNumber: ISSUE,
    title: "t",
    branch: BRANCH,
  });
}

describe("GitHub forge > comments", () => {
  it("posts a phase comment on the PR with its hidden marker first", async () => {
    listPulls([{ number: 7 }]);
    listed(7).reply(200, []);
    listed(ISSUE).reply(200, []);
    const posted: unknown[] = [];
    githubApi()
      .post(comments(7), (body) => posted.push(body) > 0)
      .reply(201, { id: 501 });
    const result = await forgeOnBranch().comment({
      runId: "r1",
      key: "r1/req/1",
      name: "01-req",
      body: "Scores",
    });
    expect(result).toEqual({ id: "501", created: true });
    expect(posted).toEqual([{ body: "<!-- atomic-scrum:key=r1/req/1 -->\nScores" }]);
  });

  it("posts on the issue while there is no PR", async () => {
    listed(ISSUE).reply(200, []);
    githubApi().post(comments(ISSUE)).reply(201, { id: 9 });
    const result = await newForge().comment({ runId: "r1", key: "k", name: "n", body: "b" });
    expect(result).toEqual({ id: "9", created: true });
  });

  it("finds its comment again by marker after a restart and posts nothing", async () => {
    listPulls([{ number: 7 }]);
    listed(7).reply(200, [
      {
        id: 1,
        body: "<!-- atomic-scrum:key=r1/req/1 -->\nforged by a person",
        user: { login: "eve", type: "User" },
      },
      ...Array.from({ length: 99 }, (_, i) => botComment(100 + i, `filler ${i}`)),
    ]);
    listed(7, 2).reply(200, [botComment(502, "<!-- atomic-scrum:key=r1/req/1 -->\nScores")]);
    const restarted = forgeOnBranch();
    const input = { runId: "r1", key: "r1/req/1", name: "01-req", body: "Scores" };
    expect(await restarted.comment(input)).toEqual({ id: "502", created: false });
    // Cached: a second call asks GitHub nothing more.
    expect(await restarted.comment(input)).toEqual({ id: "502", created: false });
    expect(requestLog().map((r) => r.operation)).toEqual([
      "pulls/list",
      "issues/list-comments",
      "issues/list-comments",
    ]);
  });

  it("folds a body over 60 000 characters with a note, closing the open <details>", async () => {
    listed(ISSUE).reply(200, []);
    let sent = "";
    githubApi()
      .post(comments(ISSUE), (body: { body: string }) => {
        sent = body.body;
        return true;
      })
      .reply(201, { id: 3 });
    const body = `<details><summary>artifact</summary>\n\n${"x".repeat(70_000)}\n</details>`;
    await newForge().comment({ runId: "r1", key: "k", name: "n", body });
    expect(sent.length).toBeLessThanOrEqual(60_000);
    expect(sent).toMatch(/<\/details>\n\n> Truncated: 70049 characters, GitHub comments hold 65 536\./);
  });
});

describe("GitHub forge > status comment", () => {
  it("is created once on the issue, then edited in place, and not rewritten when unchanged", async () => {
    const forge = newForge();
    listed(ISSUE).reply(200, []);
    githubApi().post(comments(ISSUE)).reply(201, { id: 77 });
    await forge.updateStatus({ runId: "r1", body: "| phase | state |\n| req | running |" });
    const edits: unknown[] = [];
    githubApi()
      .patch(`${R}/issues/comments/77`, (body) => edits.push(body) > 0)
      .reply(200, { id: 77 });
    await forge.updateStatus({ runId: "r1", body: "| phase | state |\n| req | passed |" });
    await forge.updateStatus({ runId: "r1", body: "| phase | state |\n| req | passed |" });
    expect(edits).toEqual([{ body: "<!-- atomic-scrum:status=r1 -->\n| phase | state |\n| req | passed |" }]);
    expect(requestLog().map((r) => r.operation)).toEqual([
      "issues/list-comments",
      "issues/create-comment",
      "issues/update-comment",
    ]);
  });

  it("is found again after a restart and edited, not posted twice", async () => {
    listed(ISSUE).reply(200, [botComment(77, "<!-- atomic-scrum:status=r1 -->\nold")]);
    githubApi().patch(`${R}/issues/comments/77`).reply(200, { id: 77 });
    await newForge().updateStatus({ runId: "r1", body: "new" });
    expect(
      requestLog()
        .filter((r) => r.isWrite)
        .map((r) => r.operation),
    ).toEqual(["issues/update-comment"]);
  });
});

describe("GitHub forge > comments, when the forge knows its app id", () => {
  it("takes a marker only from a comment this app made, not from another bot's", async () => {
    const forge = createGitHubForge({
      octokit: testOctokit(),
      owner: OWNER,
      repo: REPO,
      issueNumber: ISSUE,
      title: "t",
      branch: BRANCH,
      appId: 1234,
    });
    const marker = "<!-- atomic-scrum:key=r1/req/1 -->";
    listPulls([{ number: 7 }]);
    listed(7).reply(200, [
      {
        id: 1,
        body: `${marker}\nforged`,
        user: { login: "other-app[bot]", type: "Bot" },
        performed_via_github_app: { id: 99 },
      },
    ]);
    listed(ISSUE).reply(200, []);
    githubApi().post(comments(7)).reply(201, { id: 502 });
    const result = await forge.comment({ runId: "r1", key: "r1/req/1", name: "01-req", body: "Scores" });
    expect(result).toEqual({ id: "502", created: true });
  });
});

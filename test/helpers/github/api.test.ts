import { describe, expect, it } from "vitest";
import { assertNoInvalidRequests, githubApi, invalidRequests, requestLog, resetRequestLog } from "./api.js";
import { testOctokit } from "./octokit.js";

const repo = { owner: "octo", repo: "hello" };

/** Requests GitHub would reject do not type-check against Octokit's routes; send them untyped. */
const untyped = (route: string): string => route;

/** Runs `send` against a scope, returns the recorded problems and clears them for the afterEach. */
async function rejectionsOf(send: () => Promise<unknown>): Promise<string[]> {
  await expect(send()).rejects.toThrow(/GitHub would reject this request/);
  const problems = invalidRequests().flatMap((r) => r.problems);
  expect(() => assertNoInvalidRequests()).toThrow(/request\(s\) GitHub would reject/);
  return problems;
}

describe("githubApi harness > REST", () => {
  it("lets a valid create-ref through and logs it as a write", async () => {
    githubApi()
      .post("/repos/octo/hello/git/refs")
      .reply(201, { ref: "refs/heads/x", object: { sha: "a" } });
    const octokit = testOctokit();
    await octokit.request("POST /repos/{owner}/{repo}/git/refs", {
      ...repo,
      ref: "refs/heads/x",
      sha: "a".repeat(40),
    });
    expect(requestLog()).toEqual([
      {
        method: "POST",
        path: "/repos/octo/hello/git/refs",
        query: {},
        body: { ref: "refs/heads/x", sha: "a".repeat(40) },
        isWrite: true,
        operation: "git/create-ref",
      },
    ]);
    expect(invalidRequests()).toEqual([]);
  });

  it("matches a multi-segment ref and query parameters on a read", async () => {
    githubApi().get("/repos/octo/hello/git/ref/heads%2Fatomic%2F1-x").reply(200, {});
    githubApi().get("/repos/octo/hello/pulls").query({ head: "octo:b", state: "open" }).reply(200, []);
    const octokit = testOctokit();
    await octokit.request("GET /repos/{owner}/{repo}/git/ref/{ref}", { ...repo, ref: "heads/atomic/1-x" });
    await octokit.request("GET /repos/{owner}/{repo}/pulls", { ...repo, head: "octo:b", state: "open" });
    expect(requestLog().map((r) => [r.operation, r.isWrite])).toEqual([
      ["git/get-ref", false],
      ["pulls/list", false],
    ]);
  });

  it("fails a path GitHub does not have", async () => {
    githubApi().post("/repos/octo/hello/git/reference").reply(201, {});
    const problems = await rejectionsOf(() =>
      testOctokit().request("POST /repos/{owner}/{repo}/git/reference", {
        ...repo,
        ref: "refs/heads/x",
        sha: "a",
      }),
    );
    expect(problems).toEqual([
      "POST /repos/octo/hello/git/reference: no such operation in GitHub's REST API",
    ]);
  });

  it("fails a body missing a required field", async () => {
    githubApi().post("/repos/octo/hello/git/refs").reply(201, {});
    const problems = await rejectionsOf(() =>
      testOctokit().request(untyped("POST /repos/{owner}/{repo}/git/refs"), { ...repo, ref: "refs/heads/x" }),
    );
    expect(problems).toEqual(["POST /repos/{owner}/{repo}/git/refs (git/create-ref): body.sha: required"]);
  });

  it("fails a value outside an enum, in a body and in a query", async () => {
    githubApi().patch("/repos/octo/hello/issues/7").reply(200, {});
    githubApi().get("/repos/octo/hello/pulls").query({ state: "opened" }).reply(200, []);
    const octokit = testOctokit();
    const body = await rejectionsOf(() =>
      octokit.request(untyped("PATCH /repos/{owner}/{repo}/issues/{issue_number}"), {
        ...repo,
        issue_number: 7,
        state: "done",
      }),
    );
    expect(body.join("\n")).toMatch(/body\.state: "done" is not one of "open", "closed"/);
    const query = await rejectionsOf(() =>
      octokit.request(untyped("GET /repos/{owner}/{repo}/pulls"), { ...repo, state: "opened" }),
    );
    expect(query.join("\n")).toMatch(/query state: "opened" is not one of "open", "closed", "all"/);
  });

  it("fails a property the schema closes with additionalProperties: false", async () => {
    githubApi().patch("/repos/octo/hello/issues/7").reply(200, {});
    const problems = await rejectionsOf(() =>
      testOctokit().request(untyped("PATCH /repos/{owner}/{repo}/issues/{issue_number}"), {
        ...repo,
        issue_number: 7,
        issue_field_values: [{ field_id: 1, value: "x", colour: "red" }],
      }),
    );
    expect(problems).toEqual([
      "PATCH /repos/{owner}/{repo}/issues/{issue_number} (issues/update): body.issue_field_values[0].colour: not allowed (no such property)",
    ]);
  });

  it("fails a path parameter that is not an integer", async () => {
    githubApi().post("/repos/octo/hello/issues/undefined/comments").reply(201, {});
    const problems = await rejectionsOf(() =>
      testOctokit().request("POST /repos/octo/hello/issues/undefined/comments", { body: "hi" }),
    );
    expect(problems.join("\n")).toMatch(/path issue_number: expected an integer, got "undefined"/);
  });

  // `it.fails` passes only if the test fails: here nothing inspects the rejection, so only the
  // harness's afterEach can fail it. If the afterEach stopped surfacing violations, this turns red.
  it.fails("fails the test from afterEach even when the code under test swallows the error", async () => {
    githubApi().post("/repos/octo/hello/git/refs").reply(201, {});
    await testOctokit()
      .request(untyped("POST /repos/{owner}/{repo}/git/refs"), { ...repo, ref: "refs/heads/x" })
      .catch(() => undefined);
  });

  it("counts requests from resetRequestLog on", async () => {
    githubApi().get("/repos/octo/hello").times(2).reply(200, { default_branch: "main" });
    const octokit = testOctokit();
    await octokit.request("GET /repos/{owner}/{repo}", repo);
    resetRequestLog();
    await octokit.request("GET /repos/{owner}/{repo}", repo);
    expect(requestLog()).toHaveLength(1);
  });
});

describe("githubApi harness > GraphQL", () => {
  const mutation = `mutation CreateCommit($input: CreateCommitOnBranchInput!) {
    createCommitOnBranch(input: $input) { commit { oid url } }
  }`;

  it("lets a valid createCommitOnBranch mutation through and logs it as a write", async () => {
    githubApi()
      .post("/graphql")
      .reply(200, { data: { createCommitOnBranch: { commit: { oid: "b".repeat(40), url: "u" } } } });
    const result = await testOctokit().graphql(mutation, {
      input: {
        branch: { repositoryNameWithOwner: "octo/hello", branchName: "atomic-scrum/1-x" },
        expectedHeadOid: "a".repeat(40),
        message: { headline: "requirements" },
        fileChanges: { additions: [{ path: "a.md", contents: "aGk=" }] },
      },
    });
    expect(result).toEqual({ createCommitOnBranch: { commit: { oid: "b".repeat(40), url: "u" } } });
    expect(requestLog().map((r) => [r.path, r.operation, r.isWrite])).toEqual([
      ["/graphql", "CreateCommit", true],
    ]);
  });

  it("fails a document that asks for a field GitHub does not have", async () => {
    githubApi().post("/graphql").reply(200, { data: {} });
    const problems = await rejectionsOf(() =>
      testOctokit().graphql('query { repository(owner: "o", name: "r") { defaultBranch } }'),
    );
    expect(problems).toEqual([
      'anonymous query: graphql: Cannot query field "defaultBranch" on type "Repository". Did you mean "defaultBranchRef"?',
    ]);
  });

  it("fails when a non-null variable is missing or an input field is", async () => {
    githubApi().post("/graphql").times(2).reply(200, { data: {} });
    const octokit = testOctokit();
    const missing = await rejectionsOf(() => octokit.graphql(mutation, {}));
    expect(missing.join("\n")).toMatch(
      /Variable "\$input" of required type "CreateCommitOnBranchInput!" was not provided/,
    );
    const incomplete = await rejectionsOf(() =>
      octokit.graphql(mutation, { input: { branch: { branchName: "b" }, message: { headline: "h" } } }),
    );
    expect(incomplete.join("\n")).toMatch(/expectedHeadOid/);
  });
});

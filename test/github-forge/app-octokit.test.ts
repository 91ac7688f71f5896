import { describe, expect, it } from "vitest";
import { ForgeRateLimited } from "../../src/forge/forge.js";
import { AtomicScrumOctokit, RateLimitGate, rateLimitedUntil } from "../../src/github/octokit.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { OWNER, R, REPO } from "./fixtures.js";

const NOW = Date.UTC(2025, 0, 1);

/** The app's Octokit as `serve` gives it to Probot: plugin-retry and plugin-throttling both on. */
function appOctokit() {
  return new AtomicScrumOctokit({ auth: { token: "ghs_test" } });
}

const where = { owner: OWNER, repo: REPO };
const writes: [string, (o: ReturnType<typeof appOctokit>) => Promise<unknown>, () => void][] = [
  [
    "check-run create",
    (o) =>
      o.request("POST /repos/{owner}/{repo}/check-runs", { ...where, name: "n", head_sha: "a".repeat(40) }),
    () => githubApi().post(`${R}/check-runs`).reply(502, { message: "Server Error" }),
  ],
  [
    "comment create",
    (o) => o.rest.issues.createComment({ ...where, issue_number: 1, body: "b" }),
    () => githubApi().post(`${R}/issues/1/comments`).reply(502, { message: "Server Error" }),
  ],
  [
    "pull request create",
    (o) => o.rest.pulls.create({ ...where, title: "t", head: "h", base: "main" }),
    () => githubApi().post(`${R}/pulls`).reply(502, { message: "Server Error" }),
  ],
  [
    "label add",
    (o) => o.rest.issues.addLabels({ ...where, issue_number: 1, labels: ["x"] }),
    () => githubApi().post(`${R}/issues/1/labels`).reply(502, { message: "Server Error" }),
  ],
  [
    "merge",
    (o) => o.rest.pulls.merge({ ...where, pull_number: 2, sha: "a".repeat(40) }),
    () => githubApi().put(`${R}/pulls/2/merge`).reply(502, { message: "Server Error" }),
  ],
  [
    "GraphQL mutation",
    (o) =>
      o.graphql(
        "mutation AtomicScrumReady($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }",
        {
          id: "PR_1",
        },
      ),
    () => githubApi().post("/graphql").reply(502, { message: "Server Error" }),
  ],
];

describe("the app's Octokit (src/github/octokit.ts)", () => {
  describe("a write whose answer is lost is not sent again (issue 11, class 13)", () => {
    it.each(writes)(
      "%s answered 502: one request, the error reaches the caller",
      async (_name, send, answer) => {
        answer();
        await expect(send(appOctokit())).rejects.toMatchObject({ status: 502 });
        expect(requestLog()).toHaveLength(1);
      },
    );

    it("a read answered 502 is still retried by plugin-retry", async () => {
      githubApi().get(`${R}/pulls`).reply(502, { message: "Server Error" });
      githubApi().get(`${R}/pulls`).reply(200, []);
      await expect(appOctokit().rest.pulls.list(where)).resolves.toMatchObject({ data: [] });
      expect(requestLog()).toHaveLength(2);
    });
  });

  describe("a rate limit is never retried in-process (issue 11, class 12)", () => {
    const limits: [string, number, Record<string, string>, string, number][] = [
      [
        "429 with retry-after",
        429,
        { "retry-after": "60" },
        "You have exceeded a secondary rate limit.",
        60_000,
      ],
      [
        "403 secondary with retry-after",
        403,
        { "retry-after": "30" },
        "You have exceeded a secondary rate limit.",
        30_000,
      ],
      ["403 secondary without retry-after", 403, {}, "You have exceeded a secondary rate limit.", 60_000],
      [
        "403 primary with x-ratelimit-reset",
        403,
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(NOW / 1000 + 600) },
        "API rate limit exceeded for installation ID 1.",
        601_000,
      ],
      [
        "429 primary with x-ratelimit-reset",
        429,
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(NOW / 1000 + 5) },
        "API rate limit exceeded.",
        6_000,
      ],
    ];
    it.each(limits)(
      "%s: one request, and GitHub's time to wait",
      async (_name, status, headers, message, wait) => {
        githubApi().post(`${R}/issues/1/comments`).reply(status, { message }, headers);
        const started = Date.now();
        const error = await appOctokit()
          .rest.issues.createComment({ ...where, issue_number: 1, body: "b" })
          .catch((e: unknown) => e);
        // Throttling would have waited out retry-after (60 s) here; plugin-retry re-sent after 1 s.
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(requestLog()).toHaveLength(1);
        expect(rateLimitedUntil(error, NOW)).toBe(NOW + wait);
      },
    );

    it("a GraphQL RATE_LIMITED answer says to wait a minute", () => {
      const error = Object.assign(new Error("API rate limit exceeded"), {
        errors: [{ type: "RATE_LIMITED" }],
      });
      expect(rateLimitedUntil(error, NOW)).toBe(NOW + 60_000);
    });

    it.each([
      ["a 403 that is no rate limit", { status: 403, message: "Resource not accessible by integration" }],
      ["a 502", { status: 502, message: "Server Error" }],
      ["a 404", { status: 404, message: "Not Found" }],
    ])("%s is not a rate limit", (_name, error) => {
      expect(rateLimitedUntil(error, NOW)).toBeUndefined();
    });
  });

  describe("the per-installation gate", () => {
    // plugin-throttling turns the 200 into an error inside the request hook, where the gate sees it.
    it("a GraphQL answer of type RATE_LIMITED (HTTP 200) pauses the installation like a 429", async () => {
      const gate = new RateLimitGate(() => NOW);
      const octokit = gate.guard(appOctokit(), 7);
      githubApi()
        .post("/graphql")
        .reply(200, {
          data: null,
          errors: [{ type: "RATE_LIMITED", message: "API rate limit exceeded for installation ID 7." }],
        });
      const mutation = octokit.graphql(
        "mutation AtomicScrumReady($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }",
        { id: "PR_1" },
      );
      await expect(mutation).rejects.toBeInstanceOf(ForgeRateLimited);
      await expect(mutation).rejects.toMatchObject({ until: NOW + 60_000 });
      // Nothing more of the installation is sent until then.
      await expect(octokit.rest.pulls.list(where)).rejects.toBeInstanceOf(ForgeRateLimited);
      expect(gate.pausedUntil(7)).toBe(NOW + 60_000);
      expect(requestLog()).toHaveLength(1);
    });

    it("a GraphQL answer with errors of another kind is left to the caller", async () => {
      const gate = new RateLimitGate(() => NOW);
      githubApi()
        .post("/graphql")
        .reply(200, { data: null, errors: [{ type: "NOT_FOUND", path: ["repository"], message: "nope" }] });
      const error = await gate
        .guard(appOctokit(), 7)
        .graphql('query { repository(owner: "o", name: "r") { id } }')
        .catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(ForgeRateLimited);
      expect(error).toMatchObject({ errors: [{ type: "NOT_FOUND" }] });
      expect(gate.pausedUntil(7)).toBeUndefined();
    });

    it("after a rate limit, no request of the installation is sent until GitHub's time, then they are", async () => {
      let now = NOW;
      const gate = new RateLimitGate(() => now);
      const first = gate.guard(appOctokit(), 7);
      const second = gate.guard(appOctokit(), 7);
      const other = gate.guard(appOctokit(), 8);
      githubApi()
        .post(`${R}/issues/1/comments`)
        .reply(429, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "60" });
      const limited = first.rest.issues.createComment({ ...where, issue_number: 1, body: "b" });
      await expect(limited).rejects.toBeInstanceOf(ForgeRateLimited);
      await expect(limited).rejects.toMatchObject({ until: NOW + 60_000 });
      now += 59_000;
      // Another forge of the same installation: refused here, nothing sent.
      await expect(second.rest.pulls.list(where)).rejects.toMatchObject({ until: NOW + 60_000 });
      expect(requestLog()).toHaveLength(1);
      // Another installation has limits of its own.
      githubApi().get(`${R}/pulls`).reply(200, []);
      await expect(other.rest.pulls.list(where)).resolves.toMatchObject({ data: [] });
      now += 1_000;
      githubApi().get(`${R}/pulls`).reply(200, []);
      await expect(second.rest.pulls.list(where)).resolves.toMatchObject({ data: [] });
      expect(requestLog()).toHaveLength(3);
    });
  });
});

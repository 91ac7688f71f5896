import { join } from "node:path";
import { ProbotOctokit } from "probot";
import { describe, expect, it } from "vitest";
import { AtomicScrumOctokit } from "../../src/github/octokit.js";
import { listGroupJobs } from "../../src/store/queue.js";
import { labeledPayload } from "../github-app/harness.js";
import { tempDir } from "../helpers/temp.js";
import { type FakeGitHub, type FakeRequest, PULL_TITLE_MAX } from "./fake-github.js";
import { exampleGitHub, reviewPayload } from "./payloads.js";
import { onlyRun, runToRest, startProcess, testClock } from "./processes.js";
import type { ServeExtras } from "./serve-app.js";

const REVIEWER = "hubot-reviewer";
/** The app's Octokit as `serve` gives it to Probot, plugin-retry on (throttling off: no 1 s spacing). */
const APP_CLIENT: ServeExtras["client"] = { Octokit: AtomicScrumOctokit, retry: true };

async function setUp(options: { config?: string; title?: string; client?: ServeExtras["client"] } = {}) {
  const github = exampleGitHub({
    ...(options.config === undefined ? {} : { config: options.config }),
    roles: { Codertocat: "write", [REVIEWER]: "write" },
  });
  const time = testClock();
  const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1", {
    client: options.client ?? APP_CLIENT,
  });
  const payload = labeledPayload() as { issue: { title: string } };
  if (options.title !== undefined) payload.issue.title = options.title;
  return { github, app, time, payload };
}

const codePoints = (text: string) => [...text].length;
/** Half an emoji: what a cut by UTF-16 units leaves, and GitHub cannot store. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const writes = (github: FakeGitHub) => github.requests.filter((r) => r.method !== "GET").length;

describe("github e2e > what the app writes fits GitHub's limits (issue 11)", () => {
  describe("class 14: an issue title at GitHub's maximum still gets its pull request", () => {
    const titles: [string, string][] = [
      ["256 ASCII characters", "Add ".repeat(64)],
      ["256 emoji (512 UTF-16 units)", "😀".repeat(256)],
      ["family emoji (several code points each) up to 256", "👨‍👩‍👧".repeat(51)],
      ["accented letters, decomposed", "e\u0301".repeat(128)],
    ];
    it.each(titles)("%s", async (_name, title) => {
      expect(codePoints(title)).toBeLessThanOrEqual(256);
      const { github, app, time, payload } = await setUp({ title });
      await app.deliver(payload);
      const run = await runToRest(app, time);
      expect(run.state.status).toBe("awaiting_approval");
      expect(github.pulls).toHaveLength(1);
      const pr = github.pulls[0]?.title ?? "";
      expect(codePoints(pr)).toBeLessThanOrEqual(PULL_TITLE_MAX);
      expect(pr).not.toMatch(LONE_SURROGATE);
      // The reference to the issue survives the cut, after a visible ellipsis.
      expect(pr).toMatch(/… \(#1\)$/);
      // The branch name is a short ASCII slug whatever the title.
      expect(github.pulls[0]?.head).toMatch(/^atomic-scrum\/1(-[a-z0-9-]{1,40})?$/);
    });
  });

  describe("class 7: an issue title with a closing keyword closes nothing but the run's issue on merge", () => {
    const titles = [
      "Add subtract (closes #5)",
      "Fixes #5, RESOLVED #6",
      "fix: Codertocat/Hello-World#5",
      "Closed https://github.com/Codertocat/Hello-World/issues/5",
    ];
    for (const method of ["squash", "merge", "rebase"] as const) {
      it.each(titles)(`${method}: %j`, async (title) => {
        const { github, app, time, payload } = await setUp({
          config: `merge_after_approval: ${method}\n`,
          title,
        });
        await app.deliver(payload);
        expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
        // The branch is named after the title: the review arrives on that branch.
        const branch = github.pulls[0]?.head ?? "";
        const head = github.branchCommits(branch).at(-1)?.oid ?? "";
        const review = reviewPayload({ login: REVIEWER, commit: head, id: 901 });
        (review.pull_request as { head: { ref: string } }).head.ref = branch;
        await app.deliver(review, { event: "pull_request_review" });
        const done = await runToRest(app, time);
        expect(done.state.status).toBe("succeeded");
        expect(done.state.reason).toMatch(/^merged by Atomic Scrum/);
        expect(github.merges).toHaveLength(1);
        // Issue #1 is the run's own (the PR body's `Closes #1`); #5 and #6 stay open.
        expect(github.merges[0]?.closes).toEqual([1]);
      });
    }
  });

  describe("class 13: a write GitHub carried out but whose answer was lost is not made twice", () => {
    const lost: [string, (r: FakeRequest) => boolean][] = [
      ["check-run create", (r) => r.method === "POST" && r.path.endsWith("/check-runs")],
      ["comment create", (r) => r.method === "POST" && /\/issues\/\d+\/comments$/.test(r.path)],
      ["pull request create", (r) => r.method === "POST" && r.path.endsWith("/pulls")],
    ];
    const clients: [string, ServeExtras["client"]][] = [
      ["the app's Octokit", APP_CLIENT],
      ["Probot's Octokit, plugin-retry on", { Octokit: ProbotOctokit, retry: true }],
    ];
    for (const [clientName, client] of clients) {
      it.each(lost)(`${clientName}: %s answered 502 after the write`, async (_name, when) => {
        const { github, app, time, payload } = await setUp({ client });
        const fault = github.failOnce({ when, lost: true });
        await app.deliver(payload);
        expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
        expect(fault.fired).toBe(true);
        // Exactly one of each: one PR, one comment per marker, one check run per (name, commit).
        expect(github.pulls).toHaveLength(1);
        const markers = github.comments.map((c) => c.body.split("\n")[0]);
        expect(new Set(markers).size).toBe(markers.length);
        const checks = github.checkRuns.map((c) => `${c.name}@${c.head_sha}`);
        expect(new Set(checks).size).toBe(checks.length);
      });
    }
  });

  describe("class 12: a rate limit puts the job off until GitHub allows it, attempts untouched, and never ends the run", () => {
    const limits: [
      string,
      (r: FakeRequest) => boolean,
      403 | 429,
      Record<string, string>,
      string,
      (now: number) => number,
    ][] = [
      [
        "secondary limit: 429 with retry-after: 60 on the branch's creation",
        (r) => r.method === "POST" && r.path.endsWith("/git/refs"),
        429,
        { "retry-after": "60" },
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        (now) => now + 60_000,
      ],
      [
        "secondary limit: 403 with retry-after: 120 on a comment",
        (r) => r.method === "POST" && /\/issues\/\d+\/comments$/.test(r.path),
        403,
        { "retry-after": "120" },
        "You have exceeded a secondary rate limit and have been temporarily blocked from content creation.",
        (now) => now + 120_000,
      ],
      [
        "secondary limit: 403 without retry-after waits one minute",
        (r) => r.method === "POST" && r.path.endsWith("/check-runs"),
        403,
        {},
        "You have exceeded a secondary rate limit.",
        (now) => now + 60_000,
      ],
      [
        "primary limit: 403 with x-ratelimit-remaining: 0 until x-ratelimit-reset",
        (r) => r.method === "GET" && r.path.includes("/git/trees/"),
        403,
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "RESET" },
        "API rate limit exceeded for installation ID 4242.",
        (now) => Math.ceil(now / 1000) * 1000 + 300_000 + 1000,
      ],
      [
        "primary limit: 429 with x-ratelimit-remaining: 0 on the commit mutation",
        (r) =>
          r.method === "POST" && r.path === "/graphql" && /createCommitOnBranch/.test(JSON.stringify(r.body)),
        429,
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "RESET" },
        "API rate limit exceeded.",
        (now) => Math.ceil(now / 1000) * 1000 + 300_000 + 1000,
      ],
    ];
    it.each(limits)("%s", async (_name, when, status, headers, message, expected) => {
      const { github, app, time, payload } = await setUp();
      const reset = String(Math.ceil(time.now() / 1000) + 300);
      const limit = github.rateLimit({
        when,
        status,
        headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === "RESET" ? reset : v])),
        message,
      });
      await app.deliver(payload);
      const started = time.now();
      await app.worker.runUntilIdle();
      expect(limit.fired).toBe(1);
      const run = onlyRun(app);
      expect(run.state.status).toBe("running");
      const [job] = listGroupJobs(app.db, run.id).filter((j) => j.state !== "done");
      const until = expected(started);
      expect(job).toMatchObject({ state: "queued", runAt: until, attempts: 0 });
      expect(job?.lastError).toMatch(/rate limit/);

      // Nothing is sent before GitHub allows it: not the job, not a status write of the run.
      const sent = github.requests.length;
      time.advance(until - started - 1000);
      await app.worker.runUntilIdle();
      expect(github.requests.length).toBe(sent);
      expect(writes(github)).toBe(github.requests.slice(0, sent).filter((r) => r.method !== "GET").length);

      time.advance(1000);
      expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
      expect(limit.fired).toBe(1);
      expect(github.pulls).toHaveLength(1);
    });

    it("a rate limit on every try for an hour still ends in a pull request, with no attempt spent", async () => {
      const { github, app, time, payload } = await setUp();
      const limit = github.rateLimit({
        when: (r) => r.method === "POST" && r.path.endsWith("/git/refs"),
        status: 429,
        headers: { "retry-after": "60" },
        message: "You have exceeded a secondary rate limit.",
        times: 60,
      });
      await app.deliver(payload);
      for (let minute = 0; minute < 60; minute++) {
        await app.worker.runUntilIdle();
        expect(onlyRun(app).state.status).toBe("running");
        time.advance(60_000);
      }
      expect(limit.fired).toBe(60);
      expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
    });
  });
});

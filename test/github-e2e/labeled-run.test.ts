import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { listEvents, type RunRecord } from "../../src/store/runs.js";
import { closedPullPayload, labeledPayload, OWNER, REPO } from "../github-app/harness.js";
import { type LoggedRequest, requestLog } from "../helpers/github/api.js";
import { tempDir } from "../helpers/temp.js";
import type { FakeGitHub, FakeRequest, Fault } from "./fake-github.js";
import { BRANCH, exampleGitHub } from "./payloads.js";
import { onlyRun, runToRest, startProcess, stopProcess, testClock } from "./processes.js";

const ISSUE = 1;
const STATUS_MARKER = /^<!-- atomic-scrum:status=/;
const KEY_MARKER = /^<!-- atomic-scrum:key=/;

const coding = loadPipelineFile(resolvePipelinePath("coding"));
if (!coding.ok) throw new Error("the built-in coding pipeline does not load");
const AGENT_PHASES = coding.pipeline.phases.filter((p) => p.kind === "agent").map((p) => p.id);

/** A labeled issue from the first delivery to the human review, in one process. */
async function labeledRun() {
  const github = exampleGitHub();
  const time = testClock();
  const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1");
  const response = await app.deliver(labeledPayload());
  const run = await runToRest(app, time);
  return { github, app, run, status: response.status, log: requestLog() };
}

const bodyOf = (request: LoggedRequest | FakeRequest) =>
  (request.body as { body?: string } | undefined)?.body ?? "";
const isStatusWrite = (r: LoggedRequest) =>
  (r.method === "PATCH" && /\/issues\/comments\/\d+$/.test(r.path)) ||
  (r.method === "POST" && r.path.endsWith(`/issues/${ISSUE}/comments`) && STATUS_MARKER.test(bodyOf(r)));
const isCommit = (r: LoggedRequest) => r.operation === "AtomicScrumCommit";

/**
 * Everything a finished run must have left on GitHub, whatever happened on the way: one branch
 * from the default branch, one commit per agent phase, one draft PR, one comment per phase on
 * it, and one status comment on the issue, edited in place.
 */
function expectOneOfEverything(github: FakeGitHub, run: RunRecord) {
  expect(run.state.status).toBe("awaiting_approval");
  expect(run.branch).toBe(BRANCH);
  expect(github.createdRefs).toEqual([{ ref: `refs/heads/${BRANCH}`, sha: github.refs.get("master") }]);

  const commits = github.branchCommits(BRANCH);
  expect(commits.map((c) => /^Phase: (\S+)/m.exec(c.message)?.[1])).toEqual(AGENT_PHASES);
  for (const [i, commit] of commits.entries()) {
    const phase = AGENT_PHASES[i];
    expect(commit.message).toMatch(/ · model simulated\/simulated-(fast|balanced|deep)$/m);
    expect(commit.message.split("\n").at(-1)).toBe(`Atomic-Scrum-Key: ${run.id}/${phase}/1/commit`);
  }

  expect(github.pulls).toHaveLength(1);
  const [pull] = github.pulls;
  expect(pull).toMatchObject({ head: BRANCH, base: "master", draft: true });
  expect(pull?.body).toMatch(new RegExp(`^Closes #${ISSUE}$`, "m"));

  const onPull = github.comments.filter((c) => c.thread === pull?.number);
  expect(onPull.map((c) => /^<!-- atomic-scrum:key=\S+\/(\S+?)\/\d+\/comment -->/.exec(c.body)?.[1])).toEqual(
    AGENT_PHASES,
  );
  for (const comment of onPull) {
    expect(comment.body).toContain("| Criterion | Weight | Score | Floor | Pass |");
    expect(comment.body).toMatch(/\*\*Weighted score \d\.\d\d\*\* against threshold 0\.75: passed/);
  }

  const onIssue = github.comments.filter((c) => c.thread === ISSUE);
  expect(onIssue).toHaveLength(1);
  const [status] = onIssue;
  expect(status?.body).toMatch(STATUS_MARKER);
  expect(status?.body).toContain(run.id);
  // Edited at least once per phase after it was created, never posted again.
  expect(status?.edits.length).toBeGreaterThanOrEqual(AGENT_PHASES.length);
}

interface PhaseFigures {
  phase: string;
  requests: number;
  writes: number;
  calls: string[];
}

/**
 * Splits a run's requests into its phases. Each agent phase ends with one status write (the
 * edit after its comment), so the log is cut after every status write: the first slice is the
 * delivery and branch setup, then one slice per agent phase (named by the key of the commit in
 * it), then the human review's request for approval.
 */
function perPhase(log: LoggedRequest[]): PhaseFigures[] {
  const slices: LoggedRequest[][] = [[]];
  for (const request of log) {
    slices.at(-1)?.push(request);
    if (isStatusWrite(request)) slices.push([]);
  }
  if (slices.at(-1)?.length === 0) slices.pop();
  return slices.map((slice, i) => {
    const commit = slice.find(isCommit);
    const key = (commit?.body as { variables?: { input?: { message?: { body?: string } } } } | undefined)
      ?.variables?.input?.message?.body;
    const phase = /Atomic-Scrum-Key: \S+\/(\S+)\/\d+\/commit/.exec(key ?? "")?.[1];
    return {
      phase: phase ?? (i === 0 ? "(setup)" : "(approval)"),
      requests: slice.length,
      writes: slice.filter((r) => r.isWrite).length,
      calls: slice.map((r) => `${r.method} ${r.operation}`),
    };
  });
}

function printFigures(figures: PhaseFigures[]) {
  const rows = figures.map(
    (f) =>
      `  ${f.phase.padEnd(16)} ${String(f.requests).padStart(3)} requests ${String(f.writes).padStart(2)} writes`,
  );
  console.log(
    `GitHub requests per phase (target: at most 6 requests and 4 writes per phase; the first phase also opens the pull request)\n${rows.join("\n")}`,
  );
}

describe("github app end to end > a labeled issue", () => {
  it("becomes a branch, a commit and a comment per phase, one draft PR and one status comment edited in place", async () => {
    const { github, run, status, log } = await labeledRun();
    expect(status).toBe(200);
    expectOneOfEverything(github, run);

    const mask = (text: string) => text.replaceAll(run.id, "<run>");
    const prCreation = log.find((r) => r.method === "POST" && r.operation === "pulls/create");
    expect(prCreation?.body).toMatchInlineSnapshot(`
      {
        "base": "master",
        "body": "Closes #1

      Opened by Atomic Scrum as a draft: each phase adds one commit and one comment.
      It merges only after a person with write access approves the current head.",
        "draft": true,
        "head": "atomic-scrum/1-spelling-error-in-the-readme-file",
        "title": "Spelling error in the README file (#1)",
      }
    `);

    const firstCommit = log.find(isCommit)?.body as {
      query: string;
      variables: { input: Record<string, unknown> };
    };
    const input = structuredClone(firstCommit.variables.input) as {
      message: { headline: string; body: string };
      fileChanges: { additions: { path: string; contents: string }[] };
    };
    input.message.body = mask(input.message.body);
    for (const addition of input.fileChanges.additions) addition.contents = "<elided>";
    expect(firstCommit.query).toContain("createCommitOnBranch");
    expect(input).toMatchInlineSnapshot(`
      {
        "branch": {
          "branchName": "atomic-scrum/1-spelling-error-in-the-readme-file",
          "repositoryNameWithOwner": "Codertocat/Hello-World",
        },
        "expectedHeadOid": "769ccb67863b60324d2bcf220cec2b7309ccc877",
        "fileChanges": {
          "additions": [
            {
              "contents": "<elided>",
              "path": "docs/atomic-scrum/1/requirements.md",
            },
          ],
          "deletions": [],
        },
        "message": {
          "body": "Phase: requirements (research) · tier balanced · model simulated/simulated-balanced
      Attempt: 1 · score 0.85 (threshold 0.75)
      Run: <run>
      Atomic-Scrum-Key: <run>/requirements/1/commit",
          "headline": "Requirements for issue #1",
        },
      }
    `);

    // The status comment is posted once, then only ever PATCHed, always the same comment.
    const statusWrites = log.filter(isStatusWrite).map((r) => `${r.method} ${r.path}`);
    const statusId = github.comments.find((c) => c.thread === ISSUE)?.id;
    expect(statusWrites[0]).toBe(`POST /repos/${OWNER}/${REPO}/issues/${ISSUE}/comments`);
    expect(new Set(statusWrites.slice(1))).toEqual(
      new Set([`PATCH /repos/${OWNER}/${REPO}/issues/comments/${statusId}`]),
    );
    // What the status comment says at the end: waiting for a person.
    expect(github.comments.find((c) => c.id === statusId)?.body).toMatch(/approv/i);
  });

  // Commit, check run, phase comment, status edit. The first phase also opens the draft PR: a
  // write once per run, which puts that phase one over the per-phase target.
  it("no phase needs more than 4 writes to GitHub, besides opening the pull request once", async () => {
    const { log } = await labeledRun();
    const figures = perPhase(log);
    printFigures(figures);
    expect(figures.map((f) => f.phase)).toEqual(["(setup)", ...AGENT_PHASES, "(approval)"]);
    expect(Math.max(...figures.slice(2).map((f) => f.writes))).toBeLessThanOrEqual(4);
    expect(figures[1]?.writes).toBeLessThanOrEqual(5);
  });

  // Every phase after the first meets the target: the forge reuses the head its commit returned
  // and caches trees by commit and blobs by SHA, so a phase reads only what changed.
  it("no phase after the first needs more than 6 requests to GitHub", async () => {
    const { log } = await labeledRun();
    const figures = perPhase(log);
    expect(figures.map((f) => f.phase)).toEqual(["(setup)", ...AGENT_PHASES, "(approval)"]);
    const over = figures.slice(2).filter((f) => f.requests > 6);
    expect(over.map((f) => `${f.phase}: ${f.requests} requests\n  ${f.calls.join("\n  ")}`)).toEqual([]);
  });

  // The first phase also opens the draft PR and reads every context file once: one GraphQL query
  // fetches all the blobs the tree read found and the branch's head and history with them, which
  // the commit then uses instead of reading the branch itself.
  it("the first phase needs 6 requests to GitHub, and one more to open the pull request", async () => {
    const { log } = await labeledRun();
    const first = perPhase(log)[1];
    expect(first?.calls).toEqual([
      "GET git/get-tree",
      "POST AtomicScrumContext",
      "POST AtomicScrumCommit",
      "POST pulls/create",
      "POST issues/create-comment",
      "POST checks/create",
      "PATCH issues/update-comment",
    ]);
    expect(first?.requests).toBeLessThanOrEqual(7);
  });

  describe("crash and restart against the GitHub forge", () => {
    const commitCall = (r: FakeRequest) =>
      r.path === "/graphql" && /createCommitOnBranch/.test((r.body as { query: string }).query);
    const faults: [string, Omit<Fault, "fired">][] = [
      ["the first commit lands but its answer is lost", { lost: true, when: commitCall }],
      [
        "the third commit is refused with a 502",
        { lost: false, when: (r, gh) => commitCall(r) && gh.branchCommits(BRANCH).length === 2 },
      ],
      [
        "the draft PR is opened but the answer is lost",
        { lost: true, when: (r) => r.method === "POST" && /\/pulls$/.test(r.path) },
      ],
      [
        "a phase comment is posted but the answer is lost",
        {
          lost: true,
          when: (r, gh) =>
            r.method === "POST" && KEY_MARKER.test(bodyOf(r)) && gh.branchCommits(BRANCH).length === 2,
        },
      ],
      [
        "the status comment is created but the answer is lost",
        { lost: true, when: (r) => r.method === "POST" && STATUS_MARKER.test(bodyOf(r)) },
      ],
      ["a status edit lands but its answer is lost", { lost: true, when: (r) => r.method === "PATCH" }],
    ];

    it.each(faults)(
      "%s: a new process finishes the run with no second commit, PR or comment",
      async (_name, fault) => {
        const github = exampleGitHub();
        const injected = github.failOnce(fault);
        const time = testClock();
        const dbPath = join(tempDir(), "store.db");

        const first = await startProcess(dbPath, time.now, "worker-1");
        expect((await first.deliver(labeledPayload())).status).toBe(200);
        await first.worker.runUntilIdle();
        const stopped = onlyRun(first);
        // The fault stopped the first process part-way: the run is not done, its job backs off.
        expect(injected.fired).toBe(true);
        expect(stopped.state.status).toBe("running");
        expect(listEvents(first.db, stopped.id).map((e) => e.type)).toContain("job.failed");
        await stopProcess(first);

        // A new process on the same database file, with a new Probot and a new worker.
        time.advance(10 * 60_000);
        const second = await startProcess(dbPath, time.now, "worker-2");
        const run = await runToRest(second, time);
        expectOneOfEverything(github, run);
      },
    );
  });

  describe("a lost answer retried by the same process", () => {
    async function retriedInProcess(fault: Omit<Fault, "fired">) {
      const github = exampleGitHub();
      const injected = github.failOnce(fault);
      const time = testClock();
      const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1");
      expect((await app.deliver(labeledPayload())).status).toBe(200);
      const run = await runToRest(app, time);
      expect(injected.fired).toBe(true);
      return { github, run };
    }

    it("a commit that landed is found by its key, not made again", async () => {
      const { github, run } = await retriedInProcess({
        lost: true,
        when: (r) =>
          r.path === "/graphql" && /createCommitOnBranch/.test((r.body as { query: string }).query),
      });
      expectOneOfEverything(github, run);
    });

    // A POST whose answer is lost leaves the forge's cached listing without the comment GitHub did
    // create; the forge drops that listing on a failed POST and the app drops a run's forge after a
    // failed job, so the retry lists the thread again and finds it.
    it("a phase comment that landed is not posted again", async () => {
      const { github, run } = await retriedInProcess({
        lost: true,
        when: (r) => r.method === "POST" && KEY_MARKER.test(bodyOf(r)),
      });
      expectOneOfEverything(github, run);
    });

    // The same, for the status comment: never a second status comment on the issue.
    it("a status comment that landed is not posted again", async () => {
      const { github, run } = await retriedInProcess({
        lost: true,
        when: (r) => r.method === "POST" && STATUS_MARKER.test(bodyOf(r)),
      });
      expectOneOfEverything(github, run);
    });
  });

  describe("a person closes the draft PR while the run is going", () => {
    const commitCall = (r: FakeRequest) =>
      r.path === "/graphql" && /createCommitOnBranch/.test((r.body as { query: string }).query);

    /** Runs until the third commit is refused (the run waits on a back-off), then closes the PR. */
    async function closedMidRun() {
      const github = exampleGitHub();
      github.failOnce({
        lost: false,
        when: (r, gh) => commitCall(r) && gh.branchCommits(BRANCH).length === 2,
      });
      const time = testClock();
      const dbPath = join(tempDir(), "store.db");
      const app = await startProcess(dbPath, time.now, "worker-1");
      await app.deliver(labeledPayload());
      await app.worker.runUntilIdle();
      expect(onlyRun(app).state.status).toBe("running");
      expect(github.pulls).toHaveLength(1);
      const pull = github.pulls[0]?.number ?? 0;
      github.closePull(pull);
      return { github, time, dbPath, app, pull };
    }

    it("its webhook cancels the run, the status comment says who closed it, and no second PR is opened", async () => {
      const { github, time, app, pull } = await closedMidRun();
      const response = await app.deliver(closedPullPayload({ branch: BRANCH, number: pull }), {
        event: "pull_request",
      });
      expect(response.status).toBe(200);
      const run = await runToRest(app, time);
      expect(run.state.status).toBe("cancelled");
      expect(run.state.reason).toBe(`cancelled by @Codertocat, who closed pull request #${pull}`);
      expect(github.pulls).toHaveLength(1);
      expect(github.branchCommits(BRANCH)).toHaveLength(2);
      const status = github.comments.find((c) => c.thread === ISSUE && STATUS_MARKER.test(c.body));
      expect(status?.body).toContain(`who closed pull request #${pull}`);
    });

    it("with the webhook lost and the process restarted, the run still stops instead of opening a new PR", async () => {
      const { github, time, dbPath, app } = await closedMidRun();
      await stopProcess(app);
      time.advance(10 * 60_000);
      const restarted = await startProcess(dbPath, time.now, "worker-2");
      const run = await runToRest(restarted, time);
      expect(run.state.status).toBe("failed");
      expect(run.state.reason).toMatch(/pull request #\d+ from .* was closed, so the run stops here/);
      expect(github.pulls).toHaveLength(1);
    });
  });
});

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { APPROVAL_CHECK } from "../../src/render/check-runs.js";
import { labeledPayload } from "../github-app/harness.js";
import { tempDir } from "../helpers/temp.js";
import type { FakeGitHub } from "./fake-github.js";
import { BRANCH, example, exampleGitHub, reviewPayload } from "./payloads.js";
import { runToRest, startProcess, stopProcess, testClock } from "./processes.js";
import type { ServedApp } from "./serve-app.js";

const REVIEWER = "hubot-reviewer";
const PUSHED = "c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffe";

const coding = loadPipelineFile(resolvePipelinePath("coding"));
if (!coding.ok) throw new Error("the built-in coding pipeline does not load");
const AGENT_PHASES = coding.pipeline.phases.filter((p) => p.kind === "agent").map((p) => p.id);

async function setUp(config?: string): Promise<{
  github: FakeGitHub;
  app: ServedApp;
  time: ReturnType<typeof testClock>;
  db: string;
}> {
  const github = exampleGitHub({ config, roles: { Codertocat: "write", [REVIEWER]: "write" } });
  const time = testClock();
  const db = join(tempDir(), "store.db");
  const app = await startProcess(db, time.now, "worker-1");
  return { github, app, time, db };
}

/** What GitHub shows for a commit: the newest check run of each name. */
function shownOn(github: FakeGitHub, sha: string): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const check of github.checkRuns.filter((c) => c.head_sha === sha)) {
    shown[check.name] = check.status === "completed" ? `completed ${check.conclusion}` : check.status;
  }
  return shown;
}

describe("github e2e > check runs", () => {
  it("puts each phase's check on its commit and holds the approval check until a writer approves the head", async () => {
    const { github, app, time } = await setUp();
    await app.deliver(labeledPayload());
    const run = await runToRest(app, time);
    expect(run.state.status).toBe("awaiting_approval");

    const commits = github.branchCommits(BRANCH);
    expect(commits).toHaveLength(AGENT_PHASES.length);
    for (const [i, phase] of AGENT_PHASES.entries()) {
      const check = github.checkRuns.find((c) => c.name === `Atomic Scrum / ${phase}`);
      expect(check).toMatchObject({ head_sha: commits[i]?.oid, status: "completed", conclusion: "success" });
      expect(check?.output?.summary).toContain("| Criterion | Weight | Score | Floor | Pass |");
    }
    // One write per phase check, none written twice.
    expect(github.checkRuns.filter((c) => c.name !== APPROVAL_CHECK)).toHaveLength(AGENT_PHASES.length);
    const head = commits.at(-1)?.oid ?? "";
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("in_progress");

    const approved = await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 501 }), {
      event: "pull_request_review",
    });
    expect(approved.status).toBe(200);
    const done = await runToRest(app, time);
    expect(done.state.status).toBe("succeeded");
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("completed success");
    const approval = github.checkRuns.filter((c) => c.name === APPROVAL_CHECK);
    // The same check run went from in progress to success: updated, not created again.
    expect(approval).toHaveLength(1);
    expect(approval[0]?.output?.title).toBe(`Approved by @${REVIEWER}`);
  });

  it("a push after the approval puts the approval back to pending on the new head, and a new approval opens it again", async () => {
    const { github, app, time } = await setUp();
    await app.deliver(labeledPayload());
    await runToRest(app, time);
    const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
    await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 601 }), {
      event: "pull_request_review",
    });
    expect((await runToRest(app, time)).state.status).toBe("succeeded");

    const push = { ...example("pull_request", "synchronize"), before: head, after: PUSHED };
    await app.deliver(push, { event: "pull_request" });
    const reopened = await runToRest(app, time);
    expect(reopened.state).toMatchObject({ status: "awaiting_approval", head: PUSHED });
    expect(shownOn(github, PUSHED)[APPROVAL_CHECK]).toBe("in_progress");
    // The approval of the old head still says what it approved; it does not cover the new one.
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("completed success");

    // An approval of the old commit does not count; one of the new head does.
    await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 602 }), {
      event: "pull_request_review",
    });
    expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
    await app.deliver(reviewPayload({ login: REVIEWER, commit: PUSHED, id: 603 }), {
      event: "pull_request_review",
    });
    expect((await runToRest(app, time)).state.status).toBe("succeeded");
    expect(shownOn(github, PUSHED)[APPROVAL_CHECK]).toBe("completed success");
  });

  it("a dismissal after the approval puts the check back to pending on the same commit", async () => {
    const { github, app, time } = await setUp();
    await app.deliver(labeledPayload());
    await runToRest(app, time);
    const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
    await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 701 }), {
      event: "pull_request_review",
    });
    await runToRest(app, time);
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("completed success");

    const dismissal = example("pull_request_review", "dismissed");
    dismissal.review = {
      ...dismissal.review,
      commit_id: head,
      user: { ...(dismissal.review?.user as object), login: REVIEWER },
    };
    await app.deliver(dismissal, { event: "pull_request_review" });
    expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
    // A completed check is never reopened: a newer one of the same name takes its place.
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("in_progress");
    expect(github.checkRuns.filter((c) => c.name === APPROVAL_CHECK)).toHaveLength(2);
  });

  it("cancelling the run closes the approval check it left open", async () => {
    const { github, app, time } = await setUp();
    await app.deliver(labeledPayload());
    await runToRest(app, time);
    const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
    const closed = example("pull_request", "closed");
    (closed.pull_request as { merged: boolean }).merged = false;
    await app.deliver(closed, { event: "pull_request" });
    expect((await runToRest(app, time)).state.status).toBe("cancelled");
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("completed cancelled");
    expect(github.checkRuns.every((c) => c.status === "completed")).toBe(true);
  });

  it("a check created with its answer lost is found again, not made twice", async () => {
    const { github, app, time } = await setUp();
    // GitHub creates the approval check, but the answer never reaches the app.
    github.failOnce({
      lost: true,
      when: (r) =>
        r.method === "POST" &&
        r.path.endsWith("/check-runs") &&
        (r.body as { name?: string }).name === APPROVAL_CHECK,
    });
    await app.deliver(labeledPayload());
    const run = await runToRest(app, time);
    expect(run.state.status).toBe("awaiting_approval");
    const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
    expect(github.checkRuns.filter((c) => c.name === APPROVAL_CHECK)).toHaveLength(1);

    await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 511 }), {
      event: "pull_request_review",
    });
    await runToRest(app, time);
    // The one check that landed was found and updated: still one, now passed.
    const approval = github.checkRuns.filter((c) => c.name === APPROVAL_CHECK);
    expect(approval.map((c) => [c.status, c.conclusion])).toEqual([["completed", "success"]]);
  });

  it("a final state whose checks a crash cut off is written by the next process", async () => {
    const { github, app, time, db } = await setUp();
    await app.deliver(labeledPayload());
    await runToRest(app, time);
    const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
    // GitHub refuses every check write for a while: the cancellation is recorded, its checks are not.
    github.failCheckWrites(true);
    const closed = example("pull_request", "closed");
    (closed.pull_request as { merged: boolean }).merged = false;
    await app.deliver(closed, { event: "pull_request" });
    await app.worker.runUntilIdle().catch(() => undefined);
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("in_progress");
    await stopProcess(app);

    github.failCheckWrites(false);
    const next = await startProcess(db, time.now, "worker-2");
    await next.worker.runUntilIdle();
    expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("completed cancelled");
  });

  describe("merge_after_approval", () => {
    const CONFIG = "merge_after_approval: squash\n";

    it("merges the pull request at exactly the approved commit, and the run ends merged", async () => {
      const { github, app, time } = await setUp(CONFIG);
      await app.deliver(labeledPayload());
      expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
      expect(github.merges).toEqual([]);
      const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
      await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 801 }), {
        event: "pull_request_review",
      });
      const done = await runToRest(app, time);
      expect(done.state).toMatchObject({ status: "succeeded", step: "done" });
      expect(done.state.reason).toBe(`merged by Atomic Scrum (squash, after approval by @${REVIEWER})`);
      expect(done.state.approval).toBeUndefined();
      expect(github.merges).toMatchObject([
        { number: github.pulls[0]?.number, sha: head, method: "squash", closes: [1] },
      ]);
      expect(github.pulls[0]?.draft).toBe(false);
      // The approval check was passed before the merge, so a protection requiring it lets it through.
      expect(shownOn(github, head)[APPROVAL_CHECK]).toBe("completed success");
    });

    it("a merge GitHub refuses leaves the approved run for a person to merge, and says why", async () => {
      const { github, app, time } = await setUp(CONFIG);
      github.refuseMerges('Required status check "test" is failing.');
      await app.deliver(labeledPayload());
      await runToRest(app, time);
      const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
      await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 802 }), {
        event: "pull_request_review",
      });
      const done = await runToRest(app, time);
      expect(done.state.status).toBe("succeeded");
      expect(done.state.reason).toMatch(
        /^approved; not merged: GitHub refused the merge \(405\): Required status check/,
      );
      expect(done.state.approval?.head).toBe(head);
      expect(github.merges).toEqual([]);
      const status = github.comments.find((c) => c.thread === 1)?.body ?? "";
      expect(status).toContain("a person merges the pull request");
    });

    it("without it, the app never merges", async () => {
      const { github, app, time } = await setUp();
      await app.deliver(labeledPayload());
      await runToRest(app, time);
      const head = github.branchCommits(BRANCH).at(-1)?.oid ?? "";
      await app.deliver(reviewPayload({ login: REVIEWER, commit: head, id: 803 }), {
        event: "pull_request_review",
      });
      expect((await runToRest(app, time)).state.status).toBe("succeeded");
      expect(github.merges).toEqual([]);
      expect(github.pulls[0]?.state).toBe("open");
    });
  });
});

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listEvents, type RunRecord } from "../../src/store/runs.js";
import { enqueueRunJob } from "../../src/worker/jobs.js";
import { closedPullPayload, labeledPayload } from "../github-app/harness.js";
import { tempDir } from "../helpers/temp.js";
import type { FakeGitHub, FakeRequest } from "./fake-github.js";
import { BRANCH, commentPayload, exampleGitHub } from "./payloads.js";
import { runToRest, startProcess, type TestClock, testClock } from "./processes.js";
import type { ServedApp } from "./serve-app.js";

// Issue 11, class 10: a failed run is retryable, not final. A real `issue_comment.created` payload
// through Probot, the worker and the stateful fake GitHub.

const commitCall = (r: FakeRequest) =>
  r.path === "/graphql" && /createCommitOnBranch/.test((r.body as { query: string }).query);
const phasesCommitted = (github: FakeGitHub) =>
  github.branchCommits(BRANCH).map((c) => /^Atomic-Scrum-Key: \S+?\/(\S+)\/commit$/m.exec(c.message)?.[1]);
const replies = (github: FakeGitHub, thread: number) =>
  github.comments.filter((c) => c.thread === thread && !c.body.startsWith("<!--")).map((c) => c.body);
const statusComment = (github: FakeGitHub) =>
  github.comments.find((c) => c.body.includes("## Atomic Scrum ·"))?.body ?? "";

/**
 * A run whose second phase's commit GitHub answers with a 502 every time: the job uses its five
 * attempts and the worker gives up, so the run ends failed (the "kill during update-ref" class: an
 * infrastructure failure, not a verdict on the work). `heal` makes GitHub answer again.
 */
async function failedOnCommit(): Promise<{
  github: FakeGitHub;
  app: ServedApp;
  time: TestClock;
  roles: Record<string, "read" | "write">;
  run: RunRecord;
  heal: () => void;
}> {
  const roles: Record<string, "read" | "write"> = { Codertocat: "write" };
  const github = exampleGitHub({ roles });
  let broken = true;
  for (let n = 0; n < 20; n++) {
    github.failOnce({
      lost: false,
      when: (r, gh) => broken && commitCall(r) && gh.branchCommits(BRANCH).length === 1,
    });
  }
  const time = testClock();
  const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1");
  await app.deliver(labeledPayload());
  const run = await runToRest(app, time);
  return { github, app, time, roles, run, heal: () => (broken = false) };
}

describe("github e2e > /retry of a failed run", () => {
  it("a run the worker gave up on is refused for a reader, then retried by a writer where it stopped, in a new round, to the end", async () => {
    const { github, app, time, roles, run, heal } = await failedOnCommit();
    expect(run.state.status).toBe("failed");
    expect(run.state.reason).toMatch(/^the worker gave up after 5 attempts/);
    expect(phasesCommitted(github)).toHaveLength(1);
    const failedPhase = run.pipeline.phases[run.state.phaseIndex]?.id ?? "";
    // The status comment says how to go on, not "nothing".
    expect(statusComment(github)).toContain(
      `**Next:** a retry: the run failed. ${run.state.reason?.split("\n")[0]}`,
    );
    expect(statusComment(github)).toContain(
      `To try again, comment \`/retry\` (write access), or \`/retry <phase>\` for an earlier phase: it runs phase \`${failedPhase}\` and every phase after it again, on the same branch.`,
    );
    heal();
    // `/status` says the same.
    await app.deliver(commentPayload("/status", 9100), { event: "issue_comment" });
    expect(replies(github, 1).at(-1)).toContain(
      `To try again, comment \`/retry\` (write access), or \`/retry <phase>\` for an earlier phase: it runs phase \`${failedPhase}\``,
    );

    // A reader is refused and nothing is queued.
    roles.Codertocat = "read";
    await app.deliver(commentPayload("/retry", 9101), { event: "issue_comment" });
    expect(replies(github, 1).at(-1)).toBe(
      "`/retry` was not run: it needs write, maintain or admin access to this repository.",
    );
    expect((await runToRest(app, time)).state.status).toBe("failed");

    // A writer, on the run's pull request: the failed phase runs again, as its next attempt.
    roles.Codertocat = "write";
    const pull = github.pulls[0]?.number ?? 0;
    expect(github.pulls[0]?.state).toBe("open");
    await app.deliver(commentPayload("/retry", 9102, pull), { event: "issue_comment" });
    expect(replies(github, pull)).toEqual([
      `\`/retry ${failedPhase}\`: running phase \`${failedPhase}\` again, then every phase after it.`,
    ]);
    const after = await runToRest(app, time);
    expect(after.state).toMatchObject({ status: "awaiting_approval", round: 1 });
    // One commit per phase: the failed round committed nothing for the phase, the retry once.
    const committed = phasesCommitted(github);
    expect(committed.map((key) => key?.split("/")[0])).toEqual(
      after.pipeline.phases.filter((p) => p.kind === "agent").map((p) => p.id),
    );
    expect(committed[1]).toMatch(new RegExp(`^${failedPhase}/[2-9]$`));
    expect(github.pulls).toHaveLength(1);
    // The event log names who asked; the retry was checked again when it applied.
    const retry = listEvents(app.db, after.id).find((e) => e.type === "phase.retry");
    expect(retry?.data).toEqual({ phaseId: failedPhase, by: "@Codertocat" });
    expect(statusComment(github)).not.toContain("the run failed");
    // Every phase's newest check on the head it checked is no longer a failure.
    const newest = new Map<string, string | null>();
    for (const check of github.checkRuns) newest.set(`${check.name}@${check.head_sha}`, check.conclusion);
    expect([...newest.values()]).not.toContain("failure");
  });

  it.each([
    ["its pull request was closed (cancelled)", "cancelled", "was cancelled"],
    ["its pull request was merged", "succeeded", "has succeeded"],
    ["a writer cancelled it with /cancel", "cancelled", "was cancelled"],
  ] as const)(
    "a failed run is final once %s: /retry is refused and runs nothing",
    async (how, status, ended) => {
      const { github, app, time, run, heal } = await failedOnCommit();
      heal();
      const pull = github.pulls[0]?.number ?? 0;
      if (how.startsWith("a writer")) {
        await app.deliver(commentPayload("/cancel", 9200), { event: "issue_comment" });
        expect(replies(github, 1).at(-1)).toBe("`/cancel`: cancelling the run.");
      } else {
        const merged = how.endsWith("merged");
        await app.deliver(closedPullPayload({ branch: run.branch, number: pull, merged }), {
          event: "pull_request",
        });
      }
      expect((await runToRest(app, time)).state.status).toBe(status);
      const before = phasesCommitted(github);

      await app.deliver(commentPayload("/retry", 9201), { event: "issue_comment" });
      expect(replies(github, 1).at(-1)).toBe(
        `\`/retry\` was not run: the run ${ended}, so no phase of it runs again. Add the pipeline's label to the issue again to start a new run.`,
      );
      expect((await runToRest(app, time)).state.status).toBe(status);
      expect(phasesCommitted(github)).toEqual(before);
      expect(github.reactions.filter((r) => r.commentId === 9201).map((r) => r.content)).toEqual([
        "eyes",
        "confused",
      ]);
    },
  );

  it("a run aborted while it awaited approval goes back to awaiting it: no model call, no new commit", async () => {
    const github = exampleGitHub();
    const time = testClock();
    const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1");
    await app.deliver(labeledPayload());
    const reached = await runToRest(app, time);
    expect(reached.state.status).toBe("awaiting_approval");
    enqueueRunJob(app.db, {
      runId: reached.id,
      key: "abort/test",
      now: time.now(),
      event: { type: "run.aborted", reason: "the worker gave up after 5 attempts: GitHub answered 502" },
    });
    const failed = await runToRest(app, time);
    expect(failed.state.status).toBe("failed");
    const approvalPhase = failed.pipeline.phases[failed.state.phaseIndex];
    expect(approvalPhase?.kind).toBe("approval");
    const before = phasesCommitted(github);
    const calls = listEvents(app.db, failed.id).filter((e) => e.type === "agent.completed").length;

    await app.deliver(commentPayload("/retry", 9301), { event: "issue_comment" });
    expect(replies(github, 1).at(-1)).toBe(
      `\`/retry ${approvalPhase?.id}\`: running phase \`${approvalPhase?.id}\` again, then every phase after it.`,
    );
    const after = await runToRest(app, time);
    expect(after.state).toMatchObject({ status: "awaiting_approval", round: 1 });
    expect(phasesCommitted(github)).toEqual(before);
    expect(listEvents(app.db, after.id).filter((e) => e.type === "agent.completed")).toHaveLength(calls);
  });
});

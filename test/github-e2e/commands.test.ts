import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { getRun, listEvents, type RunRecord } from "../../src/store/runs.js";
import { enqueueRunJob } from "../../src/worker/jobs.js";
import { labeledPayload } from "../github-app/harness.js";
import { tempDir } from "../helpers/temp.js";
import type { FakeGitHub } from "./fake-github.js";
import { BRANCH, commentPayload, exampleGitHub } from "./payloads.js";
import { onlyRun, runToRest, startProcess, type TestClock, testClock } from "./processes.js";
import type { ServedApp } from "./serve-app.js";

async function setUp(): Promise<{
  github: FakeGitHub;
  app: ServedApp;
  time: TestClock;
  /** Collaborator roles the fake answers with; a test may change them as it goes. */
  roles: Record<string, "read" | "write">;
}> {
  const roles: Record<string, "read" | "write"> = { Codertocat: "write" };
  const github = exampleGitHub({ roles });
  const time = testClock();
  const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1");
  return { github, app, time, roles };
}

/** Fails the run the way a dead-lettered job ends it, and works the queue until it rests. */
async function abortRun(app: ServedApp, time: TestClock, run: RunRecord): Promise<RunRecord> {
  enqueueRunJob(app.db, {
    runId: run.id,
    key: "abort/test",
    now: time.now(),
    event: { type: "run.aborted", reason: "the worker gave up" },
  });
  return runToRest(app, time);
}

const phasesCommitted = (github: FakeGitHub) =>
  github.branchCommits(BRANCH).map((c) => /^Atomic-Scrum-Key: \S+?\/(\S+)\/commit$/m.exec(c.message)?.[1]);
const replies = (github: FakeGitHub, thread: number) =>
  github.comments.filter((c) => c.thread === thread && !c.body.startsWith("<!--")).map((c) => c.body);

describe("github e2e > slash commands", () => {
  it("/retry <phase> after the run failed runs that agent phase again, commits on top, and waits for review again", async () => {
    const { github, app, time } = await setUp();
    await app.deliver(labeledPayload());
    const reached = await runToRest(app, time);
    expect(reached.state.status).toBe("awaiting_approval");
    // The run fails the way a dead-lettered job ends it.
    expect((await abortRun(app, time, reached)).state.status).toBe("failed");
    const before = phasesCommitted(github);

    const response = await app.deliver(
      commentPayload("The audit missed something.\n/retry security-audit", 9001),
      {
        event: "issue_comment",
      },
    );
    expect(response.status).toBe(200);
    expect(github.reactions).toEqual([
      { commentId: 9001, content: "eyes" },
      { commentId: 9001, content: "+1" },
    ]);
    expect(replies(github, 1)).toEqual([
      "`/retry security-audit`: running phase `security-audit` again, then every phase after it.",
    ]);

    const after = await runToRest(app, time);
    expect(after.state).toMatchObject({ status: "awaiting_approval", round: 1 });
    // The commits already on the branch stay; the phase commits again on top, as attempt 2.
    expect(phasesCommitted(github)).toEqual([...before, "security-audit/2"]);
    const retry = listEvents(app.db, after.id).find((e) => e.type === "phase.retry");
    expect(retry?.data).toEqual({ phaseId: "security-audit", by: "@Codertocat" });
    // A redelivery of the comment changes nothing and says nothing.
    await app.deliver(commentPayload("The audit missed something.\n/retry security-audit", 9001), {
      event: "issue_comment",
    });
    expect(replies(github, 1)).toHaveLength(1);
  });

  it("/retry from someone whose write access is taken away before the job runs is dropped when it would apply", async () => {
    const { github, app, time, roles } = await setUp();
    await app.deliver(labeledPayload());
    const reached = await runToRest(app, time);
    expect((await abortRun(app, time, reached)).state.status).toBe("failed");
    const before = phasesCommitted(github);

    // The comment is taken (the role is read twice as it arrives), then access is withdrawn.
    await app.deliver(commentPayload("/retry", 9004), { event: "issue_comment" });
    expect(github.reactions.map((r) => r.content)).toEqual(["eyes", "+1"]);
    roles.Codertocat = "read";

    const after = await runToRest(app, time);
    expect(after.state.status).toBe("failed");
    expect(phasesCommitted(github)).toEqual(before);
    const dropped = listEvents(app.db, after.id).find((e) => e.type === "event.dropped");
    expect(dropped?.data).toEqual({
      dropped: "phase.retry",
      why: "@Codertocat no longer has write access to the repository",
    });
  });

  it("/escalate on the pull request runs the phase one tier up with its output as context, then every later phase", async () => {
    const { github, app, time } = await setUp();
    await app.deliver(labeledPayload());
    const reached = await runToRest(app, time);
    const pull = github.pulls[0]?.number ?? 0;
    const before = phasesCommitted(github);
    const lastTier = reached.state.history?.requirements?.tier;
    expect(lastTier).toBe("balanced");

    await app.deliver(commentPayload("/escalate requirements", 9002, pull), { event: "issue_comment" });
    expect(replies(github, pull)).toEqual([
      "`/escalate requirements`: running phase `requirements` again one tier up.",
    ]);
    const after = await runToRest(app, time);
    expect(after.state.status).toBe("awaiting_approval");
    expect(after.state.tierChanges?.requirements).toEqual([
      { attempt: 2, from: "balanced", to: "deep", cause: "escalation", reason: "escalated by @Codertocat" },
    ]);
    const again = phasesCommitted(github).slice(before.length);
    expect(again[0]).toBe("requirements/2");
    expect(again).toHaveLength(before.length);
    const requirements = github.branchCommits(BRANCH).at(before.length);
    expect(requirements?.message).toMatch(/model simulated\/simulated-deep$/m);
    expect(github.reactions.map((r) => r.content)).toEqual(["eyes", "+1"]);
  });

  it("/cancel mid-run stops the run: nothing is committed after the cancellation is applied", async () => {
    const { github, app } = await setUp();
    await app.deliver(labeledPayload());
    const working = app.worker.runUntilIdle();
    const response = await app.deliver(commentPayload("/cancel", 9003), { event: "issue_comment" });
    expect(response.status).toBe(200);
    await working;
    await app.worker.runUntilIdle();
    const run = getRun(app.db, onlyRun(app).id);
    expect(run?.state).toMatchObject({
      status: "cancelled",
      reason: "cancelled by @Codertocat, with /cancel",
    });
    const events = listEvents(app.db, run?.id ?? "").map((e) => e.type);
    const cancelledAt = events.indexOf("run.cancelled");
    expect(events.slice(cancelledAt + 1)).not.toContain("phase.committed");
    expect(phasesCommitted(github)).toHaveLength(events.filter((e) => e === "phase.committed").length);
    expect(github.reactions.map((r) => r.content)).toEqual(["eyes", "+1"]);
  });
});

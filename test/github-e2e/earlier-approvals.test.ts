import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APPROVAL_CHECK } from "../../src/render/check-runs.js";
import { listEvents } from "../../src/store/runs.js";
import { labeledPayload } from "../github-app/harness.js";
import { requestLog } from "../helpers/github/api.js";
import { tempDir } from "../helpers/temp.js";
import type { FakeGitHub } from "./fake-github.js";
import { BRANCH, CONTENT_FILES, exampleGitHub, reviewPayload } from "./payloads.js";
import { runToRest, startProcess, testClock } from "./processes.js";
import type { ServedApp } from "./serve-app.js";

const LABEL = "atomic:content";
const COOLDOWN = 24 * 60 * 60_000;
const WRITER = "writer-wendy";

/**
 * The content pipeline (agent phases, a 24 h cooldown, then the human review) run up to its
 * cooldown: the head is final from there on, so a review given now approves what will be merged.
 */
async function coolingRun(config?: string): Promise<{
  github: FakeGitHub;
  app: ServedApp;
  time: ReturnType<typeof testClock>;
  head: string;
  first: string;
}> {
  const github = exampleGitHub({
    files: CONTENT_FILES,
    roles: { Codertocat: "write", [WRITER]: "write", "other-writer": "write", "reader-rita": "read" },
    config,
  });
  const time = testClock();
  const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1");
  await app.deliver(labeledPayload({ label: LABEL }));
  const cooling = await runToRest(app, time);
  expect(cooling.state).toMatchObject({ status: "waiting", step: "wait" });
  const commits = github.branchCommits(BRANCH);
  return { github, app, time, head: commits.at(-1)?.oid ?? "", first: commits[0]?.oid ?? "" };
}

/** Checks on `sha` as GitHub shows them: the newest check run of each name. */
function approvalCheckOn(github: FakeGitHub, sha: string): string | undefined {
  const check = github.checkRuns.filter((c) => c.head_sha === sha && c.name === APPROVAL_CHECK).at(-1);
  return check && (check.status === "completed" ? `completed ${check.conclusion}` : check.status);
}

describe("github e2e > approvals given before the approval phase", () => {
  it("a writer's approval of the final head during the cooldown completes the run when it reaches its approval phase", async () => {
    const { github, app, time, head } = await coolingRun();

    // The writer approves during the cooldown: the webhook's event does not fit a cooling run.
    github.addReview({ login: WRITER, state: "APPROVED", commit: head });
    expect(
      (
        await app.deliver(reviewPayload({ login: WRITER, commit: head, id: 801 }), {
          event: "pull_request_review",
        })
      ).status,
    ).toBe(200);
    const early = await runToRest(app, time);
    expect(early.state.status).toBe("waiting");
    const dropped = listEvents(app.db, early.id).filter((e) => e.type === "event.dropped");
    expect(dropped.map((e) => e.data)).toEqual([
      expect.objectContaining({
        dropped: "approval.granted",
        why: expect.stringMatching(/not waiting for approval/),
      }),
    ]);

    // The cooldown ends: the approval phase reads the reviews and the run completes, no new review.
    time.advance(COOLDOWN + 1);
    const from = requestLog().length;
    const done = await runToRest(app, time);
    expect(done.state).toMatchObject({
      status: "succeeded",
      approval: { phaseId: "human-review", head, by: [`@${WRITER}`] },
    });
    const requested = listEvents(app.db, done.id).find((e) => e.type === "approval.requested");
    expect(requested?.data).toMatchObject({ approvedBy: [`@${WRITER}`], sha: head });
    expect(approvalCheckOn(github, head)).toBe("completed success");
    // One list of the reviews and one permission read for the one approver. (The ended run's
    // status comment is then found again by listing the comments: not the approval's.)
    const reads = requestLog()
      .slice(from)
      .filter((r) => r.method === "GET" && r.operation !== "issues/list-comments")
      .map((r) => r.operation);
    expect(reads).toEqual(["pulls/list-reviews", "repos/get-collaborator-permission-level"]);
  });

  it("a reader's, a bot's, an older commit's, a withdrawn and a self-review's approval do not count", async () => {
    const { github, app, time, head, first } = await coolingRun("prevent_self_review: true\n");
    github.addReview({ login: "reader-rita", state: "APPROVED", commit: head });
    github.addReview({ login: "helper[bot]", type: "Bot", state: "APPROVED", commit: head });
    github.addReview({ login: "other-writer", state: "APPROVED", commit: first });
    github.addReview({ login: WRITER, state: "APPROVED", commit: head });
    github.addReview({ login: WRITER, state: "COMMENTED", commit: head });
    github.addReview({ login: WRITER, state: "CHANGES_REQUESTED", commit: head });
    // The run's starter, under `prevent_self_review: true`.
    github.addReview({ login: "Codertocat", state: "APPROVED", commit: head });

    time.advance(COOLDOWN + 1);
    const from = requestLog().length;
    const waiting = await runToRest(app, time);
    expect(waiting.state).toMatchObject({ status: "awaiting_approval", step: "approval" });
    expect(waiting.state.approvals).toBeUndefined();
    expect(waiting.state.approval).toBeUndefined();
    // Recorded with no approvers (the log keeps an event's fields besides its type).
    expect(listEvents(app.db, waiting.id).find((e) => e.type === "approval.requested")?.data).toEqual({});
    expect(approvalCheckOn(github, head)).toBe("in_progress");
    // The bot, the older commit's and the withdrawn approval are set aside from the list itself.
    // The writer's changes-requested counts (their role is read), so the reader's earlier approval
    // is not even looked at; the starter's later one is, and reads the config.
    const reads = requestLog()
      .slice(from)
      .filter((r) => r.method === "GET")
      .map((r) => `${r.operation} ${decodeURIComponent(r.path).split("/").slice(-2).join("/")}`);
    expect(reads).toEqual([
      "pulls/list-reviews 2/reviews",
      `repos/get-collaborator-permission-level ${WRITER}/permission`,
      "repos/get-collaborator-permission-level Codertocat/permission",
      "repos/get-content .github/atomic-scrum.yml",
    ]);

    // The gate still takes a new approval of the head as it arrives.
    await app.deliver(reviewPayload({ login: "other-writer", commit: head, id: 901 }), {
      event: "pull_request_review",
    });
    const done = await runToRest(app, time);
    expect(done.state).toMatchObject({ status: "succeeded", approval: { by: ["@other-writer"] } });
  });

  it("another writer's later request for changes clears an approval given before it", async () => {
    const { github, app, time, head } = await coolingRun();
    github.addReview({ login: "other-writer", state: "APPROVED", commit: head });
    github.addReview({ login: WRITER, state: "CHANGES_REQUESTED", commit: head });
    time.advance(COOLDOWN + 1);
    const waiting = await runToRest(app, time);
    expect(waiting.state).toMatchObject({ status: "awaiting_approval", step: "approval" });
    expect(waiting.state.approval).toBeUndefined();

    // A reader's request for changes clears nothing: it would not count by webhook either.
    github.addReview({ login: "other-writer", state: "APPROVED", commit: head });
    github.addReview({ login: "reader-rita", state: "CHANGES_REQUESTED", commit: head });
    await app.deliver(reviewPayload({ login: "other-writer", commit: head, id: 902 }), {
      event: "pull_request_review",
    });
    expect((await runToRest(app, time)).state.status).toBe("succeeded");
  });
});

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { listEvents, type RunRecord } from "../../src/store/runs.js";
import { labeledPayload, OWNER, REPO } from "../github-app/harness.js";
import { type LoggedRequest, requestLog } from "../helpers/github/api.js";
import { tempDir } from "../helpers/temp.js";
import type { FakeGitHub } from "./fake-github.js";
import { BRANCH, CONTENT_FILES, exampleGitHub } from "./payloads.js";
import { onlyRun, runToRest, startProcess, stopProcess, testClock } from "./processes.js";

const LABEL = "atomic:content";
const ISSUE = 1;
const STATUS_MARKER = /^<!-- atomic-scrum:status=/;
const HOUR = 60 * 60_000;
const COOLDOWN = 24 * HOUR;

const content = loadPipelineFile(resolvePipelinePath("content"));
if (!content.ok) throw new Error("the built-in content pipeline does not load");
const AGENT_PHASES = content.pipeline.phases.filter((p) => p.kind === "agent").map((p) => p.id);

const bodyOf = (request: LoggedRequest) => (request.body as { body?: string } | undefined)?.body ?? "";
const isCommit = (r: LoggedRequest) => r.operation === "AtomicScrumCommit";
const isStatusWrite = (r: LoggedRequest) =>
  (r.method === "PATCH" && /\/issues\/comments\/\d+$/.test(r.path)) ||
  (r.method === "POST" && r.path.endsWith(`/issues/${ISSUE}/comments`) && STATUS_MARKER.test(bodyOf(r)));

/** The writes to GitHub from request `from` of the log on; a new installation token is not one. */
const writesSince = (from: number) =>
  requestLog()
    .slice(from)
    .filter((r) => r.isWrite && r.operation !== "apps/create-installation-access-token");

/** What GitHub holds, in a form two moments of the run can be compared by. */
function snapshot(github: FakeGitHub) {
  return {
    createdRefs: structuredClone(github.createdRefs),
    commits: github.branchCommits(BRANCH).map((c) => c.message),
    pulls: github.pulls.length,
    comments: github.comments.map((c) => ({
      id: c.id,
      thread: c.thread,
      body: c.body,
      edits: c.edits.length,
    })),
  };
}

/**
 * Everything the content run must have left on GitHub: one branch, one commit per agent phase,
 * one draft PR, one comment per phase on it, and one status comment on the issue.
 */
function expectOneOfEverything(github: FakeGitHub, run: RunRecord) {
  expect(run.branch).toBe(BRANCH);
  expect(github.createdRefs).toEqual([{ ref: `refs/heads/${BRANCH}`, sha: github.refs.get("master") }]);

  const commits = github.branchCommits(BRANCH);
  expect(commits.map((c) => /^Phase: (\S+)/m.exec(c.message)?.[1])).toEqual(AGENT_PHASES);
  for (const [i, commit] of commits.entries()) {
    expect(commit.message.split("\n").at(-1)).toBe(`Atomic-Scrum-Key: ${run.id}/${AGENT_PHASES[i]}/1/commit`);
  }

  expect(github.pulls).toHaveLength(1);
  const [pull] = github.pulls;
  expect(pull).toMatchObject({ head: BRANCH, base: "master", draft: true });
  const onPull = github.comments.filter((c) => c.thread === pull?.number);
  expect(onPull.map((c) => /^<!-- atomic-scrum:key=\S+\/(\S+?)\/\d+\/comment -->/.exec(c.body)?.[1])).toEqual(
    AGENT_PHASES,
  );

  const onIssue = github.comments.filter((c) => c.thread === ISSUE);
  expect(onIssue).toHaveLength(1);
  expect(onIssue[0]?.body).toMatch(STATUS_MARKER);
  expect(onIssue[0]?.body).toContain(run.id);
}

describe("github app end to end > a cooldown across a restart", () => {
  it("a new process resumes the run when the cooldown ends, and only once", async () => {
    const github = exampleGitHub({ files: CONTENT_FILES });
    const time = testClock();
    const dbPath = join(tempDir(), "store.db");

    // First process: the label, then every agent phase, up to the cooldown.
    const first = await startProcess(dbPath, time.now, "worker-1");
    expect((await first.deliver(labeledPayload({ label: LABEL }))).status).toBe(200);
    const cooling = await runToRest(first, time);
    expect(cooling.state.status).toBe("waiting");
    expect(cooling.pipeline.phases[cooling.state.phaseIndex]?.id).toBe("cooldown");
    const enteredAt = time.now();
    expect(cooling.state.waitUntil).toBe(enteredAt + COOLDOWN);
    expectOneOfEverything(github, cooling);
    const status = github.comments.find((c) => c.thread === ISSUE);
    expect(status?.body).toMatch(/cooling down/);
    const atCooldown = snapshot(github);

    // The process stops during the cooldown.
    await stopProcess(first);

    // A second process, started before the cooldown is over: nothing to do yet.
    time.advance(COOLDOWN - HOUR);
    const second = await startProcess(dbPath, time.now, "worker-2");
    const requestsBefore = requestLog().length;
    await second.worker.runUntilIdle();
    const early = onlyRun(second);
    expect(early.state.status).toBe("waiting");
    expect(early.state.waitUntil).toBe(enteredAt + COOLDOWN);
    expect(listEvents(second.db, early.id).map((e) => e.type)).not.toContain("wait.elapsed");
    expect(snapshot(github)).toEqual(atCooldown);
    expect(writesSince(requestsBefore)).toEqual([]);

    // Past the end of the cooldown: the run moves on to the human review, once.
    time.advance(HOUR + 1);
    const writesFrom = requestLog().length;
    await second.worker.runUntilIdle();
    const resumed = onlyRun(second);
    expect(resumed.state.status).toBe("awaiting_approval");
    expect(resumed.pipeline.phases[resumed.state.phaseIndex]?.id).toBe("human-review");
    expect(resumed.state.waitUntil).toBeUndefined();
    const events = listEvents(second.db, resumed.id).map((e) => e.type);
    expect(events.filter((type) => type === "wait.elapsed")).toHaveLength(1);
    expectOneOfEverything(github, resumed);

    // The status comment was edited in place to say the run awaits approval, and the approval
    // check put on the head; nothing else written.
    const edited = github.comments.find((c) => c.thread === ISSUE);
    expect(edited?.id).toBe(status?.id);
    expect(edited?.body).toContain("👀 waiting for approval");
    expect(edited?.body).toMatch(/\*\*Next:\*\* a human review/);
    expect(edited?.body).not.toMatch(/cooling down until/);
    const afterCooldown = snapshot(github);
    expect(afterCooldown.commits).toEqual(atCooldown.commits);
    expect(afterCooldown.pulls).toBe(atCooldown.pulls);
    expect(afterCooldown.comments.map((c) => c.id)).toEqual(atCooldown.comments.map((c) => c.id));
    const writes = writesSince(writesFrom);
    expect(writes.length).toBeGreaterThan(0);
    const isApprovalCheck = (r: LoggedRequest) =>
      r.method === "POST" &&
      r.path.endsWith("/check-runs") &&
      (r.body as { name?: string; status?: string }).name === "Atomic Scrum / human approval" &&
      (r.body as { status?: string }).status === "in_progress";
    expect(writes.filter((r) => !isStatusWrite(r)).map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/${OWNER}/${REPO}/check-runs`,
    ]);
    expect(writes.filter((r) => !isStatusWrite(r)).every(isApprovalCheck)).toBe(true);
    expect(writes.some(isCommit)).toBe(false);

    // A third pass, even much later, changes nothing.
    time.advance(COOLDOWN);
    const quietFrom = requestLog().length;
    await second.worker.runUntilIdle();
    const still = onlyRun(second);
    expect(still.state).toEqual(resumed.state);
    expect(listEvents(second.db, still.id).map((e) => e.type)).toEqual(events);
    expect(snapshot(github)).toEqual(afterCooldown);
    expect(writesSince(quietFrom)).toEqual([]);
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubRun } from "../../src/github/start-run.js";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { listJobs } from "../../src/store/queue.js";
import { getRun, saveRunState } from "../../src/store/runs.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import {
  closedPullPayload,
  INSTALLATION_ID,
  labeledPayload,
  NOW,
  OWNER,
  REPO,
  type RunningApp,
  startApp,
} from "./harness.js";

const BRANCH = "atomic-scrum/1-spelling-error-in-the-readme-file";

const closedPayload = (change: { branch?: string; merged?: boolean; forkRepoId?: number } = {}) =>
  closedPullPayload({ ...change, branch: change.branch ?? BRANCH });

function startRun(app: RunningApp, deliveryId = "labeled-1") {
  const loaded = loadPipelineFile(resolvePipelinePath("coding"));
  if (!loaded.ok) throw new Error("the built-in pipeline does not load");
  const outcome = startGitHubRun(app.db, NOW, {
    deliveryId,
    pipeline: loaded.pipeline,
    hash: loaded.hash,
    pipelinePath: "coding",
    repo: { owner: OWNER, name: REPO, defaultBranch: "master", installationId: INSTALLATION_ID },
    issue: {
      number: 1,
      title: "Spelling error in the README file",
      body: "",
      labels: ["atomic:coding"],
      author: "Codertocat",
      url: `https://github.com/${OWNER}/${REPO}/issues/1`,
    },
    provider: { name: "simulated" },
  });
  if (!outcome.started) throw new Error(`run not started: ${outcome.reason}`);
  return outcome.runId;
}

const cancellations = (app: RunningApp) =>
  listJobs(app.db)
    .map((job) => job.payload as { event?: { type: string; by: string } })
    .filter((payload) => payload.event?.type === "run.cancelled")
    .map((payload) => payload.event?.by);

let app: RunningApp;
beforeEach(async () => {
  app = await startApp();
});
afterEach(async () => {
  await app.close();
});

describe("github app > pull_request.closed", () => {
  it("closing the run's pull request queues one cancellation that names who closed it", async () => {
    const runId = startRun(app);
    const response = await app.deliver(closedPayload(), { event: "pull_request", id: "closed-1" });
    expect(response.status).toBe(200);
    expect(cancellations(app)).toEqual(["@Codertocat, who closed pull request #2"]);
    expect(listJobs(app.db).every((job) => job.group === runId)).toBe(true);
    // A redelivery of the same event queues nothing more, and no request reached GitHub.
    await app.deliver(closedPayload(), { event: "pull_request", id: "closed-1" });
    expect(cancellations(app)).toHaveLength(1);
    expect(requestLog()).toEqual([]);
  });

  it("merging the pull request completes the run, and says who merged it", async () => {
    startRun(app);
    await app.deliver(closedPayload({ merged: true }), { event: "pull_request" });
    expect(cancellations(app)).toEqual([]);
    const merged = listJobs(app.db)
      .map((job) => job.payload as { event?: { type: string; by: string } })
      .filter((payload) => payload.event?.type === "run.merged")
      .map((payload) => payload.event?.by);
    expect(merged).toEqual(["@Codertocat (pull request #2)"]);
  });

  it.each([
    ["another branch", { branch: "feature/unrelated" }],
    ["a fork's branch of the same name", { forkRepoId: 999 }],
  ])("a pull request from %s cancels nothing", async (_what, change) => {
    startRun(app);
    expect((await app.deliver(closedPayload(change), { event: "pull_request" })).status).toBe(200);
    expect(cancellations(app)).toEqual([]);
  });

  it("a run that has already ended is left alone", async () => {
    const runId = startRun(app);
    const run = getRun(app.db, runId);
    if (!run) throw new Error("no run");
    expect(saveRunState(app.db, runId, { ...run.state, status: "succeeded" }, run.state.seq, NOW)).toBe(true);
    await app.deliver(closedPayload(), { event: "pull_request" });
    expect(cancellations(app)).toEqual([]);
  });

  it("a run started after the cancelled one gets a branch of its own, not the old run's commits", async () => {
    const first = startRun(app, "labeled-1");
    const run = getRun(app.db, first);
    if (!run) throw new Error("no run");
    expect(saveRunState(app.db, first, { ...run.state, status: "cancelled" }, run.state.seq, NOW)).toBe(true);
    const second = startRun(app, "labeled-2");
    expect(saveRunState(app.db, second, { ...run.state, status: "failed" }, run.state.seq, NOW)).toBe(true);
    const third = startRun(app, "labeled-3");
    expect([first, second, third].map((id) => getRun(app.db, id)?.branch)).toEqual([
      BRANCH,
      `${BRANCH}-2`,
      `${BRANCH}-3`,
    ]);
    // The old run's pull request closing again (a redelivery, say) does not touch the new run.
    await app.deliver(closedPayload(), { event: "pull_request" });
    expect(cancellations(app)).toEqual([]);
  });

  it("a label added again while the run waits for a person starts a new run and cancels the old one", async () => {
    const first = startRun(app, "labeled-1");
    const run = getRun(app.db, first);
    if (!run) throw new Error("no run");
    expect(saveRunState(app.db, first, { ...run.state, status: "needs_human" }, run.state.seq, NOW)).toBe(
      true,
    );
    const second = startRun(app, "labeled-2");
    expect(second).not.toBe(first);
    expect(getRun(app.db, second)?.branch).toBe(`${BRANCH}-2`);
    expect(cancellations(app)).toEqual(["someone, who started the pipeline again"]);
  });
});

describe("github app > issues.closed", () => {
  /** The `issues.labeled` example, turned into the closing of the same issue (webhooks-examples has no closed one). */
  const issueClosed = () => {
    const payload = labeledPayload() as { action: string; issue: { state: string; state_reason?: string } };
    payload.action = "closed";
    payload.issue = { ...payload.issue, state: "closed", state_reason: "not_planned" };
    return payload;
  };
  const token = () =>
    githubApi()
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
  const pulls = (list: { number: number; merged_at: string | null }[]) =>
    githubApi()
      .get(`/repos/${OWNER}/${REPO}/pulls`)
      .query({ head: `${OWNER}:${BRANCH}`, state: "all" })
      .reply(
        200,
        list.map((pull) => ({ ...pull, state: "closed", head: { ref: BRANCH }, base: { ref: "master" } })),
      );
  const events = (type: string) =>
    listJobs(app.db)
      .map((job) => job.payload as { event?: { type: string; by: string } })
      .filter((payload) => payload.event?.type === type)
      .map((payload) => payload.event?.by);

  const role = (login: string, roleName: string, base = roleName) =>
    githubApi()
      .get(`/repos/${OWNER}/${REPO}/collaborators/${login}/permission`)
      .reply(200, { permission: base, role_name: roleName, user: { login } });

  it("closing the issue cancels its run, once, and says who closed it", async () => {
    startRun(app);
    token();
    pulls([]);
    role("Codertocat", "write");
    expect((await app.deliver(issueClosed(), { id: "closed-issue-1" })).status).toBe(200);
    await app.deliver(issueClosed(), { id: "closed-issue-1" });
    expect(events("run.cancelled")).toEqual(["@Codertocat, who closed issue #1"]);
  });

  it("an issue closed by the merge of the run's pull request completes the run instead", async () => {
    startRun(app);
    token();
    pulls([{ number: 2, merged_at: "2025-01-01T00:00:00Z" }]);
    await app.deliver(issueClosed(), { id: "closed-issue-2" });
    expect(events("run.cancelled")).toEqual([]);
    expect(events("run.merged")).toEqual(["@Codertocat (pull request #2)"]);
    // The pull request's own event, arriving second, queues nothing more: the same job key.
    await app.deliver(closedPayload({ merged: true }), { event: "pull_request" });
    expect(events("run.merged")).toHaveLength(1);
  });

  it("an issue with no run is left alone, with no request to GitHub", async () => {
    await app.deliver(issueClosed());
    expect(listJobs(app.db)).toEqual([]);
    expect(requestLog()).toEqual([]);
  });

  it("an issue closed by someone without write access (its author, a triager) leaves the run going", async () => {
    startRun(app);
    token();
    pulls([]);
    role("Codertocat", "triage", "read");
    await app.deliver(issueClosed(), { id: "closed-issue-3" });
    expect(events("run.cancelled")).toEqual([]);
  });

  it("a failed run's issue closed ends it for good, so no /retry revives it", async () => {
    const runId = startRun(app);
    const run = getRun(app.db, runId);
    if (!run) throw new Error("no run");
    expect(saveRunState(app.db, runId, { ...run.state, status: "failed" }, run.state.seq, NOW)).toBe(true);
    token();
    pulls([]);
    role("Codertocat", "admin");
    await app.deliver(issueClosed(), { id: "closed-issue-4" });
    expect(events("run.cancelled")).toEqual(["@Codertocat, who closed issue #1"]);
  });
});

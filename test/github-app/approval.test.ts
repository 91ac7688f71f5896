import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidTransition, transition } from "../../src/engine/transition.js";
import type { RunEvent, RunState } from "../../src/engine/types.js";
import { startGitHubRun } from "../../src/github/start-run.js";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { listJobs } from "../../src/store/queue.js";
import { getRun, type RunRecord, saveRunState } from "../../src/store/runs.js";
import { example, reviewPayload } from "../github-e2e/payloads.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { INSTALLATION_ID, NOW, OWNER, REPO, type RunningApp, startApp } from "./harness.js";

const repoPath = `/repos/${OWNER}/${REPO}`;
/** The commit the `pull_request_review.submitted` example reviews, and so `reviewPayload()` approves. */
const HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const OLD = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
const NEW = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

/** The `pull_request_review.dismissed` example, its review made of `commit` (the run's head unless told). */
const dismissedPayload = (commit = HEAD) => {
  const payload = example("pull_request_review", "dismissed");
  payload.review = { ...payload.review, commit_id: commit };
  return payload;
};
/** A push on top of the run's head (`before` is the head the push replaced). */
const synchronizePayload = (after: string, before = HEAD) => ({
  ...example("pull_request", "synchronize"),
  before,
  after,
});

function token() {
  githubApi()
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
}

function permission(login: string, role: string) {
  githubApi()
    .get(`${repoPath}/collaborators/${login}/permission`)
    .reply(200, { permission: role === "maintain" ? "write" : role, role_name: role, user: { login } });
}

function config(text: string) {
  githubApi()
    .get(`${repoPath}/contents/.github%2Fatomic-scrum.yml`)
    .query({ ref: "master" })
    .reply(200, {
      type: "file",
      path: ".github/atomic-scrum.yml",
      sha: "c0ffee",
      encoding: "base64",
      content: Buffer.from(text).toString("base64"),
    });
}

/** A run of the built-in coding pipeline, started by `startedBy`, waiting for approval of HEAD. */
function awaitingRun(app: RunningApp, startedBy = "monalisa", approvals?: string[]): RunRecord {
  const loaded = loadPipelineFile(resolvePipelinePath("coding"));
  if (!loaded.ok) throw new Error("the built-in pipeline does not load");
  const outcome = startGitHubRun(app.db, NOW, {
    deliveryId: "labeled-1",
    pipeline: loaded.pipeline,
    hash: loaded.hash,
    pipelinePath: "coding",
    repo: { owner: OWNER, name: REPO, defaultBranch: "master", installationId: INSTALLATION_ID },
    issue: {
      number: 1,
      title: "Spelling error in the README file",
      body: "",
      labels: [],
      author: "x",
      url: "",
    },
    provider: { name: "simulated" },
    startedBy,
  });
  if (!outcome.started) throw new Error(`run not started: ${outcome.reason}`);
  const run = getRun(app.db, outcome.runId);
  if (!run) throw new Error("no run");
  expect(run.startedBy).toBe(startedBy);
  const state: RunState = {
    ...run.state,
    status: "awaiting_approval",
    step: "approval",
    phaseIndex: loaded.pipeline.phases.findIndex((phase) => phase.kind === "approval"),
    head: HEAD,
    ...(approvals ? { approvals } : {}),
  };
  expect(saveRunState(app.db, run.id, state, run.state.seq, NOW)).toBe(true);
  return { ...run, state };
}

const queued = (app: RunningApp) =>
  listJobs(app.db).flatMap((job) => {
    const event = (job.payload as { event?: RunEvent }).event;
    return event ? [event] : [];
  });

/** What the worker makes of the queued events: each applied in order, one that no longer fits dropped. */
function settle(app: RunningApp, run: RunRecord): { state: RunState; dropped: string[] } {
  let state = run.state;
  const dropped: string[] = [];
  for (const event of queued(app)) {
    try {
      state = transition(state, event, run.pipeline).state;
    } catch (error) {
      if (!(error instanceof InvalidTransition)) throw error;
      dropped.push(error.message);
    }
  }
  return { state, dropped };
}

let app: RunningApp;
beforeEach(async () => {
  app = await startApp();
});
afterEach(async () => {
  await app.close();
});

describe("github app > human approval matrix", () => {
  it.each(["write", "maintain", "admin"])("an approving review by a %s user ends the run", async (role) => {
    const run = awaitingRun(app);
    token();
    permission("Codertocat", role);
    expect((await app.deliver(reviewPayload(), { event: "pull_request_review" })).status).toBe(200);
    expect(queued(app)).toEqual([{ type: "approval.granted", by: "@Codertocat", sha: HEAD }]);
    expect(settle(app, run)).toEqual({
      state: expect.objectContaining({ status: "succeeded", step: "done" }),
      dropped: [],
    });
    // The app never merges: the only requests were the token and the role.
    expect(requestLog().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      `GET ${repoPath}/collaborators/Codertocat/permission`,
    ]);
  });

  it.each(["read", "triage"])("an approving review by a %s user does not count", async (role) => {
    const run = awaitingRun(app);
    token();
    permission("Codertocat", role);
    await app.deliver(reviewPayload(), { event: "pull_request_review" });
    expect(queued(app)).toEqual([]);
    expect(settle(app, run).state.status).toBe("awaiting_approval");
  });

  it("an approving review by someone who is no collaborator does not count", async () => {
    const run = awaitingRun(app);
    token();
    githubApi().get(`${repoPath}/collaborators/Codertocat/permission`).reply(404, { message: "Not Found" });
    await app.deliver(reviewPayload(), { event: "pull_request_review" });
    expect(settle(app, run)).toEqual({ state: run.state, dropped: [] });
  });

  it.each([
    ["a bot", { login: "renovate[bot]", type: "Bot" as const }],
    ["the app", { login: "atomic-scrum[bot]", type: "User" as const }],
  ])("an approving review by %s does not count, and GitHub is not even asked", async (_who, reviewer) => {
    const run = awaitingRun(app);
    await app.deliver(reviewPayload(reviewer), { event: "pull_request_review" });
    expect(queued(app)).toEqual([]);
    expect(settle(app, run).state.status).toBe("awaiting_approval");
    expect(requestLog()).toEqual([]);
  });

  it("the person who started the run cannot approve it under prevent_self_review", async () => {
    const run = awaitingRun(app, "Codertocat");
    token();
    permission("Codertocat", "admin");
    config("prevent_self_review: true\n");
    await app.deliver(reviewPayload(), { event: "pull_request_review" });
    expect(queued(app)).toEqual([]);
    expect(settle(app, run).state.status).toBe("awaiting_approval");
  });

  it("without prevent_self_review the person who started the run may approve it", async () => {
    const run = awaitingRun(app, "Codertocat");
    token();
    permission("Codertocat", "write");
    config("provider: simulated\n");
    await app.deliver(reviewPayload(), { event: "pull_request_review" });
    expect(settle(app, run).state.status).toBe("succeeded");
  });

  it("an approval of an older commit is dropped and the run still waits", async () => {
    const run = awaitingRun(app);
    token();
    permission("Codertocat", "write");
    await app.deliver(reviewPayload({ commit: OLD }), { event: "pull_request_review" });
    expect(settle(app, run)).toEqual({
      state: run.state,
      dropped: ["@Codertocat approved f95f852, but the branch is at ec26c3e"],
    });
  });

  it("a comment-only review changes nothing and asks GitHub nothing", async () => {
    awaitingRun(app);
    await app.deliver(reviewPayload({ state: "commented" }), { event: "pull_request_review" });
    expect(queued(app)).toEqual([]);
    expect(requestLog()).toEqual([]);
  });
});

describe("github app > what puts the approval back to pending", () => {
  it("a changes-requested review from a writer clears the approvals so far", async () => {
    const run = awaitingRun(app, "monalisa", ["@hubot"]);
    token();
    permission("Codertocat", "write");
    await app.deliver(reviewPayload({ state: "changes_requested" }), { event: "pull_request_review" });
    expect(queued(app)).toEqual([
      { type: "approval.revoked", by: "@Codertocat", reason: "changes-requested" },
    ]);
    const { state } = settle(app, run);
    expect(state.status).toBe("awaiting_approval");
    expect(state.approvals).toBeUndefined();
  });

  it("a changes-requested review from a reader revokes nothing", async () => {
    const run = awaitingRun(app, "monalisa", ["@hubot"]);
    token();
    permission("Codertocat", "read");
    await app.deliver(reviewPayload({ state: "changes_requested" }), { event: "pull_request_review" });
    expect(settle(app, run).state.approvals).toEqual(["@hubot"]);
  });

  it("dismissing one of the approvals clears the approvals, with no request to GitHub", async () => {
    // The example's dismissed review is Codertocat's; Codertocat had approved.
    const run = awaitingRun(app, "monalisa", ["@hubot", "@Codertocat"]);
    await app.deliver(dismissedPayload(), { event: "pull_request_review" });
    expect(queued(app)).toEqual([
      {
        type: "approval.revoked",
        by: "@Codertocat",
        reason: "dismissed",
        reviewer: "@Codertocat",
        commit: HEAD,
      },
    ]);
    expect(settle(app, run).state.approvals).toBeUndefined();
    expect(requestLog()).toEqual([]);
  });

  it("dismissing a review that was not an approval (a stale changes-requested) takes nothing back", async () => {
    const run = awaitingRun(app, "monalisa", ["@hubot"]);
    await app.deliver(dismissedPayload(), { event: "pull_request_review" });
    const settled = settle(app, run);
    expect(settled.state.approvals).toEqual(["@hubot"]);
    expect(settled.dropped).toEqual(["the dismissed review by @Codertocat was not one of the approvals"]);
  });

  it("a new commit clears the approvals; then only an approval of the new commit counts", async () => {
    const run = awaitingRun(app, "monalisa", ["@hubot"]);
    await app.deliver(synchronizePayload(NEW), { event: "pull_request", id: "push-1" });
    // A redelivery queues nothing more.
    await app.deliver(synchronizePayload(NEW), { event: "pull_request", id: "push-1" });
    expect(queued(app)).toEqual([
      {
        type: "approval.revoked",
        by: "@Codertocat",
        reason: "new-commit",
        head: NEW,
        previousHead: HEAD,
      },
    ]);
    const revoked = settle(app, run).state;
    expect(revoked).toMatchObject({ status: "awaiting_approval", head: NEW });
    expect(revoked.approvals).toBeUndefined();

    token();
    permission("Codertocat", "write");
    permission("Codertocat", "write");
    await app.deliver(reviewPayload({ id: 1, commit: HEAD }), { event: "pull_request_review" });
    await app.deliver(reviewPayload({ id: 2, commit: NEW }), { event: "pull_request_review" });
    const { state, dropped } = settle(app, run);
    expect(dropped).toEqual(["@Codertocat approved ec26c3e, but the branch is at b0b0b0b"]);
    expect(state.status).toBe("succeeded");
  });

  it("the app's own commit while the run works is dropped harmlessly", async () => {
    const run = awaitingRun(app);
    // The app's commit NEW is already the run's head when GitHub reports the push.
    const working: RunState = { ...run.state, status: "running", step: "comment", head: NEW };
    expect(saveRunState(app.db, run.id, working, run.state.seq, NOW)).toBe(true);
    await app.deliver(synchronizePayload(NEW), { event: "pull_request" });
    expect(settle(app, { ...run, state: working })).toEqual({
      state: working,
      dropped: ["run is not waiting for approval (status running)"],
    });
  });
});

describe("github app > reviews that are not a run's", () => {
  it("a review on a fork's branch of the same name is ignored", async () => {
    awaitingRun(app);
    const payload = reviewPayload();
    const head = payload.pull_request?.head as { repo: { id: number } };
    head.repo = { ...head.repo, id: 999 };
    await app.deliver(payload, { event: "pull_request_review" });
    expect(queued(app)).toEqual([]);
    expect(requestLog()).toEqual([]);
  });

  it("a review on another branch is ignored", async () => {
    const payload = reviewPayload();
    (payload.pull_request?.head as { ref: string }).ref = "feature/unrelated";
    await app.deliver(payload, { event: "pull_request_review" });
    expect(queued(app)).toEqual([]);
    expect(requestLog()).toEqual([]);
  });
});

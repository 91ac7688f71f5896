import { createRequire } from "node:module";
import { join } from "node:path";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildGitHubApp } from "../../src/app.js";
import type { RunState } from "../../src/engine/types.js";
import { startGitHubRun } from "../../src/github/start-run.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";
import { ServerSettingsSchema } from "../../src/providers/settings.js";
import { openDatabase } from "../../src/store/database.js";
import { listJobs } from "../../src/store/queue.js";
import { getRun, listAttempts, listRuns, saveRunState } from "../../src/store/runs.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { serveProbot } from "../helpers/probot-server.js";
import { tempDir } from "../helpers/temp.js";
import { INSTALLATION_ID, NOW, OWNER, REPO, type RunningApp, startApp } from "./harness.js";

const repoPath = `/repos/${OWNER}/${REPO}`;
const COMMENT_ID = 492700400;

const examples = createRequire(import.meta.url)(
  "@octokit/webhooks-examples/api.github.com/index.json",
) as WebhookDefinition[];

/** The `issue_comment.created` example, with the body, comment id and sender a test needs. */
function commentPayload(
  change: { body: string; id?: number; sender?: { login: string; type?: "User" | "Bot" } },
  action = "created",
): Record<string, unknown> {
  const definition = examples.find((d) => d.name === "issue_comment");
  const example = definition?.examples.find((e) => "action" in e && e.action === action);
  if (!example) throw new Error(`no issue_comment.${action} example in @octokit/webhooks-examples`);
  const payload = structuredClone(example) as unknown as Record<string, Record<string, unknown>>;
  payload.comment = { ...payload.comment, body: change.body, id: change.id ?? COMMENT_ID };
  if (change.sender) payload.sender = { ...payload.sender, type: "User", ...change.sender };
  payload.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
  return payload;
}

/** One agent phase, a cooldown and a human review: every command has something to act on. */
const PIPELINE: ResolvedPipeline = {
  name: "small",
  labels: ["atomic:small"],
  phases: [
    {
      kind: "agent",
      id: "plan",
      name: "Plan",
      task: "write",
      tier: "fast",
      executor: "llm",
      prompt: "Plan.",
      context: [],
      output: { artifact: "plan.md" },
      gates: [],
      onFail: { retries: 0, escalate: false, exhausted: "fail", feedback: "critique" },
    },
    { kind: "wait", id: "cooldown", name: "Cooldown", wait: "1h", waitMs: 3_600_000 },
    { kind: "approval", id: "review", name: "Review", minApprovals: 1 },
  ],
};

/** The run, cooling down after its plan passed on the fast tier. */
const COOLING: RunState = {
  seq: 7,
  status: "waiting",
  step: "wait",
  phaseIndex: 1,
  attempt: 0,
  triesAtTier: 0,
  head: "abc123",
  waitUntil: NOW + 3_600_000,
  outputs: { plan: "the plan" },
  history: { plan: { attempt: 1, tier: "fast" } },
  totals: { tokens: 150, costUsd: 0.01 },
};

function startRun(app: RunningApp, state: RunState = COOLING, pipeline = PIPELINE): string {
  const outcome = startGitHubRun(app.db, NOW, {
    deliveryId: "labeled-1",
    pipeline,
    hash: "hash",
    pipelinePath: "small",
    repo: { owner: OWNER, name: REPO, defaultBranch: "master", installationId: INSTALLATION_ID },
    issue: {
      number: 1,
      title: "Spelling error in the README file",
      body: "",
      labels: ["atomic:small"],
      author: "Codertocat",
      url: `https://github.com/${OWNER}/${REPO}/issues/1`,
    },
    provider: { name: "simulated" },
  });
  if (!outcome.started) throw new Error("run not started");
  const run = getRun(app.db, outcome.runId);
  if (!run || !saveRunState(app.db, run.id, state, run.state.seq, NOW)) throw new Error("state not saved");
  return run.id;
}

function token() {
  githubApi()
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
}

/** The role GitHub reports for `login` (`none`: not a collaborator, 404). */
function permission(login: string, role: string, times = 1) {
  const scope = githubApi().get(`${repoPath}/collaborators/${login}/permission`).times(times);
  if (role === "none") return scope.reply(404, { message: "Not Found" });
  const base = role === "maintain" ? "write" : role === "triage" ? "read" : role;
  return scope.reply(200, { permission: base, role_name: role, user: { login } });
}

/** Reactions and the one reply: echoed back as GitHub does. */
function writes(reactions: number) {
  githubApi()
    .post(`${repoPath}/issues/comments/${COMMENT_ID}/reactions`)
    .times(reactions)
    .reply(201, (_uri, body) => ({ id: 1, content: (body as { content: string }).content }));
  githubApi()
    .post(`${repoPath}/issues/1/comments`)
    .reply(201, (_uri, body) => ({ id: 77, body: (body as { body: string }).body }));
}

const reactions = () =>
  requestLog()
    .filter((r) => r.path.endsWith("/reactions"))
    .map((r) => (r.body as { content: string }).content);
const reply = () => requestLog().find((r) => r.path.endsWith("/issues/1/comments"))?.body as { body: string };
const queued = (app: RunningApp) =>
  listJobs(app.db)
    .map((job) => job.payload as { event?: { type: string } })
    .filter((payload) => payload.event)
    .map((payload) => payload.event);

let app: RunningApp;
beforeEach(async () => {
  app = await startApp();
});
afterEach(async () => {
  await app.close();
});

/** What an obeyed command does: the event it queues, or the text its reply holds. */
const OBEYED = {
  status: { reply: "## Atomic Scrum · `small`" },
  help: { reply: "| Command | What it does | Who may use it |" },
  "dry-run": { reply: "Dry run of `small`" },
  retry: { event: { type: "phase.retry", phaseId: "plan", by: "@Codertocat" } },
  escalate: { event: { type: "phase.escalate", phaseId: "plan", by: "@Codertocat" } },
  cancel: { event: { type: "run.cancelled", by: "@Codertocat, with /cancel" } },
  resume: {
    event: { type: "wait.elapsed", phaseId: "cooldown", fastForwarded: true, by: "@Codertocat" },
  },
} as const;
const NEEDS = { resume: "maintain" } as Record<string, string>;
const ROLES = ["admin", "maintain", "write", "triage", "read", "none"] as const;
const RANK = { none: 0, read: 1, triage: 2, write: 3, maintain: 4, admin: 5 };

describe("slash commands > permission matrix", () => {
  const cases = Object.keys(OBEYED).flatMap((command) => ROLES.map((role) => [command, role] as const));
  it.each(cases)("/%s from a %s user", async (command, role) => {
    startRun(app);
    const obeys = RANK[role] >= RANK[(NEEDS[command] ?? "write") as "write"];
    const expected = OBEYED[command as keyof typeof OBEYED];
    const changes = obeys && "event" in expected;
    token();
    permission("Codertocat", role, changes ? 2 : 1);
    writes(2);
    const response = await app.deliver(commentPayload({ body: `/${command}` }), { event: "issue_comment" });
    expect(response.status).toBe(200);
    if (!obeys) {
      expect(reply().body).toMatch(
        /was not run: it needs (write, maintain or admin|maintain or admin) access/,
      );
      expect(reactions()).toEqual(["eyes", "confused"]);
      expect(queued(app)).toEqual([]);
      return;
    }
    if ("event" in expected) expect(queued(app)).toEqual([expected.event]);
    else expect(reply().body).toContain(expected.reply);
    expect(queued(app).length).toBe("event" in expected ? 1 : 0);
    expect(reactions()).toEqual(["eyes", "+1"]);
  });

  it.each(Object.keys(OBEYED))(
    "/%s from a bot, or from the app itself, is ignored without a request",
    async (command) => {
      startRun(app);
      for (const login of ["dependabot[bot]", "atomic-scrum[bot]"]) {
        const payload = commentPayload({ body: `/${command}`, sender: { login, type: "Bot" } });
        expect((await app.deliver(payload, { event: "issue_comment" })).status).toBe(200);
      }
      const typedUser = commentPayload({
        body: `/${command}`,
        sender: { login: "renovate[bot]", type: "User" },
      });
      await app.deliver(typedUser, { event: "issue_comment" });
      expect(requestLog()).toEqual([]);
      expect(queued(app)).toEqual([]);
    },
  );
});

describe("slash commands > once and only once", () => {
  it("a redelivered comment, even under a new delivery id, runs once and is answered once", async () => {
    startRun(app);
    token();
    permission("Codertocat", "write", 4);
    githubApi()
      .post(`${repoPath}/issues/comments/${COMMENT_ID}/reactions`)
      .times(3)
      .reply(201, { id: 1, content: "eyes" });
    githubApi().post(`${repoPath}/issues/1/comments`).reply(201, { id: 77 });
    const payload = commentPayload({ body: "/retry plan" });
    await app.deliver(payload, { event: "issue_comment", id: "d-1" });
    await app.deliver(payload, { event: "issue_comment", id: "d-2" });
    expect(queued(app)).toEqual([{ type: "phase.retry", phaseId: "plan", by: "@Codertocat" }]);
    expect(requestLog().filter((r) => r.path.endsWith("/issues/1/comments"))).toHaveLength(1);
    expect(reactions()).toEqual(["eyes", "+1", "eyes"]);
  });

  it("a reply that failed to post is posted when the comment is redelivered, and nothing runs twice", async () => {
    startRun(app);
    token();
    permission("Codertocat", "write", 4);
    githubApi()
      .post(`${repoPath}/issues/comments/${COMMENT_ID}/reactions`)
      .times(3)
      .reply(201, (_uri, body) => ({ id: 1, content: (body as { content: string }).content }));
    githubApi().post(`${repoPath}/issues/1/comments`).reply(502, { message: "Server Error" });
    githubApi().post(`${repoPath}/issues/1/comments`).reply(201, { id: 77 });
    const payload = commentPayload({ body: "/retry plan" });
    expect((await app.deliver(payload, { event: "issue_comment", id: "d-1" })).status).toBe(500);
    expect((await app.deliver(payload, { event: "issue_comment", id: "d-2" })).status).toBe(200);
    expect(queued(app)).toEqual([{ type: "phase.retry", phaseId: "plan", by: "@Codertocat" }]);
    const replies = requestLog().filter((r) => r.path.endsWith("/issues/1/comments"));
    expect(replies).toHaveLength(2);
    expect(JSON.stringify(replies[1]?.body)).toMatch(/retry/i);
    expect(reactions()).toEqual(["eyes", "eyes", "+1"]);
    // Answered now: a third delivery neither runs nor replies.
    permission("Codertocat", "write", 2);
    githubApi().post(`${repoPath}/issues/comments/${COMMENT_ID}/reactions`).reply(201, { id: 1 });
    expect((await app.deliver(payload, { event: "issue_comment", id: "d-3" })).status).toBe(200);
    expect(requestLog().filter((r) => r.path.endsWith("/issues/1/comments"))).toHaveLength(2);
  });

  it("an edited comment is not run again", async () => {
    startRun(app);
    const edited = commentPayload({ body: "/cancel" }, "edited");
    expect((await app.deliver(edited, { event: "issue_comment" })).status).toBe(200);
    expect(requestLog()).toEqual([]);
    expect(queued(app)).toEqual([]);
  });

  it("a comment without a command makes no request", async () => {
    startRun(app);
    await app.deliver(commentPayload({ body: "Looks good to me.\n> /cancel" }), { event: "issue_comment" });
    expect(requestLog()).toEqual([]);
  });
});

describe("slash commands > replies that change nothing", () => {
  it("an unknown command and an unknown phase are answered in one reply, and the good command still runs", async () => {
    startRun(app);
    token();
    permission("Codertocat", "write", 2);
    writes(3);
    await app.deliver(commentPayload({ body: "/stauts\n/retry deploy\n/escalate" }), {
      event: "issue_comment",
    });
    expect(reply().body).toMatchInlineSnapshot(`
      "\`/stauts\` is not a command (did you mean "/status"?). \`/help\` lists them.

      \`/retry\` was not run: the pipeline \`small\` has no phase \`deploy\`. Its phases: \`plan\`, \`cooldown\`, \`review\`.

      \`/escalate plan\`: running phase \`plan\` again one tier up."
    `);
    expect(queued(app)).toEqual([{ type: "phase.escalate", phaseId: "plan", by: "@Codertocat" }]);
    expect(reactions()).toEqual(["eyes", "+1", "confused"]);
  });

  it("a command on an issue with no run gets a helpful reply and changes nothing", async () => {
    token();
    permission("Codertocat", "write");
    writes(2);
    await app.deliver(commentPayload({ body: "/retry" }), { event: "issue_comment" });
    expect(reply().body).toContain("there is no Atomic Scrum run on this issue");
    expect(reactions()).toEqual(["eyes", "confused"]);
    expect(listJobs(app.db)).toEqual([]);
  });

  it("unknown words on an issue with no run are left alone", async () => {
    await app.deliver(commentPayload({ body: "/etc\n/usr" }), { event: "issue_comment" });
    expect(requestLog()).toEqual([]);
  });

  it("/escalate of a phase at the top tier, and /resume of a run not cooling down, are refused with a reason", async () => {
    startRun(app, {
      ...COOLING,
      status: "failed",
      step: "done",
      phaseIndex: 0,
      attempt: 1,
      tier: "deep",
      history: {},
      reason: "phase failed",
    });
    token();
    permission("Codertocat", "admin");
    writes(2);
    await app.deliver(commentPayload({ body: "/escalate\n/resume" }), { event: "issue_comment" });
    expect(reply().body).toMatchInlineSnapshot(`
      "\`/escalate\` was not run: phase "plan" last ran at deep, the top tier: there is none above it.

      \`/resume\` was not run: the run is not cooling down (it is failed)."
    `);
    expect(queued(app)).toEqual([]);
  });

  it("/cancel then /retry in one comment: the retry is answered as the cancelled run will see it", async () => {
    startRun(app);
    token();
    permission("Codertocat", "write", 2);
    writes(3);
    await app.deliver(commentPayload({ body: "/cancel\n/retry" }), { event: "issue_comment" });
    expect(reply().body).toContain(
      "`/retry` was not run: the run was cancelled, so no phase of it runs again. Add the",
    );
    expect(queued(app)).toEqual([{ type: "run.cancelled", by: "@Codertocat, with /cancel" }]);
  });

  it("a role taken away between the two checks stops the command", async () => {
    startRun(app);
    token();
    permission("Codertocat", "write");
    permission("Codertocat", "read");
    writes(2);
    await app.deliver(commentPayload({ body: "/cancel" }), { event: "issue_comment" });
    expect(reply().body).toContain("your access to this repository changed");
    expect(queued(app)).toEqual([]);
  });
});

describe("slash commands > /dry-run", () => {
  const HEAD = "7638417db6d59f3c431d3e1f261cc637155684cd";
  const README = "c3d1c3a9b9fd2b5c7b1f03b1c1e6f4c6c4cfb8a2";
  /** PIPELINE with the plan phase reading the README: the dry run reads the default branch. */
  const READING: ResolvedPipeline = {
    ...PIPELINE,
    phases: PIPELINE.phases.map((phase) =>
      phase.kind === "agent" ? { ...phase, context: ["README.md"] } : phase,
    ),
  };

  function defaultBranch() {
    githubApi()
      .get(`${repoPath}/git/ref/heads%2Fmaster`)
      .reply(200, {
        ref: "refs/heads/master",
        node_id: "REF_1",
        url: `https://api.github.com${repoPath}/git/refs/heads/master`,
        object: { type: "commit", sha: HEAD, url: `https://api.github.com${repoPath}/git/commits/${HEAD}` },
      });
    githubApi()
      .get(`${repoPath}/git/trees/${HEAD}`)
      .query({ recursive: "1" })
      .reply(200, {
        sha: HEAD,
        url: `https://api.github.com${repoPath}/git/trees/${HEAD}`,
        truncated: false,
        tree: [{ path: "README.md", mode: "100644", type: "blob", sha: README, size: 400 }],
      });
    githubApi()
      .post("/graphql", (body: { query: string }) => body.query.includes("AtomicScrumContext"))
      .reply(200, {
        data: {
          repository: {
            ref: { target: { oid: HEAD, history: { nodes: [] } } },
            b0: { text: "# Hello World\n".repeat(25), isBinary: false, isTruncated: false },
          },
        },
      });
  }

  it("from a writer on an issue with a run posts the report, calls no model and creates no run", async () => {
    const runId = startRun(app, COOLING, READING);
    token();
    permission("Codertocat", "write");
    writes(2);
    defaultBranch();
    const response = await app.deliver(commentPayload({ body: "/dry-run" }), { event: "issue_comment" });
    expect(response.status).toBe(200);
    const body = reply().body;
    expect(body).toMatch(
      /^<details>\n<summary>Dry run of `small` \(the pipeline run \S+ pinned\): 1 gap warning\(s\), 0 note\(s\); forecast median \$\d+\.\d{4}, p90 \$\d+\.\d{4}<\/summary>/,
    );
    expect(body).toContain(
      "Prompts, rendered against the issue and the files of branch master of Codertocat/Hello-World:",
    );
    // 114: the file's block tag is 16 hex characters (issue 11), 12 characters more than before.
    expect(body).toMatch(/ {2}plan +fast +\d+ +114 \(1 file\(s\)\)/);
    expect(body).toContain("Gaps in the intent spec: 1 warning(s), 0 note(s)");
    expect(body).toContain("warning  no-gate");
    expect(body).toContain("Forecast, priced on anthropic");
    expect(body).toContain(
      "Failure rate per attempt (history from the app's database; 0 graded attempt(s), 0 of them on the models below):",
    );
    expect(body).toContain("No model was called, no run was created and no tokens were spent.");
    expect(reactions()).toEqual(["eyes", "+1"]);
    // Reads only, and exactly these: the branch head, its tree, one GraphQL query for the blob.
    expect(requestLog().map((r) => `${r.method} ${r.operation ?? r.path}`)).toEqual([
      "POST apps/create-installation-access-token",
      "GET repos/get-collaborator-permission-level",
      "POST reactions/create-for-issue-comment",
      "GET git/get-ref",
      "GET git/get-tree",
      "POST AtomicScrumContext",
      "POST issues/create-comment",
      "POST reactions/create-for-issue-comment",
    ]);
    expect(queued(app)).toEqual([]);
    expect(listRuns(app.db).map((run) => run.id)).toEqual([runId]);
    expect(listAttempts(app.db, runId)).toEqual([]);
    expect(getRun(app.db, runId)?.state).toEqual(COOLING);
  });

  it("prices a local openai-compatible model at $0 when the server's address comes from the environment, as a run does", async () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    const parts = buildGitHubApp({
      db,
      now: () => NOW,
      settings: ServerSettingsSchema.parse({}),
      env: { ATOMIC_SCRUM_OPENAI_BASE_URL: "http://localhost:11434/v1" },
    });
    const served = await serveProbot(parts.appFn);
    try {
      const local = startRun({ ...app, db }, COOLING, { ...PIPELINE, budget: { maxCostUsd: 2 } });
      db.prepare("UPDATE runs SET provider = ? WHERE id = ?").run(
        JSON.stringify({ name: "openai-compatible" }),
        local,
      );
      token();
      permission("Codertocat", "write");
      writes(2);
      const response = await served.deliver(commentPayload({ body: "/dry-run" }), { event: "issue_comment" });
      expect(response.status).toBe(200);
      const body = reply().body;
      expect(body).toContain("Forecast, priced on openai-compatible");
      expect(body).toContain(
        "openai-compatible model qwen2.5-coder:1.5b at http://localhost:11434/v1 is priced at $0 (local model;",
      );
      expect(body).not.toContain("no price for");
    } finally {
      await served.close();
      db.close();
    }
  });

  it("forecasts on the tier models the run pinned (the repository's `tiers`), not the provider's defaults", async () => {
    const runId = startRun(app, COOLING, PIPELINE);
    app.db
      .prepare("UPDATE runs SET provider = ? WHERE id = ?")
      .run(JSON.stringify({ name: "anthropic", models: { fast: "claude-haiku-4-5" } }), runId);
    token();
    permission("Codertocat", "write");
    writes(2);
    await app.deliver(commentPayload({ body: "/dry-run" }), { event: "issue_comment" });
    const body = reply().body;
    expect(body).toMatch(/Forecast, priced on anthropic: fast claude-haiku-4-5, balanced claude-sonnet-5-5/);
    expect(body).toContain("no history on anthropic/claude-haiku-4-5: the default rate");
  });

  it("from a reader is refused and reads nothing of the repository", async () => {
    startRun(app, COOLING, READING);
    token();
    permission("Codertocat", "read");
    writes(2);
    await app.deliver(commentPayload({ body: "/dry-run" }), { event: "issue_comment" });
    expect(reply().body).toBe(
      "`/dry-run` was not run: it needs write, maintain or admin access to this repository.",
    );
    expect(reactions()).toEqual(["eyes", "confused"]);
    expect(requestLog().some((r) => r.path.includes("/git/") || r.path === "/graphql")).toBe(false);
  });

  it("on an issue with no run and no mapped label says what to do", async () => {
    token();
    permission("Codertocat", "write");
    writes(2);
    githubApi()
      .get(`${repoPath}/contents/.github%2Fatomic-scrum.yml`)
      .query(true)
      .reply(404, { message: "Not Found" });
    await app.deliver(commentPayload({ body: "/dry-run" }), { event: "issue_comment" });
    expect(reply().body).toContain(
      "`/dry-run` was not run: this issue has no run, and none of its labels maps to a pipeline.",
    );
    expect(reactions()).toEqual(["eyes", "confused"]);
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubRun } from "../../src/github/start-run.js";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { listJobs } from "../../src/store/queue.js";
import { listRuns, saveRunState } from "../../src/store/runs.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { INSTALLATION_ID, labeledPayload, OWNER, REPO, type RunningApp, startApp } from "./harness.js";

const repoPath = `/repos/${OWNER}/${REPO}`;
const CONFIG = `${repoPath}/contents/.github%2Fatomic-scrum.yml`;

let app: RunningApp;
beforeEach(async () => {
  app = await startApp();
});
afterEach(async () => {
  await app.close();
});

function token() {
  return githubApi()
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
}

function config(text?: string, times = 1) {
  const scope = githubApi().get(CONFIG).query({ ref: "master" }).times(times);
  if (text === undefined) return scope.reply(404, { message: "Not Found" });
  return scope.reply(200, {
    type: "file",
    path: ".github/atomic-scrum.yml",
    sha: "c0ffee",
    encoding: "base64",
    content: Buffer.from(text).toString("base64"),
  });
}

function permission(login: string, role: string, base = role, times = 1) {
  return githubApi()
    .get(`${repoPath}/collaborators/${login}/permission`)
    .times(times)
    .reply(200, { permission: base, role_name: role, user: { login } });
}

describe("github app > issues.labeled", () => {
  it("a label from a writer queues one run pinned to the pipeline, and answers 200", async () => {
    token();
    config();
    permission("Codertocat", "write");
    const response = await app.deliver(labeledPayload());
    expect(response.status).toBe(200);
    const runs = listRuns(app.db);
    expect(runs).toHaveLength(1);
    const [run] = runs;
    const builtin = loadPipelineFile(resolvePipelinePath("coding"));
    expect(builtin.ok && builtin.hash).toBe(run?.pipelineHash);
    expect(run).toMatchObject({
      pipelineName: "coding",
      pipelinePath: "coding",
      repo: { owner: OWNER, name: REPO, defaultBranch: "master", installationId: INSTALLATION_ID },
      issue: {
        number: 1,
        title: "Spelling error in the README file",
        labels: ["bug", "atomic:coding"],
        author: "Codertocat",
        url: "https://github.com/Codertocat/Hello-World/issues/1",
      },
      branch: "atomic-scrum/1-spelling-error-in-the-readme-file",
      provider: { name: "simulated" },
      state: { status: "running", seq: 0 },
    });
    // Queued, not run: the handler returned before any phase started.
    expect(listJobs(app.db).map((job) => [job.state, job.payload])).toEqual([["queued", { runId: run?.id }]]);
  });

  it("the same delivery twice makes one run, even after the first run ended", async () => {
    token();
    config(undefined, 3);
    permission("Codertocat", "write", "write", 3);
    const payload = labeledPayload();
    expect((await app.deliver(payload, { id: "same-delivery" })).status).toBe(200);
    expect((await app.deliver(payload, { id: "same-delivery" })).status).toBe(200);
    expect(listRuns(app.db)).toHaveLength(1);
    // With the run over, only the delivery record stops a redelivery from starting another.
    const [run] = listRuns(app.db);
    if (!run) throw new Error("no run");
    expect(saveRunState(app.db, run.id, { ...run.state, status: "succeeded" }, run.state.seq, 1)).toBe(true);
    expect((await app.deliver(payload, { id: "same-delivery" })).status).toBe(200);
    expect(listRuns(app.db)).toHaveLength(1);
    expect(listJobs(app.db)).toHaveLength(1);
  });

  it("a delivery with a bad signature is refused and enqueues nothing", async () => {
    const response = await app.deliver(labeledPayload(), { secret: "not-the-secret" });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(listRuns(app.db)).toEqual([]);
    expect(listJobs(app.db)).toEqual([]);
    expect(requestLog()).toEqual([]);
  });

  it.each([
    ["read", "read"],
    ["triage", "read"],
  ])(
    "a label from a user with %s permission starts nothing and gets one polite reply",
    async (role, base) => {
      const sender = { login: "octo-reader" };
      const posted: unknown[] = [];
      token();
      config(undefined, 2);
      permission(sender.login, role, base, 2);
      githubApi().get(`${repoPath}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
      githubApi()
        .post(`${repoPath}/issues/1/comments`, (body) => {
          posted.push(body);
          return true;
        })
        .reply(201, { id: 1 });
      expect((await app.deliver(labeledPayload({ sender }))).status).toBe(200);
      // A second try by the same user finds the reply claimed in the store: no request at all.
      expect((await app.deliver(labeledPayload({ sender }))).status).toBe(200);
      expect(listRuns(app.db)).toEqual([]);
      expect(listJobs(app.db)).toEqual([]);
      expect(posted).toHaveLength(1);
      expect(posted).toEqual([
        {
          body: [
            `<!-- atomic-scrum:refused issue=1 user=${sender.login} -->`,
            `Thanks, @${sender.login}! Only people with write, maintain, admin access to this repository can start a pipeline, so \`atomic:coding\` did not start one. A maintainer can add the label instead.`,
          ].join("\n"),
        },
      ]);
    },
  );

  it("a label from a bot, or from the app itself, is ignored without a single API call", async () => {
    for (const login of ["dependabot[bot]", "atomic-scrum[bot]"]) {
      const response = await app.deliver(labeledPayload({ sender: { login, type: "Bot" } }));
      expect(response.status).toBe(200);
    }
    expect(requestLog()).toEqual([]);
    expect(listRuns(app.db)).toEqual([]);
  });

  it("a label the config does not map starts nothing and says nothing", async () => {
    token();
    config("pipelines:\n  atomic:docs: content\n");
    const response = await app.deliver(labeledPayload({ label: "atomic:coding" }));
    expect(response.status).toBe(200);
    expect(listRuns(app.db)).toEqual([]);
    expect(requestLog().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      `GET ${CONFIG}`,
    ]);
  });

  it("an invalid config gets one comment naming the file, line and column", async () => {
    const posted: unknown[] = [];
    token();
    config("pipelines:\n  atomic:coding: coding\nprovider: gpt\nbudget: { max_cost_usd: -1 }\n");
    githubApi()
      .get(`${repoPath}/issues/1/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 9, body: "unrelated" }]);
    githubApi()
      .post(`${repoPath}/issues/1/comments`, (body) => {
        posted.push(body);
        return true;
      })
      .reply(201, { id: 10 });
    expect((await app.deliver(labeledPayload())).status).toBe(200);
    expect(listRuns(app.db)).toEqual([]);
    expect(posted).toMatchInlineSnapshot(`
      [
        {
          "body": "<!-- atomic-scrum:config-problems c0ffee -->
      \`.github/atomic-scrum.yml\` has problems, so no pipeline was started.

      \`\`\`
      .github/atomic-scrum.yml:3:11: provider: expected one of simulated | recorded | anthropic | gemini | openai-compatible, got "gpt"
      .github/atomic-scrum.yml:4:25: budget.max_cost_usd: must be more than 0
      \`\`\`

      Fix them and add the label again.",
        },
      ]
    `);
  });

  it("a config asking for a provider the server does not offer is answered at once and starts nothing", async () => {
    await app.close();
    app = await startApp({ providers: ["simulated"] });
    const posted: { body: string }[] = [];
    token();
    config("provider: gemini\n");
    permission("Codertocat", "admin", "admin");
    githubApi().get(`${repoPath}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
    githubApi()
      .post(`${repoPath}/issues/1/comments`, (body) => posted.push(body) > 0)
      .reply(201, { id: 5 });
    expect((await app.deliver(labeledPayload({ label: "atomic:coding" }))).status).toBe(200);
    expect(listRuns(app.db)).toEqual([]);
    expect(posted[0]?.body).toContain(
      "asks for the `gemini` provider, which this Atomic Scrum server does not offer (it offers: simulated;",
    );
  });

  /** The issue's comments, read once, and what the app posts on it. */
  function comments(): { body: string }[] {
    const posted: { body: string }[] = [];
    githubApi().get(`${repoPath}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
    githubApi()
      .post(`${repoPath}/issues/1/comments`, (body) => posted.push(body) > 0)
      .reply(201, { id: 5 });
    return posted;
  }

  it("a second label while a run is active starts no second run, and says why and what to do", async () => {
    token();
    config(undefined, 2);
    permission("Codertocat", "admin", "admin", 2);
    expect((await app.deliver(labeledPayload({ label: "atomic:coding" }))).status).toBe(200);
    const posted = comments();
    expect((await app.deliver(labeledPayload({ label: "atomic:content" }))).status).toBe(200);
    const runs = listRuns(app.db);
    expect(runs.map((run) => run.pipelineName)).toEqual(["coding"]);
    expect(listJobs(app.db)).toHaveLength(1);
    // Issue 12, item 9: on GitHub one run per issue, because commands on the issue steer "its" run.
    expect(posted[0]?.body).toContain(
      `\`atomic:content\` did not start a run: run \`${runs[0]?.id}\` (pipeline \`coding\`) is running on this issue. An issue has one Atomic Scrum run at a time, because the commands on it (\`/cancel\`, \`/retry\`, \`/approve\`) steer that run. To run \`atomic:content\`'s pipeline, \`/cancel\` the current run or wait for it to end, then add the label again.`,
    );
  });

  it("a second label whose run another delivery started meanwhile says so too, not silently nothing", async () => {
    const file = (path: string, text: string) => ({
      type: "file",
      path,
      sha: "abc123",
      encoding: "base64",
      content: Buffer.from(text).toString("base64"),
    });
    const docs =
      "name: docs\nphases:\n  - id: draft\n    task: write\n    prompt: Write {{ issue.title }}.\n";
    const coding = loadPipelineFile(resolvePipelinePath("coding"));
    if (!coding.ok) throw new Error("the built-in coding pipeline does not load");
    token();
    config("pipelines:\n  atomic:docs: .github/pipelines/docs.yml\n");
    permission("Codertocat", "admin", "admin");
    let other: string | undefined;
    githubApi()
      .get(`${repoPath}/contents/.github%2Fpipelines%2Fdocs.yml`)
      .query({ ref: "master" })
      .reply(() => {
        // Both labels added at once: the other delivery starts its run while this one reads its pipeline.
        const started = startGitHubRun(app.db, 1, {
          deliveryId: "the-other-label",
          pipeline: coding.pipeline,
          hash: coding.hash,
          pipelinePath: "coding",
          repo: { owner: OWNER, name: REPO, defaultBranch: "master", installationId: INSTALLATION_ID },
          issue: { number: 1, title: "Spelling error", body: "", labels: [], author: "Codertocat", url: "" },
          provider: { name: "simulated" },
        });
        if (started.started) other = started.runId;
        return [200, file(".github/pipelines/docs.yml", docs)];
      });
    const posted = comments();
    expect((await app.deliver(labeledPayload({ label: "atomic:docs" }))).status).toBe(200);
    expect(listRuns(app.db).map((run) => run.pipelineName)).toEqual(["coding"]);
    expect(posted[0]?.body).toContain(
      `\`atomic:docs\` did not start a run: run \`${other}\` (pipeline \`coding\`) is running on this issue.`,
    );
  });

  it("a label after the issue's title was edited still finds the active run (one issue, one run)", async () => {
    token();
    config(undefined, 2);
    permission("Codertocat", "admin", "admin", 2);
    expect((await app.deliver(labeledPayload({ label: "atomic:coding" }))).status).toBe(200);
    comments();
    const renamed = labeledPayload({ label: "atomic:content" }) as { issue: { title: string } };
    renamed.issue.title = "A completely different title now";
    expect((await app.deliver(renamed)).status).toBe(200);
    expect(listRuns(app.db)).toHaveLength(1);
  });

  it("the repository's budget and tier models are pinned with the run; the lower budget wins", async () => {
    token();
    config(
      [
        "budget: { max_tokens: 50000, max_cost_usd: 20 }",
        "tiers: { fast: small-model, deep: big-model }",
      ].join("\n"),
    );
    permission("Codertocat", "write");
    expect((await app.deliver(labeledPayload())).status).toBe(200);
    const [run] = listRuns(app.db);
    // coding.yml says max_cost_usd 12 and max_tokens 2,000,000: each limit takes the lower value.
    expect(run?.pipeline.budget).toEqual({ maxTokens: 50000, maxCostUsd: 12 });
    expect(run?.provider).toEqual({ name: "simulated", models: { fast: "small-model", deep: "big-model" } });
  });

  it("a repository pipeline is read with its prompt file and pinned to its content", async () => {
    const pipelineYml = [
      "name: docs",
      "labels: [atomic:docs]",
      "phases:",
      "  - id: draft",
      "    task: write",
      "    prompt: prompts/draft.md",
      "  - id: human-review",
      "    approval: { min_approvals: 1 }",
    ].join("\n");
    const file = (path: string, text: string) => ({
      type: "file",
      path,
      sha: "abc123",
      encoding: "base64",
      content: Buffer.from(text).toString("base64"),
    });
    token();
    config("pipelines:\n  atomic:docs: .github/pipelines/docs.yml\nprovider: gemini\n");
    permission("Codertocat", "maintain", "write");
    githubApi()
      .get(`${repoPath}/contents/.github%2Fpipelines%2Fdocs.yml`)
      .query({ ref: "master" })
      .reply(200, file(".github/pipelines/docs.yml", pipelineYml));
    githubApi()
      .get(`${repoPath}/contents/.github%2Fpipelines%2Fprompts%2Fdraft.md`)
      .query({ ref: "master" })
      .reply(200, file(".github/pipelines/prompts/draft.md", "Write the page {{ issue.title }} asks for."));
    expect((await app.deliver(labeledPayload({ label: "atomic:docs" }))).status).toBe(200);
    const [run] = listRuns(app.db);
    expect(run).toMatchObject({
      pipelineName: "docs",
      pipelinePath: ".github/pipelines/docs.yml",
      provider: { name: "gemini" },
      pipeline: {
        phases: [
          { id: "draft", prompt: "Write the page {{ issue.title }} asks for." },
          { id: "human-review" },
        ],
      },
    });
    expect(run?.pipelineHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a repository pipeline with problems gets one comment naming its file and line", async () => {
    const posted: unknown[] = [];
    token();
    config("pipelines:\n  atomic:docs: .github/pipelines/docs.yml\n");
    permission("Codertocat", "write");
    githubApi()
      .get(`${repoPath}/contents/.github%2Fpipelines%2Fdocs.yml`)
      .query({ ref: "master" })
      .reply(200, {
        type: "file",
        sha: "bad1",
        encoding: "base64",
        content: Buffer.from(
          "name: docs\nlabels: []\nphases:\n  - id: draft\n    task: write\n    tier: fastest\n    prompt: hi\n",
        ).toString("base64"),
      });
    githubApi().get(`${repoPath}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
    githubApi()
      .post(`${repoPath}/issues/1/comments`, (body) => {
        posted.push(body);
        return true;
      })
      .reply(201, { id: 11 });
    expect((await app.deliver(labeledPayload({ label: "atomic:docs" }))).status).toBe(200);
    expect(listRuns(app.db)).toEqual([]);
    expect((posted[0] as { body: string }).body).toContain(
      ".github/pipelines/docs.yml:6:11: phases[0].tier:",
    );
  });
});

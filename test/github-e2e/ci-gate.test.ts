import { join } from "node:path";
import nock from "nock";
import { describe, expect, it } from "vitest";
import { listGroupJobs } from "../../src/store/queue.js";
import { listEvents, type RunRecord } from "../../src/store/runs.js";
import { labeledPayload } from "../github-app/harness.js";
import { requestLog } from "../helpers/github/api.js";
import { tempDir } from "../helpers/temp.js";
import { ACTIONS_APP_ID, type FakeGitHub } from "./fake-github.js";
import { BRANCH, example, exampleGitHub } from "./payloads.js";
import { onlyRun, runToRest, startProcess, testClock } from "./processes.js";
import type { ServedApp } from "./serve-app.js";

const LABEL = "atomic:ci";
const APP_ID = 1; // the tests' Probot
const MINUTE = 60_000;
const MODELS = "http://models.test";
const STATUS_MARKER = /^<!-- atomic-scrum:status=/;

/** A pipeline kept in the repository: one code phase gated on the repository's CI, then a review. */
function pipelineYaml(checks: string): string {
  return `name: ci-gated
phases:
  - id: code
    task: code
    output: { files: true }
    prompt: |
      Fix what the issue below reports.

      {{ issue.title }}

      {{ issue.body }}
    gates:
      - assert: { type: no-placeholders }
      - checks: ${checks}
    on_fail: { retries: 1, escalate: false }
  - id: human-review
    approval: {}
`;
}

/**
 * The real `check_suite.completed` example, moved to the run's branch and commit; `appId` plays
 * the app whose suite it is (GitHub Actions by default; the example's is a linter app).
 */
function suitePayload(sha: string, appId = ACTIONS_APP_ID): Record<string, unknown> {
  const payload = example("check_suite", "completed");
  payload.check_suite = {
    ...payload.check_suite,
    head_branch: BRANCH,
    head_sha: sha,
    app: { ...(payload.check_suite?.app as object), id: appId },
  };
  return payload;
}

/**
 * An OpenAI-compatible model server (as Ollama serves one) that answers every call with a file
 * edit and keeps each prompt it was sent: what the agent was told, read off the wire.
 */
function modelServer() {
  const prompts: string[] = [];
  nock(MODELS)
    .persist()
    .post("/v1/chat/completions")
    .optionally()
    .reply((_uri, body) => {
      const messages = (body as { messages: { role: string; content: string }[] }).messages;
      prompts.push(messages.map((m) => m.content).join("\n\n"));
      const edit = {
        summary: `Fixes the spelling (attempt ${prompts.length}).`,
        files: [{ path: "README.md", content: `# Hello-World\n\nHello, world. (${prompts.length})\n` }],
      };
      return [
        200,
        {
          id: `chatcmpl-${prompts.length}`,
          object: "chat.completion",
          created: 1_763_900_000,
          model: "qwen2.5-coder:1.5b",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: JSON.stringify(edit) },
              finish_reason: "stop",
            },
          ],
          usage: { prompt_tokens: 300, completion_tokens: 60, total_tokens: 360 },
        },
      ];
    });
  return { prompts };
}

async function setUp(checks = "{ timeout: 30m, names: [test] }") {
  const github = exampleGitHub({
    files: {
      "README.md": "# Hello-World\n\nHello, wrold.\n",
      ".github/pipelines/ci.yml": pipelineYaml(checks),
    },
    config: `pipelines:\n  "${LABEL}": .github/pipelines/ci.yml\nprovider: openai-compatible\n`,
    appId: APP_ID,
  });
  const models = modelServer();
  const time = testClock();
  const app = await startProcess(join(tempDir(), "store.db"), time.now, "worker-1", {
    appId: APP_ID,
    env: { ATOMIC_SCRUM_OPENAI_BASE_URL: `${MODELS}/v1` },
  });
  expect((await app.deliver(labeledPayload({ label: LABEL }))).status).toBe(200);
  const waiting = await runToRest(app, time);
  return { github, models, time, app, waiting, sha: waiting.state.current?.commit ?? "" };
}

const statusBody = (github: FakeGitHub) =>
  github.comments.find((c) => STATUS_MARKER.test(c.body))?.body ?? "";
const phaseComments = (github: FakeGitHub) =>
  github.comments.filter((c) => /atomic-scrum:key=\S+\/code\//.test(c.body));
const ciReads = () => requestLog().filter((r) => r.operation === "checks/list-for-ref");
const eventTypes = (app: ServedApp, run: RunRecord) => listEvents(app.db, run.id).map((e) => e.type);

async function deliverSuite(app: ServedApp, sha: string, options: { appId?: number; id?: string } = {}) {
  const response = await app.deliver(suitePayload(sha, options.appId), {
    event: "check_suite",
    ...(options.id ? { id: options.id } : {}),
  });
  expect(response.status).toBe(200);
}

describe("github e2e > the checks gate", () => {
  it("waits for CI on the phase's commit, then a passing suite lets the run go on", async () => {
    const { github, models, time, app, waiting, sha } = await setUp();
    expect(waiting.state).toMatchObject({ status: "waiting", step: "ci", current: { commit: sha } });
    expect(github.branchCommits(BRANCH).map((c) => c.oid)).toEqual([sha]);
    expect(statusBody(github)).toContain("⏸ waiting for CI");
    expect(statusBody(github)).toContain(`waiting for CI on ${sha.slice(0, 7)} until 2025-01-01 00:30 UTC`);
    expect(phaseComments(github)).toEqual([]);
    // The phase's own check waits with it: queued, as no CI check has appeared on the commit yet.
    const own = github.checkRuns.filter((c) => c.head_sha === sha && c.name.startsWith("Atomic Scrum / "));
    expect(own.map((c) => [c.name, c.status])).toEqual([["Atomic Scrum / code", "queued"]]);

    // Our own phase check on the commit is not CI: only the named check counts.
    github.addCiRun({ sha, name: "lint", conclusion: "failure", title: "not named, not counted" });
    github.addCiRun({ sha, name: "test", conclusion: "success", title: "12 tests passed" });
    await deliverSuite(app, sha);
    const done = await runToRest(app, time);

    expect(done.state.status).toBe("awaiting_approval");
    // The same check run, updated: completed with the gate's verdict.
    const after = github.checkRuns.filter((c) => c.head_sha === sha && c.name === "Atomic Scrum / code");
    expect(after.map((c) => [c.status, c.conclusion])).toEqual([["completed", "success"]]);
    expect(models.prompts).toHaveLength(1);
    const [comment] = phaseComments(github);
    expect(comment?.body).toContain("- ✅ `assert no-placeholders`");
    expect(comment?.body).toContain(`- ✅ \`checks\`: 1 check(s) passed on ${sha.slice(0, 7)}`);
    expect(comment?.body).toContain("**Passed**");
    expect(eventTypes(app, done)).toEqual(
      expect.arrayContaining(["ci.pending", "ci.changed", "ci.completed", "phase.commented"]),
    );
  });

  it("a lost check_suite webhook costs one poll interval, not the whole timeout", async () => {
    const { github, time, app, sha } = await setUp();
    github.addCiRun({ sha, name: "test", conclusion: "success", title: "12 tests passed" });
    // No webhook: a minute later nothing has looked yet; five minutes after the first look, the poll does.
    time.advance(MINUTE);
    await app.worker.runUntilIdle();
    expect(onlyRun(app).state.status).toBe("waiting");
    time.advance(4 * MINUTE);
    await app.worker.runUntilIdle();
    const done = onlyRun(app);
    expect(done.state.status).toBe("awaiting_approval");
    expect(eventTypes(app, done)).not.toContain("ci.changed");
  });

  it("a failing check fails the gate: the retry's prompt gets the failing checks, and its commit passes", async () => {
    const { github, models, time, app, sha } = await setUp();
    github.addCiRun({ sha, name: "test", conclusion: "failure", title: "2 tests failed: hello.test.ts" });
    await deliverSuite(app, sha);
    const retried = await runToRest(app, time);

    expect(models.prompts).toHaveLength(2);
    expect(models.prompts[0]).not.toContain("Feedback on your previous attempt");
    expect(models.prompts[1]).toContain("## Feedback on your previous attempt");
    expect(models.prompts[1]).toContain("The repository's CI failed on the commit of your previous attempt:");
    expect(models.prompts[1]).toContain("- test: failure: 2 tests failed: hello.test.ts");
    // The failed commit stays on the branch; the retry commits on top and waits for its own CI.
    const commits = github.branchCommits(BRANCH).map((c) => c.oid);
    expect(commits).toHaveLength(2);
    expect(commits[0]).toBe(sha);
    const second = commits[1] ?? "";
    expect(retried.state).toMatchObject({
      status: "waiting",
      step: "ci",
      attempt: 2,
      current: { commit: second },
    });

    github.addCiRun({ sha: second, name: "test", conclusion: "success" });
    await deliverSuite(app, second);
    const done = await runToRest(app, time);
    expect(done.state.status).toBe("awaiting_approval");
    const [comment] = phaseComments(github);
    expect(comment?.body).toContain("attempt 2");
    expect(comment?.body).toContain(`- ✅ \`checks\`: 1 check(s) passed on ${second.slice(0, 7)}`);
    expect(comment?.body).toMatch(/\| 1 \| balanced \| — \| test: failure: 2 tests failed: hello.test.ts \|/);
  });

  it("a CI run that GitHub reports again after a re-run counts as its newest run", async () => {
    const { github, time, app, sha } = await setUp();
    github.addCiRun({ sha, name: "test", conclusion: "failure", title: "flaky" });
    github.addCiRun({ sha, name: "test", conclusion: "success" });
    await deliverSuite(app, sha);
    expect((await runToRest(app, time)).state.status).toBe("awaiting_approval");
  });

  it("no CI ever: at the deadline the gate could not decide, and the run fails without a retry", async () => {
    const { github, models, time, app, sha } = await setUp("{ timeout: 30m }");
    // The app's own check on the commit (in progress while the gate waits) is not CI.
    expect(github.checkRuns.some((c) => c.head_sha === sha && c.app_id === APP_ID)).toBe(true);
    time.advance(29 * MINUTE);
    await app.worker.runUntilIdle();
    expect(onlyRun(app).state.status).toBe("waiting");

    time.advance(MINUTE);
    await app.worker.runUntilIdle();
    const failed = onlyRun(app);
    expect(failed.state.status).toBe("failed");
    expect(failed.state.reason).toBe(
      `phase "code" could not be checked: no CI reported on ${sha.slice(0, 7)} within 30m; check that a workflow runs on pushes to the run's branch`,
    );
    expect(models.prompts).toHaveLength(1);
    const [comment] = phaseComments(github);
    expect(comment?.body).toContain("**Failed**");
    expect(comment?.body).toContain("- ❌ `checks`: could not be checked: no CI reported");
  });

  it("checks still running at the deadline fail the gate, and the retry hears which", async () => {
    const { github, models, time, app, sha } = await setUp();
    github.addCiRun({ sha, name: "test", status: "in_progress" });
    time.advance(30 * MINUTE);
    await runToRest(app, time);
    expect(models.prompts).toHaveLength(2);
    expect(models.prompts[1]).toContain("The repository's CI did not finish in time");
    expect(models.prompts[1]).toContain("- test (in_progress): still running after 30m");
    expect(onlyRun(app).state).toMatchObject({ status: "waiting", step: "ci", attempt: 2 });
    expect(github.branchCommits(BRANCH)).toHaveLength(2);
  });

  it("a suite from the app itself, or for another commit, changes nothing", async () => {
    const { github, app, time, sha, waiting } = await setUp();
    github.addCiRun({ sha, name: "test", conclusion: "success" });
    const readsBefore = ciReads().length;
    const eventsBefore = eventTypes(app, waiting);

    await deliverSuite(app, sha, { appId: APP_ID });
    await deliverSuite(app, "0123456789abcdef0123456789abcdef01234567");
    await app.worker.runUntilIdle();
    time.advance(MINUTE);
    await app.worker.runUntilIdle();

    const still = onlyRun(app);
    expect(still.state).toEqual(waiting.state);
    expect(eventTypes(app, still)).toEqual(eventsBefore);
    expect(ciReads()).toHaveLength(readsBefore);
  });

  it("webhooks while CI runs do not pile up polls: one deadline and one next look stay queued", async () => {
    const { github, app, time, sha } = await setUp();
    github.addCiRun({ sha, name: "test", status: "in_progress" });
    for (const id of ["suite-a", "suite-b", "suite-c"]) {
      time.advance(MINUTE);
      await deliverSuite(app, sha, { id });
      await app.worker.runUntilIdle();
    }
    const queued = listGroupJobs(app.db, onlyRun(app).id).filter((job) => job.state === "queued");
    expect(queued).toHaveLength(2);
  });

  it("the same delivery twice is applied once", async () => {
    const { github, app, time, sha } = await setUp();
    github.addCiRun({ sha, name: "test", status: "in_progress" });
    const deadline = onlyRun(app).state.current?.ciUntil;
    expect(deadline).toBe(time.now() + 30 * MINUTE);
    time.advance(MINUTE);
    await deliverSuite(app, sha, { id: "suite-delivery-1" });
    await deliverSuite(app, sha, { id: "suite-delivery-1" });
    const again = await runToRest(app, time);
    // One wake-up, one more read; the run waits on, its deadline the one the first look fixed.
    expect(eventTypes(app, again).filter((type) => type === "ci.changed")).toHaveLength(1);
    expect(eventTypes(app, again).filter((type) => type === "ci.pending")).toHaveLength(2);
    expect(again.state).toMatchObject({ status: "waiting", current: { ciUntil: deadline } });
  });
});

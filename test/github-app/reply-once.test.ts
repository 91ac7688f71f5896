import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAtomicScrumApp } from "../../src/github/app.js";
import { openDatabase } from "../../src/store/database.js";
import { githubApi } from "../helpers/github/api.js";
import { serveProbot } from "../helpers/probot-server.js";
import { tempDir } from "../helpers/temp.js";
import { INSTALLATION_ID, labeledPayload, NOW, OWNER, REPO, type RunningApp, startApp } from "./harness.js";

const repoPath = `/repos/${OWNER}/${REPO}`;
const CONFIG = `${repoPath}/contents/.github%2Fatomic-scrum.yml`;
const SENDER = { login: "octo-reader" };

const apps: RunningApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function started(options: { providers?: readonly string[] } = {}): Promise<RunningApp> {
  const app = await startApp(options);
  apps.push(app);
  return app;
}

/**
 * GitHub for one issue with no comments yet: the listing is slow (200 ms), so deliveries handled
 * at the same time all list before any of them posts, as they can in production. Posts are kept.
 */
function quietIssue(options: { config?: string; role?: string } = {}) {
  githubApi()
    .persist()
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
  const config = githubApi().persist().get(CONFIG).query({ ref: "master" });
  if (options.config === undefined) config.reply(404, { message: "Not Found" });
  else
    config.reply(200, {
      type: "file",
      path: ".github/atomic-scrum.yml",
      sha: "c0ffee",
      encoding: "base64",
      content: Buffer.from(options.config).toString("base64"),
    });
  const role = options.role ?? "read";
  githubApi()
    .persist()
    .get(`${repoPath}/collaborators/${SENDER.login}/permission`)
    .optionally()
    .reply(200, { permission: role, role_name: role, user: SENDER });
  const posted: string[] = [];
  githubApi()
    .persist()
    .get(`${repoPath}/issues/1/comments`)
    .query({ per_page: "100" })
    .optionally()
    .delay(200)
    .reply(200, () =>
      posted.map((body, i) => ({ id: i + 1, body, user: { login: "atomic-scrum[bot]", type: "Bot" } })),
    );
  githubApi()
    .persist()
    .post(`${repoPath}/issues/1/comments`, (body: { body: string }) => posted.push(body.body) > 0)
    .optionally()
    .reply(201, () => ({ id: posted.length }));
  return posted;
}

describe("github app > a reply a webhook handler posts is posted once (issue 11, class 15)", () => {
  it("two labels added at the same moment by a refused user: one polite reply", async () => {
    const app = await started();
    const posted = quietIssue();
    const responses = await Promise.all([
      app.deliver(labeledPayload({ label: "atomic:coding", sender: SENDER })),
      app.deliver(labeledPayload({ label: "atomic:content", sender: SENDER })),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatch(
      /^<!-- atomic-scrum:refused issue=1 user=octo-reader -->\nThanks, @octo-reader!/,
    );
  });

  it("one delivery posted twice at once: one reply", async () => {
    const app = await started();
    const posted = quietIssue();
    const payload = labeledPayload({ sender: SENDER });
    await Promise.all([
      app.deliver(payload, { id: "same-delivery" }),
      app.deliver(payload, { id: "same-delivery" }),
    ]);
    expect(posted).toHaveLength(1);
  });

  it("three labels at once on a broken config: one problems comment", async () => {
    const app = await started();
    const posted = quietIssue({ config: "pipelines: [not, a, map]\n" });
    await Promise.all(
      ["atomic:coding", "atomic:content", "atomic:docs"].map((label) =>
        app.deliver(labeledPayload({ label, sender: { login: "Codertocat" } })),
      ),
    );
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatch(/has problems, so no pipeline was started/);
  });

  it("two labels at once asking for a provider the server lacks: one reply", async () => {
    const app = await started({ providers: ["simulated"] });
    const posted = quietIssue({ config: "provider: anthropic\n", role: "write" });
    await Promise.all([
      app.deliver(labeledPayload({ label: "atomic:coding", sender: SENDER })),
      app.deliver(labeledPayload({ label: "atomic:content", sender: SENDER })),
    ]);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatch(/asks for the `anthropic` provider/);
  });

  it("a reply that failed to post is posted by the next delivery", async () => {
    const app = await started();
    githubApi().post(`${repoPath}/issues/1/comments`).reply(500, { message: "Server Error" });
    const posted = quietIssue();
    await app.deliver(labeledPayload({ sender: SENDER }));
    expect(posted).toHaveLength(0);
    await app.deliver(labeledPayload({ sender: SENDER }));
    expect(posted).toHaveLength(1);
  });

  it("a reply posted before this store knew of it (another server's) is found on the issue", async () => {
    const posted = quietIssue();
    posted.push("<!-- atomic-scrum:refused issue=1 user=octo-reader -->\nThanks, @octo-reader!");
    const db = openDatabase(join(tempDir(), "other.db"));
    const served = await serveProbot(createAtomicScrumApp({ db, now: () => NOW }));
    try {
      await served.deliver(labeledPayload({ sender: SENDER }));
      expect(posted).toHaveLength(1);
    } finally {
      await served.close();
      db.close();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listRuns } from "../../src/store/runs.js";
import { githubApi } from "../helpers/github/api.js";
import { INSTALLATION_ID, labeledPayload, OWNER, REPO, type RunningApp, startApp } from "./harness.js";

const repoPath = `/repos/${OWNER}/${REPO}`;

let app: RunningApp;
beforeEach(async () => {
  app = await startApp();
});
afterEach(async () => {
  await app.close();
});

function labeledWithConfig(text: string | undefined) {
  githubApi()
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
  const scope = githubApi().get(`${repoPath}/contents/.github%2Fatomic-scrum.yml`).query({ ref: "master" });
  if (text === undefined) scope.reply(404, { message: "Not Found" });
  else {
    scope.reply(200, {
      type: "file",
      path: ".github/atomic-scrum.yml",
      sha: "c0ffee",
      encoding: "base64",
      content: Buffer.from(text).toString("base64"),
    });
  }
  githubApi()
    .get(`${repoPath}/collaborators/Codertocat/permission`)
    .reply(200, { permission: "write", role_name: "write", user: { login: "Codertocat" } });
  return app.deliver(labeledPayload());
}

describe("github app > issues.labeled > the repository's edits: (issue 11, class 8)", () => {
  it("is pinned with the run, so the worker and the forge hold its edits to it", async () => {
    const text = "edits:\n  allow: [submodules, hooks]\n  max_file_bytes: 2048\n  max_files: 3\n";
    expect((await labeledWithConfig(text)).status).toBe(200);
    const [run] = listRuns(app.db);
    expect(run?.pipeline.edits).toEqual({
      allow: ["submodules", "hooks"],
      maxFileBytes: 2048,
      maxFiles: 3,
      maxTotalBytes: 5 * 1024 * 1024,
    });
  });

  it("is absent without edits:, and the defaults apply", async () => {
    expect((await labeledWithConfig(undefined)).status).toBe(200);
    const [run] = listRuns(app.db);
    expect(run).toBeDefined();
    expect(run?.pipeline.edits).toBeUndefined();
  });
});

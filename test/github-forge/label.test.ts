import { describe, expect, it } from "vitest";
import { GitHubAccessLost } from "../../src/forge/github/github-errors.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { ISSUE, newForge, R } from "./fixtures.js";

describe("GitHub forge > addLabel", () => {
  it("adds the label to the run's issue in one request GitHub accepts", async () => {
    const sent: unknown[] = [];
    githubApi()
      .post(`${R}/issues/${ISSUE}/labels`, (body) => sent.push(body) > 0)
      .reply(200, [{ id: 1, node_id: "LA_1", name: "needs-human", color: "ededed", default: false }]);
    await newForge().addLabel({ runId: "run-1", label: "needs-human" });
    expect(sent).toEqual([{ labels: ["needs-human"] }]);
    expect(requestLog().map((r) => r.operation)).toEqual(["issues/add-labels"]);
  });

  it("a repository the app can no longer reach ends the run instead of retrying", async () => {
    githubApi().post(`${R}/issues/${ISSUE}/labels`).reply(404, { message: "Not Found" });
    await expect(newForge().addLabel({ runId: "run-1", label: "needs-human" })).rejects.toBeInstanceOf(
      GitHubAccessLost,
    );
  });
});

describe("GitHub forge > removeLabel", () => {
  it("takes the label off the run's issue in one request GitHub accepts", async () => {
    githubApi().delete(`${R}/issues/${ISSUE}/labels/needs-human`).reply(200, []);
    await newForge().removeLabel({ runId: "run-1", label: "needs-human" });
    expect(requestLog().map((r) => `${r.method} ${r.operation}`)).toEqual(["DELETE issues/remove-label"]);
  });

  it("a label that is not on the issue (any more) is no error", async () => {
    githubApi()
      .delete(`${R}/issues/${ISSUE}/labels/needs-human`)
      .reply(404, { message: "Label does not exist" });
    await expect(newForge().removeLabel({ runId: "run-1", label: "needs-human" })).resolves.toBeUndefined();
  });
});

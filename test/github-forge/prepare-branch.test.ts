import { describe, expect, it } from "vitest";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { BASE_SHA, BRANCH, newForge, R, REF_PATH } from "./fixtures.js";

const MAIN_REF = `${R}/git/ref/${encodeURIComponent("heads/main")}`;

describe("GitHub forge > prepareBranch", () => {
  it("creates the branch from the default branch's head", async () => {
    githubApi().get(R).reply(200, { default_branch: "main" });
    githubApi().get(REF_PATH).reply(404, { message: "Not Found" });
    githubApi()
      .get(MAIN_REF)
      .reply(200, { ref: "refs/heads/main", object: { sha: BASE_SHA, type: "commit" } });
    const created: unknown[] = [];
    githubApi()
      .post(`${R}/git/refs`, (body) => created.push(body) > 0)
      .reply(201, { ref: `refs/heads/${BRANCH}`, object: { sha: BASE_SHA } });
    const info = await newForge().prepareBranch({ branch: BRANCH });
    expect(info).toEqual({ branch: BRANCH, base: "main", head: BASE_SHA, created: true });
    expect(created).toEqual([{ ref: `refs/heads/${BRANCH}`, sha: BASE_SHA }]);
    expect(requestLog().filter((r) => r.isWrite)).toHaveLength(1);
  });

  it("leaves an existing branch alone and reports its head", async () => {
    githubApi()
      .get(REF_PATH)
      .reply(200, { ref: `refs/heads/${BRANCH}`, object: { sha: "b".repeat(40), type: "commit" } });
    const info = await newForge().prepareBranch({ branch: BRANCH, base: "main" });
    expect(info).toEqual({ branch: BRANCH, base: "main", head: "b".repeat(40), created: false });
    expect(requestLog()).toHaveLength(1);
  });

  it("takes a 'Reference already exists' race as created by someone else", async () => {
    githubApi().get(REF_PATH).reply(404, { message: "Not Found" });
    githubApi()
      .get(MAIN_REF)
      .reply(200, { object: { sha: BASE_SHA } });
    githubApi().post(`${R}/git/refs`).reply(422, { message: "Reference already exists" });
    githubApi()
      .get(REF_PATH)
      .reply(200, { object: { sha: "c".repeat(40) } });
    const info = await newForge().prepareBranch({ branch: BRANCH, base: "main" });
    expect(info).toEqual({ branch: BRANCH, base: "main", head: "c".repeat(40), created: false });
  });

  it("says the installation or repository is gone on a 404 for the repository", async () => {
    githubApi().get(R).reply(404, { message: "Not Found" });
    await expect(newForge().prepareBranch({ branch: BRANCH })).rejects.toThrow(
      /installation was removed, or the repository was deleted, renamed or made inaccessible/,
    );
  });

  it("refuses a branch name git would refuse, before any request", async () => {
    await expect(newForge().prepareBranch({ branch: "bad..name", base: "main" })).rejects.toThrow(
      /not a valid git branch name/,
    );
    expect(requestLog()).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { hasWriteAccess } from "../../src/github/permissions.js";
import { githubApi } from "../helpers/github/api.js";
import { testOctokit } from "../helpers/github/octokit.js";

const allowed = ["write", "maintain", "admin"] as const;

function answer(status: number, body: object) {
  githubApi().get("/repos/octo/hello/collaborators/someone/permission").reply(status, body);
}

describe("permissions > hasWriteAccess", () => {
  it.each([
    ["admin", "admin", true],
    ["maintain", "write", true],
    ["write", "write", true],
    ["triage", "read", false],
    ["read", "read", false],
  ])("role_name %s (permission %s) -> %s", async (role, permission, expected) => {
    answer(200, { permission, role_name: role, user: { login: "someone" } });
    expect(await hasWriteAccess(testOctokit(), "octo", "hello", "someone", allowed)).toBe(expected);
  });

  it("a custom role falls back to the base permission it extends", async () => {
    answer(200, { permission: "write", role_name: "security-reviewer", user: { login: "someone" } });
    expect(await hasWriteAccess(testOctokit(), "octo", "hello", "someone", allowed)).toBe(true);
  });

  it("triage is refused by default but allowed when the config lists it", async () => {
    answer(200, { permission: "read", role_name: "triage", user: { login: "someone" } });
    expect(await hasWriteAccess(testOctokit(), "octo", "hello", "someone", ["triage"])).toBe(true);
  });

  it("a user GitHub does not know (404) has no access", async () => {
    answer(404, { message: "Not Found" });
    expect(await hasWriteAccess(testOctokit(), "octo", "hello", "someone", allowed)).toBe(false);
  });
});

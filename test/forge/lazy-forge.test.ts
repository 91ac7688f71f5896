import { describe, expect, it } from "vitest";
import type { Forge } from "../../src/forge/forge.js";
import { lazyForge } from "../../src/forge/lazy-forge.js";

function fakeForge(calls: string[]): Forge {
  return {
    prepareBranch: async (input) => {
      calls.push(`prepare ${input.branch}`);
      return { branch: input.branch, base: "main", head: "abc", created: true };
    },
    readContext: async () => ({ files: [], omitted: [] }),
    commit: async (input) => {
      calls.push(`commit ${input.key}`);
      return { sha: "def", created: true };
    },
    comment: async () => ({ id: "1", created: true }),
    updateStatus: async () => {},
    addLabel: async (input) => {
      calls.push(`label ${input.label}`);
    },
    removeLabel: async (input) => {
      calls.push(`unlabel ${input.label}`);
    },
    mergePull: async () => ({ merged: false, reason: "not here" }),
    findCheck: async () => undefined,
    setCheck: async (input) => {
      calls.push(`check ${input.name} ${input.status}`);
      return { id: "7" };
    },
    ciStatus: async (input) => {
      calls.push(`ci ${input.sha}`);
      return { state: "unsupported" };
    },
  };
}

describe("a lazily built forge", () => {
  it("is built once, on first use, and delegates every call", async () => {
    const calls: string[] = [];
    let builds = 0;
    const forge = lazyForge(async () => {
      builds++;
      return fakeForge(calls);
    });
    expect(builds).toBe(0);
    await Promise.all([
      forge.prepareBranch({ branch: "b" }),
      forge.commit({ branch: "b", message: "m", changes: [], key: "k" }),
    ]);
    await forge.removeLabel({ runId: "r", label: "needs-human" });
    const check = await forge.setCheck({
      runId: "r",
      name: "Atomic Scrum / x",
      headSha: "abc",
      status: "in_progress",
      title: "t",
      summary: "s",
    });
    expect(check).toEqual({ id: "7" });
    expect(await forge.ciStatus({ sha: "abc" })).toEqual({ state: "unsupported" });
    expect(builds).toBe(1);
    expect(calls).toEqual([
      "prepare b",
      "commit k",
      "unlabel needs-human",
      "check Atomic Scrum / x in_progress",
      "ci abc",
    ]);
  });

  it("tries to build again after a failed build", async () => {
    let builds = 0;
    const forge = lazyForge(async () => {
      builds++;
      if (builds === 1) throw new Error("token request failed");
      return fakeForge([]);
    });
    await expect(forge.prepareBranch({ branch: "b" })).rejects.toThrow("token request failed");
    await expect(forge.prepareBranch({ branch: "b" })).resolves.toMatchObject({ head: "abc" });
    expect(builds).toBe(2);
  });
});

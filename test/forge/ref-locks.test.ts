import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Forge } from "../../src/forge/forge.js";
import { type RunGit, runGit } from "../../src/forge/local/git.js";
import { createLocalForge } from "../../src/forge/local/local-forge.js";
import { git, tempDir, tempRepo } from "../helpers/temp.js";

// Issue 11, class 10: a kill of the whole process group during `git update-ref` leaves
// `refs/heads/atomic-scrum/<branch>.lock`; every later update of the branch failed ("File exists"),
// and the message said the branch "moved from 60c368e8 to 60c368e8", hiding git's own error.

const BRANCH = "atomic-scrum/7-trim";

function setup(runGitWith?: RunGit): { repo: string; forge: Forge } {
  const repo = tempRepo();
  const forge = createLocalForge({
    repoDir: repo,
    runsDir: join(tempDir(), "runs"),
    ...(runGitWith ? { runGit: runGitWith } : {}),
  });
  return { repo, forge };
}

function lockOf(repo: string, branch: string): string {
  return join(repo, ".git", "refs", "heads", `${branch}.lock`);
}

/** A lock as a killed `git update-ref` leaves it: the new id, written `ageMs` ago. */
async function leaveLock(repo: string, branch: string, ageMs: number): Promise<string> {
  const lock = lockOf(repo, branch);
  await mkdir(join(lock, ".."), { recursive: true });
  await writeFile(lock, `${git(repo, "rev-parse", "main")}\n`);
  const then = new Date(Date.now() - ageMs);
  await utimes(lock, then, then);
  return lock;
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (error instanceof Error) return error;
  throw new Error("expected the call to fail");
}

const commit = (forge: Forge, key: string, branch = BRANCH) =>
  forge.commit({ branch, message: `phase ${key}`, changes: [{ path: `${key}.md`, content: key }], key });

describe("local forge > ref locks left by a killed git", () => {
  it("a lock left by a real git killed with its process group mid-update is cleared, and the commit lands once", async () => {
    const { repo, forge } = setup();
    await forge.prepareBranch({ branch: BRANCH });
    // git runs the reference-transaction hook (in the work tree) in the "prepared" state while it holds
    // the ref lock:
    // killing the group there leaves the lock exactly as a kill during update-ref does.
    const hook = join(repo, ".git", "hooks", "reference-transaction");
    await writeFile(hook, '#!/bin/sh\n[ "$1" = prepared ] && { touch .git/held; sleep 30; }\nexit 0\n');
    await chmod(hook, 0o755);
    const head = git(repo, "rev-parse", BRANCH);
    const empty = git(repo, "commit-tree", "-m", "x", `${head}^{tree}`);
    const child = spawn("git", ["update-ref", `refs/heads/${BRANCH}`, empty, head], {
      cwd: repo,
      detached: true,
      stdio: "ignore",
    });
    const exited = new Promise((done) => child.once("exit", done));
    while (!existsSync(join(repo, ".git", "held"))) await new Promise((done) => setTimeout(done, 20));
    process.kill(-(child.pid ?? 0), "SIGKILL");
    await exited;
    await rm(hook);
    const lock = lockOf(repo, BRANCH);
    expect(existsSync(lock)).toBe(true);
    const then = new Date(Date.now() - 10_000);
    await utimes(lock, then, then);

    const result = await commit(forge, "research");

    expect(result.created).toBe(true);
    expect(git(repo, "rev-list", "--count", `main..${BRANCH}`)).toBe("1");
    expect(existsSync(lock)).toBe(false);
  });

  it("a stale lock on a run branch that does not exist yet is cleared when the branch is created", async () => {
    const { repo, forge } = setup();
    const lock = await leaveLock(repo, BRANCH, 60_000);
    const info = await forge.prepareBranch({ branch: BRANCH });
    expect(info.created).toBe(true);
    expect(git(repo, "rev-parse", BRANCH)).toBe(git(repo, "rev-parse", "main"));
    expect(existsSync(lock)).toBe(false);
  });

  it("a young lock is waited for until it turns stale, then cleared", async () => {
    const { repo, forge } = setup();
    await forge.prepareBranch({ branch: BRANCH });
    const lock = await leaveLock(repo, BRANCH, 1_700);
    const started = Date.now();
    await commit(forge, "research");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(existsSync(lock)).toBe(false);
    expect(git(repo, "rev-list", "--count", `main..${BRANCH}`)).toBe("1");
  });

  it.each([
    ["a run branch", BRANCH],
    ["a branch the app does not own", "feature"],
  ])(
    "a young lock on %s whose git finishes is not removed by us: the update goes ahead after it",
    async (_kind, branch) => {
      let finished: Promise<void> | undefined;
      let lock = "";
      const { repo, forge } = setup((args, options) => {
        // The "other git" finishes 300 ms after this update first tries: it removes its own lock,
        // well before the lock would count as stale.
        if (args[0] === "update-ref" && lock !== "" && !finished) {
          finished = new Promise<void>((done) => setTimeout(() => rm(lock).then(() => done()), 300));
        }
        return runGit(args, options);
      });
      await forge.prepareBranch({ branch });
      lock = await leaveLock(repo, branch, 0);
      const started = Date.now();
      await commit(forge, "research", branch);
      await finished;
      expect(Date.now() - started).toBeLessThan(1_900);
      expect(git(repo, "rev-list", "--count", `main..${branch}`)).toBe("1");
    },
  );

  it("a lock on a branch the app does not own is never removed, and the error names it with git's words", async () => {
    const { repo, forge } = setup();
    git(repo, "branch", "feature");
    const lock = await leaveLock(repo, "feature", 60_000);
    const error = await failureOf(commit(forge, "research", "feature"));
    expect(error.message).toContain(lock);
    expect(error.message).toContain("File exists");
    expect(error.message).toContain("remove the file");
    expect(error.message).not.toContain("moved from");
    expect(existsSync(lock)).toBe(true);
  });

  it("a failure that is not a stale lock reports git's own error, not a branch that moved to where it was", async () => {
    const { repo, forge } = setup();
    await forge.prepareBranch({ branch: BRANCH });
    const head = git(repo, "rev-parse", BRANCH);
    // A directory where the lock goes: git cannot lock the ref, and nothing there is ours to remove.
    await mkdir(join(lockOf(repo, BRANCH), "inside"), { recursive: true });
    const error = await failureOf(commit(forge, "research"));
    expect(error.message).toMatch(
      /could not move branch "atomic-scrum\/7-trim" to commit [0-9a-f]{40}: git update-ref/,
    );
    expect(error.message).toContain(".lock");
    expect(error.message).not.toContain("moved from");
    expect(git(repo, "rev-parse", BRANCH)).toBe(head);
  });

  it("a commit whose update an earlier attempt's git finished late returns that commit instead of failing", async () => {
    let late: (() => Promise<unknown>) | undefined;
    const { repo, forge } = setup((args, options) => {
      // Just before this attempt moves the branch, the killed attempt's git lands the same key.
      if (args[0] === "update-ref" && late) {
        const land = late;
        late = undefined;
        return land().then(() => runGit(args, options));
      }
      return runGit(args, options);
    });
    await forge.prepareBranch({ branch: BRANCH });
    const other = createLocalForge({ repoDir: repo, runsDir: join(tempDir(), "runs") });
    late = () => commit(other, "research");
    const result = await commit(forge, "research");
    expect(result.created).toBe(false);
    expect(git(repo, "rev-parse", BRANCH)).toBe(result.sha);
    expect(git(repo, "rev-list", "--count", `main..${BRANCH}`)).toBe("1");
  });
});

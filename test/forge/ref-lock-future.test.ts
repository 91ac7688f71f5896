import { existsSync } from "node:fs";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLocalForge } from "../../src/forge/local/local-forge.js";
import { git, tempDir, tempRepo } from "../helpers/temp.js";

// A lock's age is read from its mtime. A lock left by a killed git whose mtime is ahead of our
// clock (the clock set back after the crash, a file system on another host) stayed "young" until
// the clock caught up: the commit waited that long, silently, holding its job. A lock we have
// watched for the stale time is stale whatever its mtime says.

const BRANCH = "atomic-scrum/7-trim";

describe("local forge > a ref lock dated in the future", () => {
  it("is cleared after the stale time of our own waiting, and the commit lands once", async () => {
    const repo = tempRepo();
    const forge = createLocalForge({ repoDir: repo, runsDir: join(tempDir(), "runs") });
    await forge.prepareBranch({ branch: BRANCH });
    const lock = join(repo, ".git", "refs", "heads", `${BRANCH}.lock`);
    await mkdir(join(lock, ".."), { recursive: true });
    await writeFile(lock, `${git(repo, "rev-parse", "main")}\n`);
    const future = new Date(Date.now() + 3_600_000);
    await utimes(lock, future, future);
    const started = Date.now();
    await forge.commit({
      branch: BRANCH,
      message: "phase research",
      changes: [{ path: "r.md", content: "r" }],
      key: "research",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(existsSync(lock)).toBe(false);
    expect(git(repo, "rev-list", "--count", `main..${BRANCH}`)).toBe("1");
  }, 8_000);
});

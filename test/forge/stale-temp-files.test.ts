import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runGit } from "../../src/forge/local/git.js";
import { createLocalForge } from "../../src/forge/local/local-forge.js";
import { removeStaleTempFiles } from "../../src/forge/local/remove-stale-temp.js";
import { indexDirOwner, ownerTag, tempFileFor, tempFileOwner } from "../../src/forge/local/temp-names.js";
import { createLocalApp, stateDir } from "../../src/local/local-app.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { tempDir, tempRepo } from "../helpers/temp.js";

// Issue 11, class 11: kills left `atomic-scrum-index-*` folders in TMPDIR and `.tmp` files in a
// run's folder. Each start removes those whose owner is gone, and nothing a live process writes.

const UUID = "0f8fad5b-d9cb-469f-a165-70867728950e";

/** A pid that was a process of ours a moment ago and is not any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (child.pid === undefined) throw new Error("could not start a process");
  return child.pid;
}

function touch(path: string, ageMs = 0, dir = false): string {
  mkdirSync(dir ? path : dirname(path), { recursive: true });
  if (!dir) writeFileSync(path, "partial");
  else writeFileSync(join(path, "index"), "partial index");
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
  return path;
}

function layout() {
  const root = tempDir();
  const tmp = join(root, "tmp");
  const runsDir = join(root, "runs");
  const runDir = join(runsDir, "run-7-abc123");
  mkdirSync(join(runDir, "comments"), { recursive: true });
  mkdirSync(tmp, { recursive: true });
  return { tmp, runsDir, runDir };
}

describe("stale temp files", () => {
  it("removes an index folder, a status temp file and a comment temp file of a dead process on this host", () => {
    const { tmp, runsDir, runDir } = layout();
    const dead = ownerTag(hostname(), deadPid());
    const left = [
      touch(join(tmp, `atomic-scrum-index-${dead}-Ab12Cd`), 0, true),
      touch(join(runDir, `.status.md.${dead}.${UUID}.tmp`)),
      touch(join(runDir, `.checks.json.${dead}.${UUID}.tmp`)),
      touch(join(runDir, "comments", `.research.md.${dead}.${UUID}.tmp`)),
    ];
    const removed = removeStaleTempFiles({ runsDir, tmpDir: tmp });
    expect(removed.sort()).toEqual([...left].sort());
    for (const path of left) expect(existsSync(path)).toBe(false);
  });

  it("keeps the files of live processes: this one and its parent", () => {
    const { tmp, runsDir, runDir } = layout();
    const kept = [process.pid, process.ppid].flatMap((pid) => {
      const tag = ownerTag(hostname(), pid);
      return [
        touch(join(tmp, `atomic-scrum-index-${tag}-Xy98Zw`), 3 * 3_600_000, true),
        touch(join(runDir, "comments", `.plan.md.${tag}.${UUID}.tmp`), 3 * 3_600_000),
      ];
    });
    expect(removeStaleTempFiles({ runsDir, tmpDir: tmp })).toEqual([]);
    for (const path of kept) expect(existsSync(path)).toBe(true);
  });

  it("keeps another host's files while young, and removes them once an hour old", () => {
    const { tmp, runsDir, runDir } = layout();
    const elsewhere = ownerTag("another-host", deadPid());
    const young = touch(join(runDir, `.labels.txt.${elsewhere}.${UUID}.tmp`), 60_000);
    const old = touch(join(tmp, `atomic-scrum-index-${elsewhere}-Qw12Er`), 2 * 3_600_000, true);
    expect(removeStaleTempFiles({ runsDir, tmpDir: tmp })).toEqual([old]);
    expect(existsSync(young)).toBe(true);
  });

  it("removes temp files named before owners were in names only once an hour old", () => {
    const { tmp, runsDir, runDir } = layout();
    const young = [
      touch(join(tmp, "atomic-scrum-index-Ab12Cd"), 60_000, true),
      touch(join(runDir, `.status.md.${UUID}.tmp`), 60_000),
    ];
    const old = [
      touch(join(tmp, "atomic-scrum-index-Zz99Yy"), 2 * 3_600_000, true),
      touch(join(runDir, "comments", `.review.md.${UUID}.tmp`), 2 * 3_600_000),
    ];
    expect(removeStaleTempFiles({ runsDir, tmpDir: tmp }).sort()).toEqual([...old].sort());
    for (const path of young) expect(existsSync(path)).toBe(true);
  });

  it("never touches files that only look alike: other temp folders, comments, other .tmp names", () => {
    const { tmp, runsDir, runDir } = layout();
    const dead = ownerTag(hostname(), deadPid());
    const ancient = 48 * 3_600_000;
    const others = [
      touch(join(tmp, "atomic-scrum-test-Ab12Cd"), ancient, true),
      touch(join(tmp, `atomic-scrum-index-${dead}-Ab12Cd.txt`), ancient),
      touch(join(runDir, "status.md"), ancient),
      touch(join(runDir, "comments", "research.md"), ancient),
      touch(join(runDir, "notes.tmp"), ancient),
      touch(join(runDir, `.status.md.${dead}.not-a-uuid.tmp`), ancient),
      touch(join(runDir, "comments", "deeper", `.x.md.${dead}.${UUID}.tmp`), ancient),
    ];
    expect(removeStaleTempFiles({ runsDir, tmpDir: tmp })).toEqual([]);
    for (const path of others) expect(existsSync(path)).toBe(true);
  });

  it("starting the local app clears a dead process's leftovers from its run folders and TMPDIR", () => {
    const repo = tempRepo();
    const dead = ownerTag(hostname(), deadPid());
    const runDir = join(stateDir(repo), "runs", "run-7-abc123");
    const comment = touch(join(runDir, "comments", `.research.md.${dead}.${UUID}.tmp`));
    const index = touch(join(tmpdir(), `atomic-scrum-index-${dead}-St4rtU`), 0, true);
    const app = createLocalApp({ repoDir: repo, providerFor: () => createSimulatedProvider() });
    app.close();
    expect(existsSync(comment)).toBe(false);
    expect(existsSync(index)).toBe(false);
  });

  it("the forge names its temporary index folder and its atomic writes' temp files for this process", async () => {
    const repo = tempRepo();
    const runsDir = join(tempDir(), "runs");
    const indexDirs: string[] = [];
    const forge = createLocalForge({
      repoDir: repo,
      runsDir,
      runGit: (args, options) => {
        if (options.env?.GIT_INDEX_FILE) indexDirs.push(basename(dirname(options.env.GIT_INDEX_FILE)));
        return runGit(args, options);
      },
    });
    await forge.prepareBranch({ branch: "atomic-scrum/7-trim" });
    await forge.commit({ branch: "atomic-scrum/7-trim", message: "m", changes: [], key: "k" });
    expect(indexDirs.length).toBeGreaterThan(0);
    for (const name of indexDirs)
      expect(indexDirOwner(name)).toEqual(expect.objectContaining({ pid: process.pid }));
    // The temp file is gone once the write is done; its name is what a kill would leave.
    const temp = basename(tempFileFor(join(runsDir, "status.md")));
    expect(tempFileOwner(temp)?.owner).toEqual(expect.objectContaining({ pid: process.pid }));
  });
});

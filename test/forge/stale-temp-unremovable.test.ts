import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { removeStaleTempFiles } from "../../src/forge/local/remove-stale-temp.js";
import { ownerTag } from "../../src/forge/local/temp-names.js";
import { tempDir } from "../helpers/temp.js";

// TMPDIR is shared by every user of the host, with the sticky bit: another user's index folder,
// left by their killed run, cannot be removed by us (EACCES/EPERM). The tests run as root, where
// no permission refuses, so rmSync is made to refuse for that one folder.
const refused = new Set<string>();
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  return {
    ...fs,
    rmSync: (path: string, options?: import("node:fs").RmOptions) => {
      if (refused.has(path))
        throw Object.assign(new Error(`EACCES: permission denied, rm '${path}'`), { code: "EACCES" });
      return fs.rmSync(path, options);
    },
  };
});

function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (child.pid === undefined) throw new Error("could not start a process");
  return child.pid;
}

describe("stale temp files > one that cannot be removed", () => {
  it("is skipped and reported, and the others are still removed: start-up does not fail", () => {
    const root = tempDir();
    const tmp = join(root, "tmp");
    const runsDir = join(root, "runs");
    const dead = ownerTag(hostname(), deadPid());
    const theirs = join(tmp, `atomic-scrum-index-${dead}-Ab12Cd`);
    const ours = join(tmp, `atomic-scrum-index-${dead}-Xy34Zw`);
    for (const dir of [theirs, ours]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "index"), "partial index");
    }
    refused.add(theirs);
    const warnings: string[] = [];
    const removed = removeStaleTempFiles({ runsDir, tmpDir: tmp, warn: (text) => warnings.push(text) });
    expect(removed).toEqual([ours]);
    expect(existsSync(ours)).toBe(false);
    expect(existsSync(theirs)).toBe(true);
    expect(warnings).toEqual([
      `could not remove the stale temporary ${theirs}: EACCES: permission denied, rm '${theirs}'`,
    ]);
  });
});

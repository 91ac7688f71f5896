import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli as cli } from "../helpers/cli.js";
import { git, tempDir, tempFile } from "../helpers/temp.js";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * This repository as a user's checkout of it: its tracked files as they are in the working tree
 * (so the test sees uncommitted edits too), committed on `main` in a temp repository. Copying
 * beats cloning: a clone would test the last commit, not the files under test.
 */
function ownRepoCopy(): string {
  const repo = join(tempDir(), "atomic-scrum");
  const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    .filter((path) => path !== "");
  for (const path of tracked) {
    const from = join(ROOT, path);
    // Deleted in the working tree, or a symlink (none are tracked today): not part of the copy.
    if (!existsSync(from) || lstatSync(from).isSymbolicLink()) continue;
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    copyFileSync(from, join(repo, path));
  }
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", ".");
  git(repo, "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "copy");
  return repo;
}

describe("atomic-scrum run --dry-run on this repository's own checkout (issue 12, must-show 4)", () => {
  it("exits 0 with the coding pipeline, leaving out the docs that quote its rubrics", async () => {
    const repo = ownRepoCopy();
    const issue = tempFile(
      "issue.md",
      "---\nnumber: 12\n---\n# Add a --json flag to status\n\n`atomic-scrum status --json` should print the runs as JSON.\n",
    );
    const result = await cli(
      "run",
      join(repo, "pipelines/coding.yml"),
      "--issue",
      issue,
      "--repo",
      repo,
      "--dry-run",
    );
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      /^ {2}requirements: left out for holdout: (.+, )?docs\/pipelines\.md \(contains the rubric of /m,
    );
    expect(result.out).toContain("no rubric shows through a prompt");
    // A dry run creates no run: no database appears in the copy.
    expect(existsSync(join(repo, ".git", "atomic-scrum", "atomic-scrum.db"))).toBe(false);
  });
});

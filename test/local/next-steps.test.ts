import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nextSteps, shellWord } from "../../src/local/next-steps.js";
import { bundleCli } from "../helpers/bundled-cli.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { git, tempDir, tempFile } from "../helpers/temp.js";

// Issue 12, item 7: every command a local run prints works where it is pasted: it names --repo
// when the repository is not the current directory and --db when the database is not the default.

const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

/** A git repository at a path with a space and a quote in it, as a home folder can have. */
function awkwardRepo(): string {
  const repo = join(tempDir(), "it's my repo");
  mkdirSync(repo, { recursive: true });
  execFileSync("sh", ["-c", "echo '# sample' > README.md"], { cwd: repo });
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", ".");
  git(repo, "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "initial");
  return repo;
}

/** The words a POSIX shell makes of a pasted command line. */
function shellWords(line: string): string[] {
  const out = execFileSync("sh", ["-c", `for w in ${line}; do printf '%s\\0' "$w"; done`], {
    encoding: "utf8",
  });
  return out.split("\0").slice(0, -1);
}

describe("printed next steps", () => {
  it("quote a word only when a shell would split or expand it", () => {
    expect(shellWord("/tmp/plain/repo")).toBe("/tmp/plain/repo");
    expect(shellWord("/tmp/it's my repo")).toBe("'/tmp/it'\\''s my repo'");
    expect(shellWord("$HOME")).toBe("'$HOME'");
    expect(shellWords(shellWord("/tmp/it's my $repo"))).toEqual(["/tmp/it's my $repo"]);
  });

  it("name --repo only when the repository is not the current directory, and --db only when given", () => {
    expect(nextSteps({ repoDir: "/r", cwd: "/r" }).command("resume", "run-1-abc")).toBe(
      "atomic-scrum resume run-1-abc",
    );
    expect(nextSteps({ repoDir: "/r", cwd: "/elsewhere", dbPath: "/d b.db" }).command("resume", "x")).toBe(
      "atomic-scrum resume x --repo /r --db '/d b.db'",
    );
  });

  it("the approve a run prints, pasted in another directory, approves it (with --db and a path with spaces)", async () => {
    const repo = awkwardRepo();
    const db = join(tempDir(), "state dir", "runs.db");
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, "--db", db);
    expect(first.code).toBe(0);
    const line = /then: (atomic-scrum approve .*)$/m.exec(first.out)?.[1];
    expect(line).toBeDefined();
    expect(line).toContain(`--repo ${shellWord(repo)} --db ${shellWord(db)}`);
    const [name, ...args] = shellWords(line ?? "");
    expect(name).toBe("atomic-scrum");
    process.chdir(tempDir());
    const approved = await cli(...args);
    expect(approved.err).toBe("");
    expect(approved.code).toBe(0);
    expect(approved.out).toContain("succeeded");
  });

  it("in the repository itself, the printed commands stay short", async () => {
    const repo = awkwardRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    process.chdir(repo);
    const first = await cli("run", pipeline, "--issue", issueFile());
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/then: atomic-scrum approve run-7-[0-9a-f]{6}$/m);
  });

  it("a run id the database does not hold leaves no database behind, and says where else to look", async () => {
    const repo = awkwardRepo();
    const state = join(repo, ".git", "atomic-scrum");
    for (const args of [
      ["approve", "run-7-abcdef"],
      ["resume", "run-7-abcdef"],
      ["status", "run-7-abcdef"],
      ["status"],
    ]) {
      const result = await cli(...args, "--repo", repo);
      if (args.length === 1) {
        expect(result.out).toBe(`no runs yet in ${join(state, "atomic-scrum.db")}`);
      } else {
        expect(result.code).toBe(1);
        expect(result.err).toContain(
          `no run run-7-abcdef in ${join(state, "atomic-scrum.db")}; did you mean --repo DIR (the repository the run was started in) or --db FILE?`,
        );
      }
      expect(existsSync(state)).toBe(false);
    }
  });

  it("a --db that does not exist is not created by any command about runs, `status` included", async () => {
    const repo = awkwardRepo();
    const db = join(tempDir(), "typo", "runs.db");
    for (const args of [
      ["status"],
      ["status", "run-7-abcdef"],
      ["resume", "run-7-abcdef"],
      ["cancel", "run-7-abcdef"],
    ]) {
      const result = await cli(...args, "--repo", repo, "--db", db);
      if (args.length === 1) expect(result.out).toBe(`no runs yet in ${db}`);
      else expect(result.code).toBe(1);
      expect(existsSync(db), args.join(" ")).toBe(false);
    }
  });

  it("outside a git repository, one line that says to name the repository, without git's own complaint", async () => {
    const dir = tempDir();
    const cli = await bundleCli(tempDir());
    for (const args of [["status"], ["status", "run-7-abcdef"], ["resume", "run-7-abcdef"]]) {
      let stderr = "";
      try {
        execFileSync(process.execPath, [cli, ...args], { cwd: dir, stdio: "pipe" });
      } catch (error) {
        stderr = String((error as { stderr: Buffer }).stderr);
      }
      expect(stderr.trim().split("\n"), args.join(" ")).toEqual([
        `atomic-scrum: ${dir} is not a git repository: pass --repo DIR, the repository the runs are in`,
      ]);
    }
  });
});

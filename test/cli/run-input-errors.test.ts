import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { issueFile, runCli } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { git, tempDir, tempFile, tempRepo } from "../helpers/temp.js";

/**
 * Issue 11, class 16: a bad `--fixtures` file or `--db` path is found before a run, its branch or
 * its database exist, and said in one line naming the path, without a stack trace.
 */

async function run(repo: string, ...extra: string[]) {
  return runCli("run", tempFile("p.yml", SMALL_PIPELINE), "--issue", issueFile(), "--repo", repo, ...extra);
}

/** Nothing a run leaves behind: no branch besides main, no database in the repository. */
function expectNothingStarted(repo: string) {
  expect(git(repo, "branch", "--format=%(refname:short)")).toBe("main");
  expect(existsSync(join(repo, ".git", "atomic-scrum", "atomic-scrum.db"))).toBe(false);
}

describe("atomic-scrum run --provider recorded with a fixtures file that cannot be used", () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    [
      "an alias with no anchor",
      (dir) => write(join(dir, "f.yml"), "research:\n  - agent: *nope\n"),
      /f\.yml:2:12: research\[0\]\.agent: alias \*nope names no anchor/,
    ],
    [
      "a wrong shape",
      (dir) => write(join(dir, "f.yml"), "research:\n  - agent: 5\n    judges: {}\n"),
      /f\.yml:3:5: research\[0\]\.judges: unknown field "judges" \(did you mean "judge"\?\)/,
    ],
    ["a missing file", (dir) => join(dir, "missing.yml"), /missing\.yml:1:1: cannot read: no such file/],
    ["a directory", (dir) => dir, /:1:1: cannot read: it is a directory, not a file/],
    [
      "JSON that is not valid",
      (dir) => write(join(dir, "f.json"), '{"research": [{"agent": "x"}'),
      /f\.json:1:\d+: YAML syntax error: /,
    ],
  ];
  for (const [what, make, expected] of cases) {
    it(`${what}: refused before a run or a branch exists`, async () => {
      const repo = tempRepo();
      const fixtures = make(tempDir());
      const result = await run(repo, "--provider", "recorded", "--fixtures", fixtures);
      expect(result.code).toBe(1);
      expect(result.out).toBe("");
      const [head, ...problems] = result.err.split("\n");
      expect(head).toMatch(
        /^atomic-scrum: this run cannot start: \d+ problem\(s\), and nothing was created \(no run, no branch\):$/,
      );
      expect(problems.join("\n")).toMatch(/^ {2}- the fixtures file: /);
      expect(problems.join("\n")).toMatch(expected);
      expect(result.err).not.toMatch(/^\s+at /m);
      expectNothingStarted(repo);
    });
  }
});

describe("atomic-scrum with a --db that cannot be the store", () => {
  const cases: [string, (dir: string) => string, string][] = [
    [
      "a directory",
      (dir) => dir,
      "it is a directory: give the path of a database file (it is created if missing)",
    ],
    [
      "a text file",
      (dir) => write(join(dir, "notes.md"), `# Notes\n\n${"Not a database at all. ".repeat(20)}\n`),
      "it is not a SQLite database (left untouched): give the path of an atomic-scrum database, or of a new file",
    ],
    [
      "a path under a file",
      (dir) => join(write(join(dir, "file"), "x"), "app.db"),
      "a part of its folder path is a file, not a folder: check the path",
    ],
  ];
  for (const [what, make, reason] of cases) {
    it(`${what}: one line naming the path, for run and status`, async () => {
      const repo = tempRepo();
      const db = make(tempDir());
      for (const result of [
        await run(repo, "--db", db),
        await runCli("status", "--repo", repo, "--db", db),
      ]) {
        expect(result.code).toBe(1);
        expect(result.err).toBe(`atomic-scrum: cannot open the database ${db}: ${reason}`);
      }
      expect(git(repo, "branch", "--format=%(refname:short)")).toBe("main");
    });
  }

  it("a text file is left as it was", async () => {
    const db = write(
      join(tempDir(), "notes.md"),
      "# Notes\n\nplain text, and more plain text to fill a page.\n",
    );
    await runCli("status", "--repo", tempRepo(), "--db", db);
    expect(readFileSync(db, "utf8")).toBe("# Notes\n\nplain text, and more plain text to fill a page.\n");
  });

  it("a newer schema: says to upgrade, naming the path", async () => {
    const db = join(tempDir(), "new.db");
    const raw = new BetterSqlite3(db);
    raw.pragma("user_version = 99");
    raw.close();
    const result = await runCli("status", "--repo", tempRepo(), "--db", db);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      new RegExp(`^atomic-scrum: ${db} has schema version 99, but .* Upgrade atomic-scrum`),
    );
    expect(result.err.split("\n")).toHaveLength(1);
  });

  it("a directory given to a dry run: the same line", async () => {
    const repo = tempRepo();
    const db = tempDir();
    mkdirSync(join(db, "sub"));
    const result = await run(repo, "--dry-run", "--db", db);
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `atomic-scrum: cannot open the database ${db}: it is a directory: give the path of a database file (it is created if missing)`,
    );
  });
});

function write(path: string, content: string): string {
  writeFileSync(path, content);
  return path;
}

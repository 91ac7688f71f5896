import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Forge, ForgeRefusal } from "../../src/forge/forge.js";
import { type RunGit, runGit } from "../../src/forge/local/git.js";
import { createLocalForge, type LocalForgeOptions } from "../../src/forge/local/local-forge.js";

const execFileAsync = promisify(execFile);

/** Runs git in `cwd` the way a user would, for setting up and inspecting the fixture. */
async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await execFileAsync("git", args, { cwd, encoding: "utf8" })).stdout;
}

async function gitLine(cwd: string, ...args: string[]): Promise<string> {
  return (await git(cwd, ...args)).trim();
}

const roots: string[] = [];

async function tempDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "atomic-scrum-forge-test-"));
  roots.push(root);
  return root;
}

afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

const FIXTURE: Record<string, string | Buffer> = {
  "README.md": "# Demo\n",
  "src/app.ts": "export const app = 1;\n",
  "src/util.ts": "export const util = 2;\n",
  "src/deep/more.ts": "export const more = 3;\n",
  "docs/guide.md": "A guide.\n",
  ".github/CODEOWNERS": "* @demo\n",
  ".hidden/notes.md": "hidden notes\n",
  "assets/logo.png": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]),
  "bin/run.sh": "#!/bin/sh\necho run\n",
};

interface Fixture {
  repo: string;
  runsDir: string;
  /** A directory next to the repository that a symlink in it points to. */
  outside: string;
  initial: string;
}

/**
 * A real repository on `main` with one commit, symlinks to a directory inside and outside it, and
 * uncommitted work (a modified file, a staged file, an untracked file) that the forge must not touch.
 */
async function makeRepo(): Promise<Fixture> {
  const root = await tempDir();
  const repo = join(root, "repo");
  const outside = join(root, "outside");
  await mkdir(outside);
  await mkdir(repo);
  await git(repo, "init", "-q", "-b", "main");
  await git(repo, "config", "user.name", "Fixture User");
  await git(repo, "config", "user.email", "fixture@example.com");
  await git(repo, "config", "commit.gpgsign", "false");
  for (const [path, content] of Object.entries(FIXTURE)) {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), content);
  }
  await chmod(join(repo, "bin/run.sh"), 0o755);
  await symlink("../outside", join(repo, "escape"));
  await symlink("docs", join(repo, "linked"));
  await git(repo, "add", "-A");
  await git(repo, "commit", "-q", "-m", "initial");
  await writeFile(join(repo, "README.md"), "# Demo, edited but not committed\n");
  await writeFile(join(repo, "staged.txt"), "staged\n");
  await git(repo, "add", "staged.txt");
  await writeFile(join(repo, "untracked.txt"), "untracked\n");
  return { repo, runsDir: join(root, "runs"), outside, initial: await gitLine(repo, "rev-parse", "HEAD") };
}

/** Everything about the user's checkout that the forge promises to leave alone. */
async function checkoutState(repo: string) {
  return {
    head: await gitLine(repo, "symbolic-ref", "HEAD"),
    headCommit: await gitLine(repo, "rev-parse", "HEAD"),
    // --no-optional-locks: status must not refresh the index it is observing.
    status: await git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"),
    staged: await git(repo, "--no-optional-locks", "diff", "--cached"),
    unstaged: await git(repo, "--no-optional-locks", "diff"),
    readme: await readFile(join(repo, "README.md"), "utf8"),
  };
}

async function commitCount(repo: string, range: string): Promise<number> {
  return Number(await gitLine(repo, "rev-list", "--count", range));
}

async function refusalOf(promise: Promise<unknown>): Promise<ForgeRefusal> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (error instanceof ForgeRefusal) return error;
  throw new Error(`expected a ForgeRefusal, got ${String(error)}`);
}

let fixture: Fixture;
let forge: Forge;

function forgeWith(options: Partial<LocalForgeOptions> = {}): Forge {
  return createLocalForge({ repoDir: fixture.repo, runsDir: fixture.runsDir, ...options });
}

beforeEach(async () => {
  fixture = await makeRepo();
  forge = forgeWith();
});

describe("local forge > prepareBranch", () => {
  it("creates the branch at main's head and leaves main and the checkout as they were", async () => {
    const before = await checkoutState(fixture.repo);
    const info = await forge.prepareBranch({ branch: "atomic/run-1" });
    expect(info).toEqual({ branch: "atomic/run-1", base: "main", head: fixture.initial, created: true });
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/atomic/run-1")).toBe(fixture.initial);
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/main")).toBe(fixture.initial);
    expect(await checkoutState(fixture.repo)).toEqual(before);
  });

  it("returns the existing branch and its current head with created false", async () => {
    await forge.prepareBranch({ branch: "run-1" });
    const { sha } = await forge.commit({ branch: "run-1", message: "work", changes: [], key: "k1" });
    const again = await forge.prepareBranch({ branch: "run-1" });
    expect(again).toEqual({ branch: "run-1", base: "main", head: sha, created: false });
  });

  it("does not overwrite a branch someone else creates at the same moment", async () => {
    let theirs = "";
    const racing: RunGit = async (args, options) => {
      if (args[0] === "update-ref" && theirs === "") {
        theirs = await emptyCommitOn(fixture.repo, "main");
        await git(fixture.repo, "update-ref", "refs/heads/run-1", theirs);
      }
      return runGit(args, options);
    };
    const info = await forgeWith({ runGit: racing }).prepareBranch({ branch: "run-1" });
    expect(info).toEqual({ branch: "run-1", base: "main", head: theirs, created: false });
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/run-1")).toBe(theirs);
  });

  it("branches from a named base", async () => {
    await git(fixture.repo, "branch", "release", fixture.initial);
    await git(fixture.repo, "update-ref", "refs/heads/release", await emptyCommitOn(fixture.repo, "release"));
    const release = await gitLine(fixture.repo, "rev-parse", "release");
    const info = await forge.prepareBranch({ branch: "run-1", base: "release" });
    expect(info).toMatchObject({ base: "release", head: release, created: true });
    expect(release).not.toBe(fixture.initial);
  });

  it.each(["bad..name", "-x", "@{-1}", "has space", "HEAD", "ends.lock"])(
    "refuses the branch name %j and creates no ref",
    async (branch) => {
      const refs = await git(fixture.repo, "for-each-ref", "refs/heads");
      const error = await refusalOf(forge.prepareBranch({ branch }));
      expect(error.message).toContain(JSON.stringify(branch));
      expect(await git(fixture.repo, "for-each-ref", "refs/heads")).toBe(refs);
    },
  );

  it("refuses the branch that is checked out, which moving would make the checkout look reverted", async () => {
    const error = await refusalOf(forge.prepareBranch({ branch: "main" }));
    expect(error.message).toMatch(/checked out/);
  });

  it("refuses a base that does not exist", async () => {
    const error = await refusalOf(forge.prepareBranch({ branch: "run-1", base: "nope" }));
    expect(error.message).toMatch(/"nope"/);
  });

  it("works on repoDir even when the process inherits GIT_DIR, as under a git hook", async () => {
    const inherited = process.env.GIT_DIR;
    process.env.GIT_DIR = join(fixture.outside, "not-a-repository");
    try {
      expect(await forge.prepareBranch({ branch: "run-1" })).toMatchObject({
        head: fixture.initial,
        created: true,
      });
    } finally {
      if (inherited === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = inherited;
    }
  });

  it("refuses a repository with no commits, saying so", async () => {
    const empty = join(await tempDir(), "empty");
    await mkdir(empty);
    await git(empty, "init", "-q", "-b", "main");
    const emptyForge = createLocalForge({ repoDir: empty, runsDir: join(empty, "..", "runs") });
    const error = await refusalOf(emptyForge.prepareBranch({ branch: "run-1" }));
    expect(error.message).toMatch(/no commits/);
  });
});

/** Adds an empty commit on `branch` without checking it out, as another tool would. */
async function emptyCommitOn(repo: string, branch: string): Promise<string> {
  const tree = await gitLine(repo, "rev-parse", `${branch}^{tree}`);
  return gitLine(repo, "commit-tree", tree, "-p", branch, "-m", `moved ${branch}`);
}

describe("local forge > commit", () => {
  beforeEach(async () => {
    await forge.prepareBranch({ branch: "run-1" });
  });

  it("makes one commit with the key trailer and leaves main, HEAD, index and working tree alone", async () => {
    const before = await checkoutState(fixture.repo);
    const result = await forge.commit({
      branch: "run-1",
      message: "Add feature\n\nWhy it matters.",
      changes: [
        { path: "src/feature.ts", content: "export const feature = true;\n" },
        { path: "README.md", content: "# Demo, rewritten on the branch\n" },
      ],
      key: "run-1/phase-2",
    });
    expect(result.created).toBe(true);
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/run-1")).toBe(result.sha);
    expect(await commitCount(fixture.repo, "main..run-1")).toBe(1);
    expect(await gitLine(fixture.repo, "rev-parse", `${result.sha}^`)).toBe(fixture.initial);
    expect(await git(fixture.repo, "log", "-1", "--format=%B", result.sha)).toBe(
      "Add feature\n\nWhy it matters.\n\nAtomic-Scrum-Key: run-1/phase-2\n\n",
    );
    expect(await git(fixture.repo, "show", `${result.sha}:src/feature.ts`)).toBe(
      "export const feature = true;\n",
    );
    expect(await git(fixture.repo, "show", `${result.sha}:README.md`)).toBe(
      "# Demo, rewritten on the branch\n",
    );
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/main")).toBe(fixture.initial);
    expect(await checkoutState(fixture.repo)).toEqual(before);
  });

  it("a second call with the same key returns the same commit and creates nothing", async () => {
    const input = {
      branch: "run-1",
      message: "Once",
      changes: [{ path: "a.txt", content: "a\n" }],
      key: "k",
    };
    const first = await forge.commit(input);
    const second = await forgeWith().commit({ ...input, changes: [{ path: "a.txt", content: "changed\n" }] });
    expect(second).toEqual({ sha: first.sha, created: false });
    expect(await commitCount(fixture.repo, "main..run-1")).toBe(1);
    expect(await git(fixture.repo, "show", "run-1:a.txt")).toBe("a\n");
  });

  it("finds a key committed before later commits, and does not mistake key k for key k2", async () => {
    const first = await forge.commit({ branch: "run-1", message: "one", changes: [], key: "k" });
    const second = await forge.commit({ branch: "run-1", message: "two", changes: [], key: "k2" });
    expect(second.created).toBe(true);
    expect(await forge.commit({ branch: "run-1", message: "one", changes: [], key: "k" })).toEqual({
      sha: first.sha,
      created: false,
    });
    expect(await commitCount(fixture.repo, "main..run-1")).toBe(2);
  });

  it("makes a commit even when nothing changes, so every phase has one", async () => {
    const { sha } = await forge.commit({
      branch: "run-1",
      message: "Review only",
      changes: [],
      key: "review",
    });
    expect(await gitLine(fixture.repo, "rev-parse", `${sha}^{tree}`)).toBe(
      await gitLine(fixture.repo, "rev-parse", `${fixture.initial}^{tree}`),
    );
    expect(await commitCount(fixture.repo, "main..run-1")).toBe(1);
  });

  it("authors commits as Atomic Scrum by default, or as the configured author, not the git config user", async () => {
    const plain = await forge.commit({ branch: "run-1", message: "a", changes: [], key: "a" });
    const named = await forgeWith({ author: { name: "Bot", email: "bot@example.com" } }).commit({
      branch: "run-1",
      message: "b",
      changes: [],
      key: "b",
    });
    expect(await gitLine(fixture.repo, "log", "-1", "--format=%an <%ae> / %cn <%ce>", plain.sha)).toBe(
      "Atomic Scrum <atomic-scrum@localhost> / Atomic Scrum <atomic-scrum@localhost>",
    );
    expect(await gitLine(fixture.repo, "log", "-1", "--format=%an <%ae>", named.sha)).toBe(
      "Bot <bot@example.com>",
    );
  });

  it("joins the key to an existing trailer block", async () => {
    const message = "Fix\n\nBody.\n\nCo-authored-by: Ann <ann@example.com>";
    const { sha } = await forge.commit({ branch: "run-1", message, changes: [], key: "t" });
    expect(await git(fixture.repo, "log", "-1", "--format=%(trailers:only,unfold)", sha)).toBe(
      "Co-authored-by: Ann <ann@example.com>\nAtomic-Scrum-Key: t\n\n",
    );
  });

  it("refuses a message that carries its own key trailer, which would fake another write", async () => {
    const error = await refusalOf(
      forge.commit({ branch: "run-1", message: "x\n\natomic-scrum-key: other", changes: [], key: "k" }),
    );
    expect(error.message).toMatch(/Atomic-Scrum-Key/);
    expect(await commitCount(fixture.repo, "main..run-1")).toBe(0);
  });

  it("deletes files", async () => {
    const { sha } = await forge.commit({
      branch: "run-1",
      message: "Remove the guide",
      changes: [{ path: "docs/guide.md", delete: true }],
      key: "del",
    });
    expect(await git(fixture.repo, "ls-tree", "-r", "--name-only", sha)).not.toContain("docs/guide.md");
    expect(await git(fixture.repo, "ls-tree", "-r", "--name-only", "main")).toContain("docs/guide.md");
    expect(await git(fixture.repo, "diff", "--name-status", "main", sha)).toBe("D\tdocs/guide.md\n");
  });

  it("refuses to delete a file that is not there", async () => {
    const error = await refusalOf(
      forge.commit({ branch: "run-1", message: "x", changes: [{ path: "nope.md", delete: true }], key: "d" }),
    );
    expect(error.message).toMatch(/"nope.md".*no such file/);
  });

  it("keeps an executable file executable when it rewrites it", async () => {
    const { sha } = await forge.commit({
      branch: "run-1",
      message: "Edit script",
      changes: [{ path: "bin/run.sh", content: "#!/bin/sh\necho edited\n" }],
      key: "x",
    });
    expect(await git(fixture.repo, "ls-tree", sha, "bin/run.sh")).toMatch(/^100755 /);
  });

  it("refuses a stale head: a branch moved by someone else between read and update is not overwritten", async () => {
    const other = forgeWith();
    let otherSha = "";
    // Another writer commits to the branch while this commit is being built.
    const racing: RunGit = async (args, options) => {
      const output = await runGit(args, options);
      if (args[0] === "commit-tree" && otherSha === "") {
        otherSha = (await other.commit({ branch: "run-1", message: "other", changes: [], key: "other" })).sha;
      }
      return output;
    };
    const commit = forgeWith({ runGit: racing }).commit({
      branch: "run-1",
      message: "mine",
      changes: [{ path: "mine.txt", content: "mine\n" }],
      key: "mine",
    });
    await expect(commit).rejects.toThrow(/branch "run-1" moved/);
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/run-1")).toBe(otherSha);
    expect(await commitCount(fixture.repo, "main..run-1")).toBe(1);
  });

  describe("refuses unsafe paths with nothing committed or written", () => {
    it.each([
      [".git/hooks/pre-commit", /\.git directory/],
      ["src/../.git/config", /\.\. segment/],
      ["../outside.txt", /\.\. segment/],
      ["/tmp/absolute.txt", /absolute/],
      [".github/workflows/ci.yml", /allowWorkflows/],
    ])("%j", async (path, rule) => {
      const safeContent = `safe content written next to ${path}\n`;
      const error = await refusalOf(
        forge.commit({
          branch: "run-1",
          message: "sneaky",
          changes: [
            { path: "safe.txt", content: safeContent },
            { path, content: "evil\n" },
          ],
          key: "evil",
        }),
      );
      expect(error.message).toMatch(rule);
      expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/run-1")).toBe(fixture.initial);
      // Refused before anything was written: not even the safe file's blob is in the object store.
      expect(await blobExists(fixture.repo, await hashOf(fixture.repo, safeContent))).toBe(false);
    });

    it("writes .github/workflows/ when the forge allows workflows", async () => {
      const { sha } = await forgeWith({ allowWorkflows: true }).commit({
        branch: "run-1",
        message: "Add CI",
        changes: [{ path: ".github/workflows/ci.yml", content: "on: push\n" }],
        key: "ci",
      });
      expect(await git(fixture.repo, "show", `${sha}:.github/workflows/ci.yml`)).toBe("on: push\n");
    });
  });

  describe("refuses edits over the caps or into sensitive areas, with nothing written (issue 11, class 8)", () => {
    const EXT_GITMODULES = '[submodule "x"]\n\tpath = x\n\turl = ext::sh -c touch% /tmp/pwned\n';
    it.each([
      [
        "a 30 MB file",
        [{ path: "big.txt", content: "a".repeat(30_000_000) }],
        /30000000 bytes.*edits\.max_file_bytes/,
      ],
      [
        "3,000 small files",
        Array.from({ length: 3000 }, (_, i) => ({ path: `many/${i}.txt`, content: `${i}\n` })),
        /3001 files.*edits\.max_files/,
      ],
      [
        "six files of 1 MiB",
        Array.from({ length: 6 }, (_, i) => ({ path: `mb/${i}.txt`, content: "m".repeat(1024 * 1024) })),
        /together.*edits\.max_total_bytes/,
      ],
      [
        "a .gitmodules with an ext:: URL",
        [{ path: ".gitmodules", content: EXT_GITMODULES }],
        /\[submodules\]/,
      ],
      ["a nested .gitattributes", [{ path: "src/.gitattributes", content: "* -diff\n" }], /\[attributes\]/],
      ["a husky hook spelled in capitals", [{ path: ".HUSKY/pre-commit", content: "id\n" }], /\[hooks\]/],
      ["a name with U+2066", [{ path: "src/a\u2066.ts", content: "x\n" }], /U\+2066/],
    ])("%s", async (_, changes, rule) => {
      const safeContent = "safe content in a refused edit\n";
      const error = await refusalOf(
        forge.commit({
          branch: "run-1",
          message: "too much",
          changes: [{ path: "safe.txt", content: safeContent }, ...changes],
          key: "big",
        }),
      );
      expect(error.message).toMatch(rule);
      expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/run-1")).toBe(fixture.initial);
      expect(await blobExists(fixture.repo, await hashOf(fixture.repo, safeContent))).toBe(false);
    });

    it("commits a sensitive area and a bigger edit the run's policy allows", async () => {
      const { sha } = await forge.commit({
        branch: "run-1",
        message: "Add a submodule",
        changes: [
          { path: ".gitmodules", content: '[submodule "x"]\n\tpath = x\n\turl = https://example.com/x\n' },
          { path: "big.txt", content: "b".repeat(2 * 1024 * 1024) },
        ],
        key: "allowed",
        edits: {
          allow: ["submodules"],
          maxFileBytes: 3 * 1024 * 1024,
          maxFiles: 100,
          maxTotalBytes: 5 * 1024 * 1024,
        },
      });
      expect(await git(fixture.repo, "show", `${sha}:.gitmodules`)).toContain("https://example.com/x");
      expect((await git(fixture.repo, "cat-file", "-s", `${sha}:big.txt`)).trim()).toBe(
        String(2 * 1024 * 1024),
      );
    });

    it("still refuses an area the policy does not name", async () => {
      const error = await refusalOf(
        forge.commit({
          branch: "run-1",
          message: "x",
          changes: [{ path: ".husky/pre-commit", content: "id\n" }],
          key: "other",
          edits: { allow: ["submodules"], maxFileBytes: 1024, maxFiles: 1, maxTotalBytes: 1024 },
        }),
      );
      expect(error.message).toMatch(/\[hooks\]/);
    });
  });

  describe("refuses to write through a symlinked directory", () => {
    it.each(["escape/evil.txt", "linked/evil.md", "linked/sub/evil.md"])("%j", async (path) => {
      const error = await refusalOf(
        forge.commit({ branch: "run-1", message: "x", changes: [{ path, content: "evil\n" }], key: "s" }),
      );
      expect(error.message).toMatch(/is a symlink/);
      expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/run-1")).toBe(fixture.initial);
      expect(await readdir(fixture.outside)).toEqual([]);
    });
  });

  it("refuses to commit to the checked-out branch", async () => {
    const error = await refusalOf(forge.commit({ branch: "main", message: "x", changes: [], key: "m" }));
    expect(error.message).toMatch(/checked out/);
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/main")).toBe(fixture.initial);
  });

  it("refuses a branch checked out in another worktree", async () => {
    const worktree = join(await tempDir(), "wt");
    await git(fixture.repo, "worktree", "add", "-q", "-b", "feature", worktree);
    const error = await refusalOf(forge.commit({ branch: "feature", message: "x", changes: [], key: "w" }));
    expect(error.message).toMatch(/"feature".*checked out/);
    expect(await gitLine(fixture.repo, "rev-parse", "refs/heads/feature")).toBe(fixture.initial);
  });

  it("refuses a branch that was never prepared", async () => {
    const error = await refusalOf(forge.commit({ branch: "run-2", message: "x", changes: [], key: "m" }));
    expect(error.message).toMatch(/does not exist/);
  });
});

async function hashOf(repo: string, content: string): Promise<string> {
  const child = execFileAsync("git", ["hash-object", "--stdin", "--no-filters"], {
    cwd: repo,
    encoding: "utf8",
  });
  child.child.stdin?.end(content);
  return (await child).stdout.trim();
}

async function blobExists(repo: string, object: string): Promise<boolean> {
  return git(repo, "cat-file", "-e", object).then(
    () => true,
    () => false,
  );
}

describe("local forge > readContext", () => {
  beforeEach(async () => {
    await forge.prepareBranch({ branch: "run-1" });
  });

  const read = (globs: string[], maxFiles = 100, maxBytes = 100_000) =>
    forge.readContext({ branch: "run-1", globs, maxFiles, maxBytes });

  it("returns the files matching any glob, sorted by path", async () => {
    const context = await read(["src/**/*.ts", "README.md"]);
    expect(context.files).toEqual([
      { path: "README.md", content: "# Demo\n" },
      { path: "src/app.ts", content: "export const app = 1;\n" },
      { path: "src/deep/more.ts", content: "export const more = 3;\n" },
      { path: "src/util.ts", content: "export const util = 2;\n" },
    ]);
    expect(context.omitted).toEqual([]);
  });

  it("matches dot files only when the glob names the dot", async () => {
    const broad = await read(["**/*.md", "**/CODEOWNERS"]);
    expect(broad.files.map((file) => file.path)).toEqual(["README.md", "docs/guide.md"]);
    const named = await read([".hidden/*.md", ".github/**"]);
    expect(named.files.map((file) => file.path)).toEqual([".github/CODEOWNERS", ".hidden/notes.md"]);
  });

  it("reads the branch head, not the working tree", async () => {
    await forge.commit({
      branch: "run-1",
      message: "x",
      changes: [{ path: "src/new.ts", content: "new\n" }],
      key: "x",
    });
    const context = await read(["README.md", "src/new.ts", "untracked.txt", "staged.txt"]);
    expect(context.files).toEqual([
      { path: "README.md", content: "# Demo\n" },
      { path: "src/new.ts", content: "new\n" },
    ]);
  });

  it("stops at maxFiles and reports every file it left out", async () => {
    const context = await read(["src/**/*.ts"], 2);
    expect(context.files.map((file) => file.path)).toEqual(["src/app.ts", "src/deep/more.ts"]);
    expect(context.omitted).toEqual([{ path: "src/util.ts", reason: "maxFiles reached (2 files)" }]);
  });

  it("keeps within maxBytes, skipping a file that does not fit and taking a later one that does", async () => {
    await forge.commit({
      branch: "run-1",
      message: "big",
      changes: [{ path: "src/big.ts", content: "x".repeat(50) }],
      key: "big",
    });
    // app.ts (22 bytes), big.ts (50), deep/more.ts (23), util.ts (23) with 70 bytes allowed.
    const context = await read(["src/**/*.ts"], 100, 70);
    expect(context.files.map((file) => file.path)).toEqual(["src/app.ts", "src/deep/more.ts", "src/util.ts"]);
    expect(context.omitted).toEqual([
      { path: "src/big.ts", reason: "maxBytes: 50 bytes, only 48 of 70 left" },
    ]);
    const total = context.files.reduce((sum, file) => sum + Buffer.byteLength(file.content), 0);
    expect(total).toBeLessThanOrEqual(70);
  });

  it("skips binary files and symlinks and says so", async () => {
    const context = await read(["assets/**", "escape", "linked", "docs/*"]);
    expect(context.files.map((file) => file.path)).toEqual(["docs/guide.md"]);
    expect(context.omitted).toEqual([
      { path: "assets/logo.png", reason: "binary (NUL byte in the first 8000 bytes)" },
      { path: "escape", reason: "symlink" },
      { path: "linked", reason: "symlink" },
    ]);
  });

  it("does not let a skipped binary file use up maxFiles or maxBytes", async () => {
    // logo.png is 7 bytes and guide.md 9: counting the binary would leave no room for the guide.
    const context = await read(["assets/**", "docs/*"], 1, 9);
    expect(context.files.map((file) => file.path)).toEqual(["docs/guide.md"]);
  });
});

describe("local forge > comment", () => {
  const commentsDir = () => join(fixture.runsDir, "run-7", "comments");

  it("writes the comment once per key, with a hidden key marker", async () => {
    const first = await forge.comment({
      runId: "run-7",
      key: "c1",
      name: "03-code-review",
      body: "Looks good.\n",
    });
    const file = join(commentsDir(), "03-code-review.md");
    expect(first).toEqual({ id: file, created: true });
    expect(await readFile(file, "utf8")).toBe("<!-- atomic-scrum:key=c1 -->\nLooks good.\n");
    const again = await forge.comment({
      runId: "run-7",
      key: "c1",
      name: "03-code-review",
      body: "Other.\n",
    });
    expect(again).toEqual({ id: file, created: false });
    expect(await readFile(file, "utf8")).toBe("<!-- atomic-scrum:key=c1 -->\nLooks good.\n");
    expect(await readdir(commentsDir())).toEqual(["03-code-review.md"]);
  });

  it("finds an earlier comment again from a fresh forge, as after a restart", async () => {
    const first = await forge.comment({ runId: "run-7", key: "c1", name: "plan", body: "Plan.\n" });
    const restarted = forgeWith();
    expect(await restarted.comment({ runId: "run-7", key: "c1", name: "plan", body: "Plan.\n" })).toEqual({
      id: first.id,
      created: false,
    });
    expect(await readdir(commentsDir())).toEqual(["plan.md"]);
  });

  it("keeps an earlier comment when a new key uses the same name", async () => {
    await forge.comment({ runId: "run-7", key: "attempt-1", name: "review", body: "First.\n" });
    const second = await forge.comment({
      runId: "run-7",
      key: "attempt-2",
      name: "review",
      body: "Second.\n",
    });
    expect(second).toEqual({ id: join(commentsDir(), "review-2.md"), created: true });
    expect(await readFile(join(commentsDir(), "review.md"), "utf8")).toContain("First.");
    const repeat = await forgeWith().comment({ runId: "run-7", key: "attempt-2", name: "review", body: "x" });
    expect(repeat).toEqual({ id: second.id, created: false });
  });

  it.each([
    ["runId", "../escape"],
    ["runId", "a/b"],
    ["runId", ".."],
    ["runId", ""],
    ["name", "../../README"],
    ["name", "."],
    ["name", "x y"],
  ])("refuses the %s %j and writes nothing", async (field, value) => {
    const input = { runId: "run-7", key: "k", name: "ok", body: "b", [field]: value };
    await refusalOf(forge.comment(input));
    await expect(readdir(fixture.runsDir)).rejects.toThrow(/ENOENT/);
  });

  it("refuses a key that could end the hidden marker", async () => {
    await refusalOf(forge.comment({ runId: "run-7", key: "x-->y", name: "ok", body: "b" }));
    await refusalOf(forge.comment({ runId: "run-7", key: "a\nb", name: "ok", body: "b" }));
  });
});

describe("local forge > updateStatus", () => {
  it("overwrites status.md in place and leaves no temporary files", async () => {
    await forge.updateStatus({ runId: "run-7", body: "Phase 1 of 3\n" });
    await forgeWith().updateStatus({ runId: "run-7", body: "Phase 2 of 3\n" });
    const dir = join(fixture.runsDir, "run-7");
    expect(await readFile(join(dir, "status.md"), "utf8")).toBe("Phase 2 of 3\n");
    expect(await readdir(dir)).toEqual(["status.md"]);
  });

  it("refuses an unsafe run id", async () => {
    await refusalOf(forge.updateStatus({ runId: "../x", body: "b" }));
    await expect(readdir(fixture.runsDir)).rejects.toThrow(/ENOENT/);
  });
});

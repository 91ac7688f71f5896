import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleCli } from "../helpers/bundle-cli.js";

// Issue 11, must-show 2: a real `atomic-scrum run`, as a child process, SIGKILLed at many points of
// a run (the process alone, and its whole process group as power loss, the OOM killer or a
// container stop do), then `atomic-scrum resume`d: the run succeeds with exactly one commit and one
// comment per phase, and leaves no lock or temp file behind.
//
// Kill points without test hooks in the app: the child finds a stand-in `git` first on its PATH
// that passes every call to the real git, except the one chosen, where it stops until the kill
// lands. At an `update-ref` it lets the real git take the ref lock first (git's
// reference-transaction hook runs while the lock is held), so a group kill leaves the lock a real
// kill leaves. Other kill points come from the run's progress lines, landing in the app's own work
// (database writes, comment files) just after a line is printed.

const PHASES = ["research", "implement", "docs"];

const PIPELINE = `
name: crash
phases:
  - id: research
    task: research
    prompt: "Study the issue: {{ issue.title }} {{ issue.body }}"
    output: { artifact: "notes/{{ issue.number }}/research.md" }
    gates:
      - judge:
          threshold: 0.6
          criteria:
            - { name: grounded, weight: 2, rubric: "Every claim is traceable to the issue text." }
  - id: implement
    task: code
    prompt: "Implement it. Research: {{ phases.research.output }}"
    output: { files: true }
    gates:
      - assert: { type: paths, value: ["src/**", "test/**"] }
  - id: docs
    task: write
    prompt: "Document it: {{ phases.implement.output }}"
    output: { artifact: "notes/{{ issue.number }}/docs.md" }
`;

const ISSUE = "---\nnumber: 7\n---\n# Trim the input\n\nInputs arrive with stray spaces.\n";
const BRANCH = "atomic-scrum/7-trim-the-input";

// The stand-in git. Configured by CRASH_* variables (the app passes its environment on to git,
// minus GIT_*): it counts the calls of CRASH_STOP_CMD and stops at call number CRASH_STOP_NTH.
const WRAPPER = `#!/bin/sh
if [ -n "$CRASH_STOP_CMD" ] && [ "$1" = "$CRASH_STOP_CMD" ]; then
  count="$CRASH_DIR/count"
  n=$(( $(cat "$count" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$count"
  if [ "$n" = "$CRASH_STOP_NTH" ]; then
    export CRASH_NODE_PID=$PPID
    if [ "$1" = update-ref ]; then
      exec "$CRASH_REAL_GIT" -c core.hooksPath="$CRASH_DIR/hooks" "$@"
    fi
    touch "$CRASH_DIR/reached"
    while kill -0 "$CRASH_NODE_PID" 2>/dev/null; do sleep 0.02; done
  fi
fi
exec "$CRASH_REAL_GIT" "$@"
`;

// Runs while git holds the ref lock; waits for the kill. When only the app was killed, git then
// finishes the update on its own, as an orphaned git does.
const HOOK = `#!/bin/sh
cat > /dev/null
if [ "$1" = prepared ]; then
  touch "$CRASH_DIR/reached"
  while kill -0 "$CRASH_NODE_PID" 2>/dev/null; do sleep 0.02; done
fi
exit 0
`;

type KillPoint =
  /** While the `nth` call of `git <command>` runs. */
  | { git: string; nth: number }
  /** Just after the `nth` progress line that matches is printed. */
  | { line: RegExp; nth: number; name: string };

// Spread over the whole run: creating the branch, then every step of each phase's commit (blob,
// temporary index, tree, commit, ref), reading context between phases, and the app's own work.
const KILL_POINTS: KillPoint[] = [
  { git: "check-ref-format", nth: 1 },
  { git: "update-ref", nth: 1 },
  { git: "ls-tree", nth: 3 },
  ...[1, 2, 3].flatMap((nth) => [
    { git: "log", nth },
    { git: "hash-object", nth },
    { git: "read-tree", nth },
    { git: "update-index", nth },
    { git: "write-tree", nth },
    { git: "commit-tree", nth },
    { git: "update-ref", nth: nth + 1 },
  ]),
  { line: /^\s+▸ research/, nth: 1, name: "research's agent is called" },
  { line: /^\s+committed /, nth: 1, name: "research is committed" },
  { line: /^\s+comment /, nth: 2, name: "implement's comment is written" },
  { line: /^\s+✓ docs/, nth: 1, name: "docs passes its gates" },
];

const MODES = ["process", "group"] as const;

let work: string;
let cli: string;
let wrapperDir: string;
let realGit: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "atomic-scrum-crash-"));
  cli = await bundleCli(work);
  realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  wrapperDir = join(work, "bin");
  mkdirSync(wrapperDir);
  writeFileSync(join(wrapperDir, "git"), WRAPPER);
  chmodSync(join(wrapperDir, "git"), 0o755);
  writeFileSync(join(work, "pipeline.yml"), PIPELINE);
  writeFileSync(join(work, "issue.md"), ISSUE);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

function scenarioDirs(name: string) {
  const dir = mkdtempSync(join(work, `${name.replace(/[^a-z0-9]+/gi, "-")}-`));
  const repo = join(dir, "repo");
  const tmp = join(dir, "tmp");
  const crash = join(dir, "crash");
  for (const path of [repo, tmp, join(crash, "hooks")]) mkdirSync(path, { recursive: true });
  writeFileSync(join(crash, "hooks", "reference-transaction"), HOOK);
  chmodSync(join(crash, "hooks", "reference-transaction"), 0o755);
  writeFileSync(join(repo, "README.md"), "# sample\n");
  gitIn(repo, "init", "-q", "-b", "main");
  gitIn(repo, "add", ".");
  gitIn(
    repo,
    "-c",
    "user.name=Test",
    "-c",
    "user.email=test@example.invalid",
    "commit",
    "-q",
    "-m",
    "initial",
  );
  return { dir, repo, tmp, crash };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function startCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; exit: Promise<Exit> } {
  // detached: the child leads its own process group, so kill(-pid) reaches it and its git children.
  const child = spawn(process.execPath, [cli, ...args], {
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
    child.emit("progress", out);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  const exit = new Promise<Exit>((done) =>
    child.once("close", (code, signal) => done({ code, signal, out })),
  );
  return { child, exit };
}

/** Resolves once the kill point is reached; rejects if the run ends first. */
function reached(point: KillPoint, child: ChildProcess, crash: string, exit: Promise<Exit>): Promise<void> {
  return new Promise((done, fail) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      if (error) fail(error);
      else done();
    };
    const timer = setInterval(() => {
      if ("git" in point && existsSync(join(crash, "reached"))) finish();
    }, 5);
    if ("line" in point) {
      child.on("progress", (out: string) => {
        if (out.split("\n").filter((line) => point.line.test(line)).length >= point.nth) finish();
      });
    }
    void exit.then((result) =>
      finish(new Error(`the run ended before the kill point (exit ${result.code}):\n${result.out}`)),
    );
  });
}

function leftovers(repo: string, tmp: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".lock") || entry.name.endsWith(".tmp")) found.push(path);
    }
  };
  walk(join(repo, ".git"));
  for (const name of readdirSync(tmp))
    if (name.startsWith("atomic-scrum-index-")) found.push(join(tmp, name));
  return found;
}

function describePoint(point: KillPoint): string {
  return "git" in point ? `during git ${point.git} #${point.nth}` : `after the line where ${point.name}`;
}

const SCENARIOS = KILL_POINTS.flatMap((point) =>
  MODES.map((mode) => ({ point, mode, name: `${describePoint(point)}, killing the ${mode}` })),
);

describe("crash and resume", () => {
  it("spreads at least 20 kill points over a run, each killed both ways", () => {
    expect(KILL_POINTS.length).toBeGreaterThanOrEqual(20);
    expect(SCENARIOS.length).toBe(KILL_POINTS.length * MODES.length);
  });

  it.concurrent.each(SCENARIOS)(
    "$name: resume finishes the run with one commit and one comment per phase",
    async ({ point, mode, name }) => {
      const { repo, tmp, crash } = scenarioDirs(name);
      const base = { ...process.env, TMPDIR: tmp };
      const env = {
        ...base,
        PATH: `${wrapperDir}${delimiter}${process.env.PATH ?? ""}`,
        CRASH_DIR: crash,
        CRASH_REAL_GIT: realGit,
        ...("git" in point ? { CRASH_STOP_CMD: point.git, CRASH_STOP_NTH: String(point.nth) } : {}),
      };
      const run = startCli(
        ["run", join(work, "pipeline.yml"), "--issue", join(work, "issue.md"), "--repo", repo],
        env,
      );
      await reached(point, run.child, crash, run.exit);
      const pid = run.child.pid ?? 0;
      process.kill(mode === "group" ? -pid : pid, "SIGKILL");
      const killed = await run.exit;
      expect(killed.signal, killed.out).toBe("SIGKILL");
      const runId = /run (run-7-[0-9a-f]+)/.exec(killed.out)?.[1];
      expect(runId, `no run id in:\n${killed.out}`).toBeDefined();

      const resumed = await startCli(["resume", runId ?? "", "--repo", repo], base).exit;

      expect(resumed.code, resumed.out).toBe(0);
      expect(resumed.out).toContain(`run ${runId} succeeded`);
      expect(gitIn(repo, "log", "--reverse", "--format=%s", `main..${BRANCH}`).split("\n")).toEqual(
        PHASES.map((phase) => `${phase} for issue #7`),
      );
      const comments = readdirSync(join(repo, ".git", "atomic-scrum", "runs", runId ?? "", "comments"));
      expect(comments.sort()).toEqual(PHASES.map((phase, index) => `0${index + 1}-${phase}.md`));
      expect(leftovers(repo, tmp)).toEqual([]);
    },
    180_000,
  );
});

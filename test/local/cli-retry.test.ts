import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { git, tempFile, tempRepo } from "../helpers/temp.js";

// Issue 11, class 10: `atomic-scrum retry <run-id> [phase]` sends a failed run back where it
// stopped, in a new round, on the same branch, and refuses what must stay final.

const BRANCH = "atomic-scrum/7-trim-the-input";
/** One try per phase: a failed gate ends the run at once. */
const ONE_TRY = SMALL_PIPELINE.replace(
  "name: small\n",
  "name: small\ndefaults:\n  on_fail: { retries: 0, escalate: false }\n",
);

function runIdOf(text: string): string {
  const id = /run (run-\d+-[0-9a-f]{6})/.exec(text)?.[1];
  if (!id) throw new Error(`no run id in: ${text}`);
  return id;
}

/** The run branch's commits made by phases, oldest first. */
const phaseCommits = (repo: string) =>
  git(repo, "log", "--reverse", "--format=%s", `main..${BRANCH}`)
    .split("\n")
    .filter((line) => line !== "");

const judge = { grounded: { score: 0.9, reason: "fine" }, complete: { score: 0.9, reason: "fine" } };
const edit = (path: string) => JSON.stringify({ summary: `edit ${path}`, files: [{ path, content: "x\n" }] });

describe("atomic-scrum retry", () => {
  it("a run whose phase failed its gate is retried at that phase, completes with one commit per phase, and is then final", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", ONE_TRY);
    // implement's first answer writes outside src/** and test/**: the paths gate fails it.
    const fixtures = tempFile(
      "fixtures.json",
      JSON.stringify({
        research: [{ agent: "Research notes.", judge }],
        implement: [{ agent: edit("docs/x.md") }],
      }),
    );
    const recorded = ["--provider", "recorded", "--fixtures", fixtures];
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded);
    expect(first.code).toBe(1);
    const id = runIdOf(first.out);
    expect(first.out).toContain(`✘ run ${id} failed: phase "implement" failed after 1 attempt(s)`);
    expect(first.out).toContain(`try again with: atomic-scrum retry ${id}`);
    const status = await cli("status", id, "--repo", repo);
    expect(status.out).toContain(
      `**Next:** a retry: the run failed. phase "implement" failed after 1 attempt(s)`,
    );
    expect(status.out).toContain(
      `To try again, run \`atomic-scrum retry ${id} --repo ${repo}\`, or \`atomic-scrum retry ${id} <phase> --repo ${repo}\` for an earlier phase: it runs phase \`implement\` and every phase after it again, on the same branch.`,
    );
    expect(phaseCommits(repo)).toEqual(["research for issue #7"]);

    // The model does better the second time (the recorded provider reads the file again).
    writeFileSync(
      fixtures,
      JSON.stringify({
        research: [{ agent: "Research notes.", judge }],
        implement: [{ agent: edit("docs/x.md") }, { agent: edit("src/trim.ts") }],
      }),
    );
    const retried = await cli("retry", id, "--repo", repo, ...recorded);
    expect(retried.err).toBe("");
    expect(retried.code).toBe(0);
    expect(retried.out).toContain("↺ implement            sent back by");
    expect(retried.out).toContain("→ attempt 2 on the balanced tier");
    expect(retried.out).toContain(`atomic-scrum approve ${id}`);
    const approved = await cli("approve", id, "--repo", repo);
    expect(approved.out).toContain(`run ${id} succeeded`);
    // One commit per phase: the failed attempt committed nothing, the retried one once.
    expect(phaseCommits(repo)).toEqual(["research for issue #7", "implement for issue #7"]);
    expect(git(repo, "show", `${BRANCH}:src/trim.ts`)).toBe("x");

    const again = await cli("retry", id, "--repo", repo);
    expect(again.code).toBe(1);
    expect(again.err).toContain(
      `run ${id} cannot be retried: the run has succeeded, so no phase of it runs again`,
    );
  });

  it("a run that failed before its branch existed prepares it again, then runs every phase once", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", ONE_TRY);
    // The run branch is checked out: the local forge refuses to write to it, and the run fails
    // at its very first step, before any phase ran.
    git(repo, "checkout", "-q", "-b", BRANCH);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo);
    expect(first.code).toBe(1);
    const id = runIdOf(first.out);
    expect(first.out).toContain("refusing to write to branch");
    expect(first.out).toContain(`try again with: atomic-scrum retry ${id}`);
    git(repo, "checkout", "-q", "main");

    const named = await cli("retry", id, "implement", "--repo", repo);
    expect(named.code).toBe(1);
    expect(named.err).toContain(
      `run ${id} cannot be retried: the run failed before its branch was prepared, so no phase has run yet; a retry starts it from its first phase, "research"`,
    );
    const unknown = await cli("retry", id, "deploy", "--repo", repo);
    expect(unknown.err).toContain(
      `the pipeline small of run ${id} has no phase "deploy"; its phases: research, implement, human-review`,
    );

    const retried = await cli("retry", id, "--repo", repo);
    expect(retried.code).toBe(0);
    expect(retried.out).toContain(`branch ${BRANCH} at`);
    expect(retried.out).toContain(`👀 run ${id} is waiting for approval (a human review)`);
    expect(phaseCommits(repo)).toEqual(["research for issue #7", "implement for issue #7"]);
  });

  it("refuses a run a newer run of its issue replaced, naming the newer run and what to do", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", ONE_TRY);
    git(repo, "checkout", "-q", "-b", BRANCH);
    const old = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo)).out);
    git(repo, "checkout", "-q", "main");
    // The failed run is not active: a new run of the issue may start, on a fresh branch.
    const newer = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo)).out);
    const refused = await cli("retry", old, "--repo", repo);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(
      `run ${old} was replaced by ${newer}, a newer small run of issue #7 (it is waiting for approval); continue that one (\`atomic-scrum resume ${newer} --repo ${repo}\`) or stop it (\`atomic-scrum cancel ${newer} --repo ${repo}\`)`,
    );
    // Once the newer run is cancelled, the older one is still not the issue's run.
    await cli("cancel", newer, "--repo", repo);
    const still = await cli("retry", old, "--repo", repo);
    expect(still.err).toContain(`run ${old} was replaced by ${newer}`);
    expect(still.err).toContain("start a new run with `atomic-scrum run`");
  });

  it("a failed run cancelled by a person stays final", async () => {
    const repo = tempRepo();
    git(repo, "checkout", "-q", "-b", BRANCH);
    const id = runIdOf(
      (await cli("run", tempFile("p.yml", ONE_TRY), "--issue", issueFile(), "--repo", repo)).out,
    );
    git(repo, "checkout", "-q", "main");
    const cancelled = await cli("cancel", id, "--repo", repo);
    expect(cancelled.code).toBe(0);
    expect(cancelled.out).toContain(`run ${id} was cancelled by`);
    const refused = await cli("retry", id, "--repo", repo);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`run ${id} cannot be retried: the run was cancelled`);
  });

  it("a run its own budget stopped is refused a retry, and says so when it fails", async () => {
    const repo = tempRepo();
    const tight = ONE_TRY.replace("name: small\n", "name: small\nbudget: { max_tokens: 5 }\n");
    const first = await cli("run", tempFile("p.yml", tight), "--issue", issueFile(), "--repo", repo);
    expect(first.code).toBe(1);
    const id = runIdOf(first.out);
    expect(first.out).toContain("budget: this call needs about");
    expect(first.out).toContain(
      "it cannot be retried: the run's budget refused its last call (budget: this call needs about",
    );
    const refused = await cli("retry", id, "--repo", repo);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`run ${id} cannot be retried: the run's budget refused its last call`);
    expect(refused.err).toContain("raise the pipeline's budget and start a new run");
    const status = await cli("status", id, "--repo", repo);
    expect(status.out).toContain("It cannot be retried: the run's budget refused its last call");
  });
});

import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { openDatabase } from "../../src/store/database.js";
import { listAttempts, listEvents, listRuns } from "../../src/store/runs.js";
import { WorkerStopped } from "../../src/worker/worker.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { openApp, SMALL_PIPELINE, start } from "../helpers/local-run.js";
import { git, tempFile, tempRepo } from "../helpers/temp.js";

const WITH_COOLDOWN = SMALL_PIPELINE.replace(
  "  - id: human-review\n",
  "  - id: cooldown\n    wait: 2h\n  - id: human-review\n",
);

function runIdOf(text: string): string {
  const id = /run (run-\d+-[0-9a-f]{6})/.exec(text)?.[1];
  if (!id) throw new Error(`no run id in: ${text}`);
  return id;
}

describe("atomic-scrum run, resume and approve on a local repository", () => {
  it("stops at a cooldown, resumes early only when asked, then waits for and takes an approval", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", WITH_COOLDOWN);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo);
    expect(first.code).toBe(0);
    expect(first.out).toContain("cooling down until");
    const id = runIdOf(first.out);
    expect(first.out).toContain(`atomic-scrum resume ${id}`);

    const early = await cli("resume", id, "--repo", repo);
    expect(early.code).toBe(0);
    expect(early.out).toContain("is cooling down until");

    const tooSoon = await cli("approve", id, "--repo", repo);
    expect(tooSoon.code).toBe(1);
    expect(tooSoon.err).toContain(`run ${id} is not waiting for approval: it is cooling down until`);

    const resumed = await cli("resume", id, "--repo", repo, "--no-wait");
    expect(resumed.out).toContain("cooldown over (fast-forwarded)");
    expect(resumed.out).toContain(`atomic-scrum approve ${id}`);

    const approved = await cli("approve", id, "--repo", repo, "--by", "carol");
    expect(approved.code).toBe(0);
    expect(approved.out).toContain("approved by carol");
    expect(approved.out).toContain(`run ${id} succeeded`);

    const again = await cli("approve", id, "--repo", repo);
    expect(again.code).toBe(1);
    expect(again.err).toContain("is not waiting for approval: it has succeeded");

    const status = await cli("status", id, "--repo", repo);
    expect(status.out).toContain("| research | ✅ done |");
    expect(status.out).toContain("nothing: the run is complete.");
  });

  it("cancels a waiting run, leaving its status final, and refuses to cancel it twice", async () => {
    const repo = tempRepo();
    const id = runIdOf(
      (await cli("run", tempFile("p.yml", WITH_COOLDOWN), "--issue", issueFile(), "--repo", repo)).out,
    );
    const cancelled = await cli("cancel", id, "--repo", repo);
    expect(cancelled.code).toBe(0);
    expect(cancelled.out).toContain(`run ${id} was cancelled by`);
    const status = readFileSync(join(repo, ".git", "atomic-scrum", "runs", id, "status.md"), "utf8");
    expect(status).toContain("nothing: the run was cancelled by ");
    expect(status).toContain("⛔ cancelled");
    const again = await cli("cancel", id, "--repo", repo);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`run ${id} cannot be cancelled: it was cancelled`);
  });

  it("refuses a second run on an issue that already has an active one", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", WITH_COOLDOWN);
    const issue = issueFile();
    const id = runIdOf((await cli("run", pipeline, "--issue", issue, "--repo", repo)).out);
    const second = await cli("run", pipeline, "--issue", issue, "--repo", repo);
    expect(second.code).toBe(1);
    expect(second.err).toContain(
      `run ${id} of pipeline small is waiting on issue #7 (branch atomic-scrum/7-trim-the-input); one run per issue and pipeline: continue it with \`atomic-scrum resume ${id} --repo ${repo}\``,
    );
  });

  it("fails loudly when the recorded provider has no fixture for a call", async () => {
    const repo = tempRepo();
    const fixtures = tempFile("fixtures.yml", "research:\n  - agent: 'Some research.'\n");
    const result = await cli(
      "run",
      tempFile("p.yml", SMALL_PIPELINE),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--provider",
      "recorded",
      "--fixtures",
      fixtures,
    );
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      'could not be judged: judge call failed for "grounded": no recorded judge output for criterion "grounded"',
    );
  });

  it("refuses a model's edit into .git and retries, then fails with the reason", async () => {
    const repo = tempRepo();
    const judge = { grounded: { score: 0.9, reason: "fine" }, complete: { score: 0.9, reason: "fine" } };
    const evil = JSON.stringify({
      summary: "x",
      files: [{ path: ".git/hooks/pre-commit", content: "rm -rf /" }],
    });
    const fixtures = tempFile(
      "fixtures.json",
      JSON.stringify({
        research: [{ agent: "Research notes.", judge }],
        implement: [{ agent: evil }, { agent: evil }, { agent: evil }, { agent: evil }],
      }),
    );
    const result = await cli(
      "run",
      tempFile("p.yml", SMALL_PIPELINE),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--provider",
      "recorded",
      "--fixtures",
      fixtures,
    );
    expect(result.code).toBe(1);
    expect(result.out).toContain("refused edit");
    expect(result.out).toContain(".git");
    expect(git(repo, "log", "--format=%s", "-1", "atomic-scrum/7-trim-the-input")).toContain(
      "research for issue #7",
    );
  });

  it("stops a run whose agent prompt contains a rubric (holdout)", async () => {
    const repo = tempRepo();
    const leaky = SMALL_PIPELINE.replace(
      'prompt: "Study the issue:',
      'prompt: "Every claim is traceable to the issue text. Study the issue:',
    );
    const result = await cli("run", tempFile("p.yml", leaky), "--issue", issueFile(), "--repo", repo);
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      'holdout violated: the prompt of phase "research" contains the rubric of research: grounded',
    );
    const db = openDatabase(join(repo, ".git", "atomic-scrum", "atomic-scrum.db"));
    const [attempt] = listAttempts(db, listRuns(db)[0]?.id ?? "");
    expect(attempt).toMatchObject({ state: "error", error: expect.stringContaining("holdout violated") });
    db.close();
  });

  it("resume takes over at once from a local process that died holding the lease", async () => {
    const repo = tempRepo();
    const dead = `${hostname()}:999999999:dead`;
    const crashing = openApp(repo, {
      provider: createSimulatedProvider(),
      owner: dead,
      hooks: {
        afterRecord: (effect) => {
          if (effect.kind === "commit") throw new WorkerStopped("killed");
        },
      },
    });
    const run = start(crashing);
    await expect(crashing.worker.runUntilIdle()).rejects.toThrow(WorkerStopped);
    crashing.close();

    const resumed = await cli(
      "resume",
      run.id,
      "--repo",
      repo,
      "--db",
      join(repo, ".git", "atomic-scrum", "atomic-scrum.db"),
    );
    expect(resumed.out).toContain("taking over from a worker that stopped");
    expect(resumed.out).toContain(`atomic-scrum approve ${run.id}`);
    const db = openDatabase(join(repo, ".git", "atomic-scrum", "atomic-scrum.db"));
    expect(listRuns(db)[0]?.state.status).toBe("awaiting_approval");
    expect(listEvents(db, run.id).filter((e) => e.type === "phase.committed")).toHaveLength(2);
    db.close();
  });

  it("explains a directory that is not a git repository", async () => {
    const dir = join(tempRepo(), "..");
    writeFileSync(join(dir, "x"), "");
    const result = await cli("run", "coding", "--issue", issueFile(), "--repo", dir);
    expect(result.code).toBe(1);
    expect(result.err).toContain("is not a git repository");
  });
});

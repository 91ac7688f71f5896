import { rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { listAttempts, listRuns } from "../../src/store/runs.js";
import { runCli as cli, issueFile, runIdOf } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

// Issue 12, item 4: a run keeps the settings it started with. A run resumed without its
// `--settings` used to fail for good on a missing price; the parsed content is pinned on the run.

/** research, a cooldown, then implement: the resume after the cooldown makes model calls. */
const WITH_COOLDOWN = SMALL_PIPELINE.replace(
  "  - id: implement\n",
  "  - id: cooldown\n    wait: 2h\n  - id: implement\n",
);
const PRICED = [
  "prices:",
  "  simulated-fast: { input: 1, output: 1 }",
  "  simulated-balanced: { input: 1, output: 1 }",
  "  simulated-deep: { input: 1, output: 1 }",
  "",
].join("\n");

/** What each phase's attempts cost, from the database. */
function costs(repo: string, id: string): Record<string, number> {
  const db = openDatabase(`${repo}/.git/atomic-scrum/atomic-scrum.db`);
  try {
    return Object.fromEntries(listAttempts(db, id).map((a) => [a.phaseId, a.costUsd]));
  } finally {
    db.close();
  }
}

describe("a local run keeps the settings it started with", () => {
  it("a resume without --settings, after the file is gone, still prices the calls as the run started", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", WITH_COOLDOWN);
    const settings = tempFile("settings.yml", PRICED);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, "--settings", settings);
    expect(first.code).toBe(0);
    expect(first.out).toContain("cooling down until");
    const id = runIdOf(first.out);
    expect(costs(repo, id).research).toBeGreaterThan(0);

    // Edited in place, the file is not used either, and the command says so (the approve itself
    // is refused: the run is cooling down).
    writeFileSync(settings, "{}\n");
    const approve = await cli("approve", id, "--repo", repo);
    expect(approve.err).toContain(
      `note: run ${id} keeps the settings it started with; ${settings} has changed since, and the change is not used. Start a new run to use it, or send this one back with \`atomic-scrum retry ${id} --repo ${repo}\`, which reads it again`,
    );
    rmSync(settings);
    const resumed = await cli("resume", id, "--repo", repo, "--no-wait");
    expect(resumed.err).toBe("");
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain(`run ${id} is waiting for approval`);
    // Without the pinned settings the simulated calls of implement would count $0.
    expect(costs(repo, id).implement).toBeGreaterThan(0);
  });

  it("a resume given other settings keeps the run's own and says so", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", WITH_COOLDOWN);
    const settings = tempFile("settings.yml", PRICED);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, "--settings", settings);
    const id = runIdOf(first.out);
    const other = tempFile("other.yml", "budget: { daily_max_cost_usd: 0.000001 }\n");
    const resumed = await cli("resume", id, "--repo", repo, "--no-wait", "--settings", other);
    expect(resumed.err).toContain(
      `note: run ${id} keeps the settings it started with (from ${settings}, as it was then); --settings ${other} is not used. Start a new run to use it, or send this one back with \`atomic-scrum retry ${id} --settings ${other} --repo ${repo}\``,
    );
    // The other file's daily budget would have stopped implement: the run's own settings have none.
    expect(resumed.code).toBe(0);
    expect(costs(repo, id).implement).toBeGreaterThan(0);
  });

  it("a failed run is retried once its settings file is fixed in place, and keeps the fix", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    // A daily budget far below one call: research is refused before its first call.
    const settings = tempFile("settings.yml", `${PRICED}budget: { daily_max_cost_usd: 0.000001 }\n`);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, "--settings", settings);
    expect(first.code).toBe(1);
    const id = runIdOf(first.out);
    expect(first.out).toContain("daily budget: runs in this database have spent");

    // Retried unchanged, it fails the same way.
    const again = await cli("retry", id, "--repo", repo);
    expect(again.code).toBe(1);
    expect(again.out).toContain("daily budget: runs in this database have spent");

    writeFileSync(settings, `${PRICED}budget: { daily_max_cost_usd: 5 }\n`);
    const retried = await cli("retry", id, "--repo", repo);
    expect(retried.err).toContain(`run ${id} uses the settings of ${settings} from this retry on`);
    expect(retried.code).toBe(0);
    expect(retried.out).toContain(`run ${id} is waiting for approval`);
    const db = openDatabase(`${repo}/.git/atomic-scrum/atomic-scrum.db`);
    try {
      expect(listRuns(db)[0]?.provider?.settings?.budget.daily_max_cost_usd).toBe(5);
    } finally {
      db.close();
    }
  });

  it("a failed run is retried with another settings file (--settings)", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const tight = tempFile("tight.yml", `${PRICED}budget: { daily_max_cost_usd: 0.000001 }\n`);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, "--settings", tight);
    const id = runIdOf(first.out);
    const fixed = tempFile("fixed.yml", `${PRICED}budget: { daily_max_cost_usd: 5 }\n`);
    const retried = await cli("retry", id, "--repo", repo, "--settings", fixed);
    expect(retried.err).toContain(`run ${id} uses the settings of ${fixed} from this retry on`);
    expect(retried.code).toBe(0);
  });

  it("refuses a settings file whose base_url carries a password: settings are stored with the run", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const settings = tempFile(
      "settings.yml",
      "providers:\n  openai-compatible:\n    base_url: https://me:s3cret@llm.example.invalid/v1\n",
    );
    const result = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, "--settings", settings);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      `${settings}: providers.openai-compatible.base_url carries a user, password or key; settings are stored with the run`,
    );
    expect(result.err).not.toContain("s3cret");
    const db = openDatabase(`${repo}/.git/atomic-scrum/atomic-scrum.db`);
    try {
      expect(listRuns(db)).toEqual([]);
    } finally {
      db.close();
    }
  });
});

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cancelRun } from "../../src/local/run-commands.js";
import { createRecordedProvider, type Fixtures } from "../../src/providers/recorded.js";
import { getRun, listAttempts } from "../../src/store/runs.js";
import { enqueueRunJob } from "../../src/worker/jobs.js";
import { ISSUE, openApp, start } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

const pipeline = (then: string) => `
name: handed
phases:
  - id: write
    task: write
    tier: balanced
    prompt: "Write the note {{ issue.title }} asks for."
    on_fail: { retries: 0, escalate: true, exhausted: ${then} }
    gates:
      - judge:
          threshold: 0.7
          tier: fast
          criteria:
            - { name: exact, weight: 1, rubric: "Names the function that trims the input." }
`;

const low = { score: 0.2, reason: "No function is named." };
const FIXTURES: Fixtures = {
  write: [
    { agent: "A vague note.", judge: { exact: low } },
    { agent: "Still vague.", judge: { exact: low } },
    // Only a person's /retry gets this far.
    { agent: "The note names trimInput.", judge: { exact: { score: 0.9, reason: "Names trimInput." } } },
  ],
};

async function runOut(then: string) {
  const app = openApp(tempRepo(), { provider: createRecordedProvider(FIXTURES) });
  const run = start(app, pipeline(then), ISSUE);
  await app.worker.runUntilIdle();
  return { app, runId: run.id, dir: join(app.runsDir, run.id) };
}

describe("when a phase fails at the top tier", () => {
  it("with exhausted: human, the issue is labelled needs-human, the comment says what failed, and the run waits for a person", async () => {
    const { app, runId, dir } = await runOut("human");
    const run = getRun(app.db, runId);
    expect(run?.state.status).toBe("needs_human");
    expect(run?.state.reason).toBe(
      'phase "write" failed after 2 attempt(s): score 0.20 against threshold 0.7; exact: No function is named.',
    );
    expect(listAttempts(app.db, runId).map((a) => [a.tier, a.state])).toEqual([
      ["balanced", "failed"],
      ["deep", "failed"],
    ]);
    expect(readFileSync(join(dir, "labels.txt"), "utf8")).toBe("needs-human\n");
    expect(readFileSync(join(dir, "comments", "01-write.md"), "utf8")).toContain("No function is named.");
    expect(readFileSync(join(dir, "status.md"), "utf8")).toContain('a person: phase "write" failed');
    // Nothing more happens by itself; a person can still stop it.
    await app.worker.runUntilIdle();
    expect(getRun(app.db, runId)?.state.status).toBe("needs_human");
    cancelRun(app, getRun(app.db, runId) as NonNullable<ReturnType<typeof getRun>>, "carol");
    await app.worker.runUntilIdle();
    expect(getRun(app.db, runId)?.state.status).toBe("cancelled");
    app.close();
  });

  it("starting the pipeline again on the issue cancels the run that waits for a person, on a branch of its own", async () => {
    const { app, runId, dir } = await runOut("human");
    expect(readFileSync(join(dir, "status.md"), "utf8")).toContain(
      "then run `atomic-scrum run` on the issue again: this run is then cancelled and a new one starts",
    );
    const again = start(app, pipeline("fail"), ISSUE);
    await app.worker.runUntilIdle();
    expect(getRun(app.db, runId)?.state).toMatchObject({
      status: "cancelled",
      reason: "cancelled by a new run on the issue",
    });
    expect(again.branch).toBe(`${getRun(app.db, runId)?.branch}-2`);
    // The new run replays the same recorded answers and fails, as its pipeline says.
    expect(getRun(app.db, again.id)?.state.status).toBe("failed");
    app.close();
  });

  it("a person sending the run back takes the needs-human label off the issue", async () => {
    const { app, runId, dir } = await runOut("human");
    expect(readFileSync(join(dir, "labels.txt"), "utf8")).toBe("needs-human\n");
    enqueueRunJob(app.db, {
      runId,
      key: "retry/test",
      now: Date.now(),
      event: { type: "phase.retry", phaseId: "write", by: "@carol" },
    });
    await app.worker.runUntilIdle();
    expect(getRun(app.db, runId)?.state.status).toBe("succeeded");
    expect(readFileSync(join(dir, "labels.txt"), "utf8")).toBe("");
    app.close();
  });

  it("with exhausted: fail (the default), the run fails and nothing is labelled", async () => {
    const { app, runId, dir } = await runOut("fail");
    expect(getRun(app.db, runId)?.state.status).toBe("failed");
    expect(existsSync(join(dir, "labels.txt"))).toBe(false);
    app.close();
  });
});

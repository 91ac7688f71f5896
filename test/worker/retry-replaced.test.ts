import { describe, expect, it } from "vitest";
import { retryRun, startRun } from "../../src/local/run-commands.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { listEvents, listRuns } from "../../src/store/runs.js";
import { ISSUE, loadPipeline, openApp } from "../helpers/local-run.js";
import { git, tempRepo } from "../helpers/temp.js";

// Issue 11, class 10: a retry queued for a failed run, and a new run of the same issue started
// before the worker applies it (the label added again on GitHub, `atomic-scrum run` locally). The
// failed run is not active, so the new start is allowed; the worker must then drop the stale
// retry instead of reviving the old run next to the new one: two runs must never work one issue.

const BRANCH = "atomic-scrum/7-trim-the-input";

describe("worker > a retry of a run a newer run replaced", () => {
  it("is dropped with a note when the newer run started after the retry was queued", async () => {
    const repo = tempRepo();
    const app = openApp(repo, { provider: createSimulatedProvider() });
    try {
      const { pipeline, hash, file } = loadPipeline();
      // The run branch is checked out: the run fails at its first step, before any phase ran.
      git(repo, "checkout", "-q", "-b", BRANCH);
      const old = startRun(app, { pipeline, hash, pipelinePath: file, issue: ISSUE });
      await app.worker.runUntilIdle();
      git(repo, "checkout", "-q", "main");
      expect(listRuns(app.db).find((r) => r.id === old.id)?.state.status).toBe("failed");

      retryRun(app, old.id, undefined, "alice");
      const newer = startRun(app, { pipeline, hash, pipelinePath: file, issue: ISSUE });
      await app.worker.runUntilIdle();

      const runs = listRuns(app.db);
      expect(runs.find((r) => r.id === old.id)?.state.status).toBe("failed");
      expect(runs.find((r) => r.id === newer.id)?.state.status).toBe("awaiting_approval");
      const dropped = listEvents(app.db, old.id).filter((e) => e.type === "event.dropped");
      expect(dropped.map((e) => e.data)).toEqual([
        expect.objectContaining({
          dropped: "phase.retry",
          why: expect.stringContaining(`run ${newer.id}, a newer run of issue #7, replaced it`),
        }),
      ]);
    } finally {
      app.close();
    }
  });
});

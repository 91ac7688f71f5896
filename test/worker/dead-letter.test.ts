import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { initialState } from "../../src/engine/transition.js";
import type { Forge } from "../../src/forge/forge.js";
import { createLocalForge } from "../../src/forge/local/local-forge.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { openDatabase } from "../../src/store/database.js";
import { listJobs } from "../../src/store/queue.js";
import { getRun, insertRun, listEvents } from "../../src/store/runs.js";
import { enqueueRunStart } from "../../src/worker/jobs.js";
import { createWorker } from "../../src/worker/worker.js";
import { ISSUE, loadPipeline, manualClock } from "../helpers/local-run.js";
import { tempDir, tempRepo } from "../helpers/temp.js";

describe("a job that keeps failing", () => {
  it("is retried with backoff, then dead-lettered, and the run ends failed with the reason", async () => {
    const repo = tempRepo();
    const clock = manualClock();
    const db = openDatabase(join(tempDir(), "db.sqlite"));
    const real = createLocalForge({ repoDir: repo, runsDir: join(tempDir(), "runs") });
    let commits = 0;
    const flaky: Forge = {
      ...real,
      commit: async () => {
        commits++;
        throw new Error("disk full");
      },
    };
    const simulated = createSimulatedProvider();
    const worker = createWorker({
      db,
      forgeFor: () => flaky,
      providerFor: () => simulated,
      now: clock.now,
      owner: "w1",
      price: () => 0,
      contextLimits: { maxFiles: 10, maxBytes: 10_000 },
      allowWorkflows: false,
      hints: { resume: () => "", approve: () => "", restart: () => "" },
    });
    const { pipeline, hash } = loadPipeline();
    insertRun(db, {
      id: "run-1",
      pipelineName: pipeline.name,
      pipelineHash: hash,
      pipeline,
      repo: { owner: "o", name: "r", defaultBranch: "main" },
      issue: ISSUE,
      branch: "atomic-scrum/7-trim",
      state: initialState(),
      createdAt: clock.now(),
    });
    enqueueRunStart(db, "run-1", clock.now());

    const delays: number[] = [];
    for (let round = 0; round < 10; round++) {
      const { nextRunAt } = await worker.runUntilIdle();
      if (nextRunAt === undefined) break;
      delays.push(nextRunAt - clock.now());
      clock.advance(nextRunAt - clock.now());
    }
    expect(commits).toBe(5);
    expect(delays.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    expect(listJobs(db, { state: "dead" })).toHaveLength(1);
    const run = getRun(db, "run-1");
    expect(run?.state.status).toBe("failed");
    expect(run?.state.reason).toBe("the worker gave up after 5 attempts: disk full");
    const types = listEvents(db, "run-1").map((e) => e.type);
    expect(types.filter((t) => t === "job.failed")).toHaveLength(5);
    expect(types.at(-1)).toBe("run.aborted");
    db.close();
  });
});

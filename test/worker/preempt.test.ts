import { describe, expect, it } from "vitest";
import type { LocalApp } from "../../src/local/local-app.js";
import { cancelRun } from "../../src/local/run-commands.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { getRun, listAttempts, listEvents, type RunRecord } from "../../src/store/runs.js";
import { enqueueRunJob } from "../../src/worker/jobs.js";
import { counting, openApp, start } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

describe("an outside event arriving while a job works the run", () => {
  it("a cancellation queued mid-job applies at the next effect: no further model call, commit or comment", async () => {
    const provider = counting(createSimulatedProvider());
    let app: LocalApp | undefined;
    let run: RunRecord | undefined;
    app = openApp(tempRepo(), {
      provider,
      hooks: {
        // As if the pull request were closed by a person right after the first phase committed.
        afterRecord: (_effect, event) => {
          if (
            event.type === "phase.committed" &&
            app &&
            run &&
            !getRun(app.db, run.id)?.state.outputs.research
          ) {
            cancelRun(app, getRun(app.db, run.id) as RunRecord, "carol");
          }
        },
      },
    });
    run = start(app);
    await app.worker.runUntilIdle();
    const state = getRun(app.db, run.id)?.state;
    const attempts = listAttempts(app.db, run.id);
    app.close();
    expect(state?.status).toBe("cancelled");
    expect(state?.reason).toBe("cancelled by carol");
    // Only the first phase's call and its two grades were made; its comment was not posted.
    expect(provider.calls).toEqual({ agent: 1, judge: 2 });
    expect(attempts.map((a) => [a.phaseId, a.commitSha !== undefined, a.commentId !== undefined])).toEqual([
      ["research", true, false],
    ]);
  });

  it("stopping the worker finishes the effect in hand, puts the job back, and a new process finishes the run", async () => {
    const provider = counting(createSimulatedProvider());
    const repo = tempRepo();
    let app: LocalApp | undefined;
    app = openApp(repo, {
      provider,
      hooks: {
        afterRecord: (_effect, event) => {
          if (event.type === "agent.completed") app?.worker.stop();
        },
      },
    });
    const run = start(app);
    await app.worker.runUntilIdle();
    // One model call made and recorded, nothing after it; the job is queued again, not failed.
    expect(provider.calls).toEqual({ agent: 1, judge: 0 });
    expect(getRun(app.db, run.id)?.state).toMatchObject({ status: "running", step: "judge" });
    app.close();
    const next = openApp(repo, { provider });
    await next.worker.runUntilIdle();
    expect(getRun(next.db, run.id)?.state.status).toBe("awaiting_approval");
    // The first call was not made again.
    expect(provider.calls.agent).toBe(2);
    next.close();
  });

  it("a /retry carried by a job that is put back (drain, crash, error) is applied once, not again on redelivery", async () => {
    const repo = tempRepo();
    const provider = counting(createSimulatedProvider());
    let armed = false;
    let app: LocalApp | undefined;
    app = openApp(repo, {
      provider,
      hooks: {
        afterRecord: (effect) => {
          if (armed && effect.kind === "commit" && effect.phaseId === "research") {
            armed = false;
            app?.worker.stop();
          }
        },
      },
    });
    const run = start(app);
    await app.worker.runUntilIdle();
    expect(getRun(app.db, run.id)?.state.status).toBe("awaiting_approval");
    const before = provider.calls.agent;
    enqueueRunJob(app.db, {
      runId: run.id,
      key: "comment/1/0",
      now: Date.now(),
      event: { type: "phase.retry", phaseId: "research", by: "@alice" },
    });
    armed = true;
    await app.worker.runUntilIdle();
    app.close();
    // The job that carried the retry was put back mid-way; the next process takes it on.
    const next = openApp(repo, { provider });
    await next.worker.runUntilIdle();
    const retries = listEvents(next.db, run.id).filter((e) => e.type === "phase.retry");
    expect(retries).toHaveLength(1);
    // research and implement once each after the retry: no phase was redone a second time.
    expect(provider.calls.agent - before).toBe(2);
    expect(getRun(next.db, run.id)?.state.status).toBe("awaiting_approval");
    next.close();
  });
});

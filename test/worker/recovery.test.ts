import { describe, expect, it } from "vitest";
import { approveRun } from "../../src/local/run-commands.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { enqueue, listGroupJobs } from "../../src/store/queue.js";
import { getRun, listEvents } from "../../src/store/runs.js";
import { WorkerStopped } from "../../src/worker/worker.js";
import { manualClock, openApp, SMALL_PIPELINE, start } from "../helpers/local-run.js";
import { git, tempRepo } from "../helpers/temp.js";

const COOLDOWN_FIRST = SMALL_PIPELINE.replace(
  "  - id: implement\n",
  "  - id: nap\n    wait: 1h\n  - id: implement\n",
);
const TWO_APPROVALS = `
name: two-gates
phases:
  - id: plan
    task: research
    prompt: "Plan {{ issue.title }}"
  - id: approve-plan
    approval: {}
  - id: build
    task: write
    prompt: "Build it."
  - id: approve-release
    approval: { min_approvals: 2 }
`;

describe("a run carried by an outside event's job", () => {
  it("is finished by the worker that takes the job over after a crash, though the event was applied already", async () => {
    const repo = tempRepo();
    const clock = manualClock();
    const provider = createSimulatedProvider();
    const first = openApp(repo, { provider, now: clock.now });
    const run = start(first, COOLDOWN_FIRST);
    await first.worker.runUntilIdle();
    expect(getRun(first.db, run.id)?.state.status).toBe("waiting");

    clock.advance(3_600_000);
    const crashing = openApp(repo, {
      provider,
      now: clock.now,
      hooks: {
        afterRecord: (effect) => {
          if (effect.kind === "commit") throw new WorkerStopped("killed");
        },
      },
    });
    await expect(crashing.worker.runUntilIdle()).rejects.toThrow(WorkerStopped);
    crashing.close();

    clock.advance(31_000);
    const second = openApp(repo, { provider, now: clock.now });
    await second.worker.runUntilIdle();
    expect(getRun(second.db, run.id)?.state.status).toBe("awaiting_approval");
    const types = listEvents(second.db, run.id).map((e) => e.type);
    // The job's event was marked applied with it: the new worker neither applies nor re-checks it.
    expect(types.filter((t) => t === "wait.elapsed")).toHaveLength(1);
    expect(types).not.toContain("event.dropped");
    expect(types.filter((t) => t === "phase.committed")).toHaveLength(2);
    second.close();
    first.close();
  });
});

describe("a run that should be moving but has no job", () => {
  it("gets a job that picks it up where it stands", async () => {
    const repo = tempRepo();
    const app = openApp(repo, { provider: createSimulatedProvider() });
    const run = start(app);
    // Lose the start job, as a bug or a hand-edited database might.
    app.db.prepare("UPDATE jobs SET state = 'done'").run();
    await app.worker.runUntilIdle({ group: run.id });
    expect(getRun(app.db, run.id)?.state.status).toBe("awaiting_approval");
    expect(listGroupJobs(app.db, run.id).map((j) => j.idempotencyKey)).toEqual([
      `${run.id}/start`,
      `${run.id}/advance/0`,
    ]);
    app.close();
  });

  it("ends failed with the last error when its job was dead-lettered", async () => {
    const repo = tempRepo();
    const app = openApp(repo, { provider: createSimulatedProvider() });
    const run = start(app);
    app.db
      .prepare("UPDATE jobs SET state = 'dead', attempts = 5, last_error = 'out of memory\nstack...'")
      .run();
    await app.worker.runUntilIdle({ group: run.id });
    const state = getRun(app.db, run.id)?.state;
    expect(state?.status).toBe("failed");
    expect(state?.reason).toBe("the worker gave up after 5 attempts: out of memory");
    app.close();
  });

  it("is left alone when it has a job of another run's group only", async () => {
    const repo = tempRepo();
    const app = openApp(repo, { provider: createSimulatedProvider() });
    const run = start(app);
    enqueue(app.db, {
      kind: "run",
      payload: { runId: "other" },
      idempotencyKey: "other/start",
      group: "other",
      now: 0,
    });
    await app.worker.runUntilIdle({ group: run.id });
    expect(listGroupJobs(app.db, "other")[0]?.state).toBe("queued");
    app.close();
  });
});

describe("approvals", () => {
  it("an approval for an earlier approval phase does not open a later one, even replayed after a crash", async () => {
    const repo = tempRepo();
    const clock = manualClock();
    const provider = createSimulatedProvider();
    const app = openApp(repo, { provider, now: clock.now });
    const run = start(app, TWO_APPROVALS);
    await app.worker.runUntilIdle();
    approveRun(app, getRun(app.db, run.id) ?? run, "alice");
    const crashing = openApp(repo, {
      provider,
      now: clock.now,
      hooks: {
        afterRecord: (effect) => {
          if (effect.kind === "request_approval" && effect.phaseId === "approve-release")
            throw new WorkerStopped("killed");
        },
      },
    });
    await expect(crashing.worker.runUntilIdle()).rejects.toThrow(WorkerStopped);
    crashing.close();

    clock.advance(31_000);
    await app.worker.runUntilIdle();
    const state = getRun(app.db, run.id)?.state;
    expect(state?.status).toBe("awaiting_approval");
    expect(listEvents(app.db, run.id).filter((e) => e.type === "approval.granted")).toHaveLength(1);
    app.close();
  });

  it("min_approvals waits for that many different people", async () => {
    const repo = tempRepo();
    const app = openApp(repo, { provider: createSimulatedProvider() });
    const run = start(app, TWO_APPROVALS);
    await app.worker.runUntilIdle();
    approveRun(app, getRun(app.db, run.id) ?? run, "alice");
    await app.worker.runUntilIdle();
    approveRun(app, getRun(app.db, run.id) ?? run, "alice");
    await app.worker.runUntilIdle();
    expect(getRun(app.db, run.id)?.state).toMatchObject({
      status: "awaiting_approval",
      approvals: ["alice"],
    });
    expect(() => approveRun(app, getRun(app.db, run.id) ?? run, "alice")).toThrow(
      "alice has already approved",
    );
    approveRun(app, getRun(app.db, run.id) ?? run, "bob");
    await app.worker.runUntilIdle();
    expect(getRun(app.db, run.id)?.state.status).toBe("succeeded");
    expect(git(repo, "log", "--format=%s", `main..${run.branch}`).split("\n")).toHaveLength(2);
    app.close();
  });
});

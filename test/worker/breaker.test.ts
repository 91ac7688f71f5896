import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLocalApp, type LocalApp } from "../../src/local/local-app.js";
import { startRun } from "../../src/local/run-commands.js";
import type { Tier } from "../../src/pipeline/schema.js";
import { offlineResponse, type Provider, ProviderError } from "../../src/providers/provider.js";
import { getBreaker } from "../../src/store/breakers.js";
import { getRun, listAttempts, listEvents, listRuns } from "../../src/store/runs.js";
import { WorkerStopped } from "../../src/worker/worker.js";
import { ISSUE, loadPipeline, manualClock, openApp, start } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

/** One `write` phase on the fast tier: a failure there escalates to balanced at once. */
const PIPELINE = `
name: breaker
phases:
  - id: draft
    task: write
    tier: fast
    prompt: "Write about {{ issue.title }}"
    on_fail: { retries: 0, escalate: true }
    gates:
      - assert: { type: contains, value: "GOOD" }
`;

const JUDGED = `
name: judged
phases:
  - id: draft
    task: write
    tier: fast
    prompt: "Write about {{ issue.title }}"
    on_fail: { retries: 0, escalate: true }
    gates:
      - judge:
          threshold: 0.5
          criteria:
            - { name: clarity, weight: 1, rubric: "Reads plainly." }
`;

type Mode = "good" | "poor" | "unavailable" | "config" | "hold";

const MIN = 60_000;

/**
 * A provider whose agent answer depends on the tier: good, poor (fails the gate), or an error.
 * `hold` keeps the call pending until the test releases it. Judges always answer nonsense.
 */
function scripted(modes: Partial<Record<Tier, Mode>>, onCall?: (tier: Tier) => void, name = "scripted") {
  const calls: Tier[] = [];
  let release: (() => void) | undefined;
  let held: (() => void) | undefined;
  const holding = new Promise<void>((resolve) => {
    held = resolve;
  });
  const provider: Provider = {
    name,
    modelFor: (tier) => `${name}-${tier}`,
    complete: async (request) => {
      if (request.purpose.kind === "judge") return offlineResponse(name, request, "I liked it");
      calls.push(request.tier);
      onCall?.(request.tier);
      const mode = modes[request.tier] ?? "good";
      if (mode === "unavailable") throw new ProviderError("overloaded (529) after 3 retries", "unavailable");
      if (mode === "config") throw new ProviderError("401: check ANTHROPIC_API_KEY", "config");
      if (mode === "hold") {
        await new Promise<void>((resolve) => {
          release = resolve;
          held?.();
        });
      }
      return offlineResponse(name, request, mode === "poor" ? "A weak draft." : "A GOOD draft.");
    },
  };
  return { provider, calls, modes, holding, release: () => release?.() };
}

let issueNumber = 100;

/** The breaker a `draft` attempt at `tier` asks: the scripted provider's model for the tier. */
function at(tier: Tier) {
  return { provider: "scripted", model: `scripted-${tier}`, task: "write" as const, tier };
}

/** Starts a run on a new issue (one issue has one active run) and works it to its end. */
async function runOnce(app: LocalApp, pipeline = PIPELINE) {
  const run = start(app, pipeline, { ...ISSUE, number: issueNumber++ });
  await app.worker.runUntilIdle({ group: run.id });
  const record = getRun(app.db, run.id);
  if (!record) throw new Error("run vanished");
  return {
    run: record,
    events: listEvents(app.db, run.id),
    attempts: listAttempts(app.db, run.id),
    status: readFileSync(join(app.runsDir, run.id, "status.md"), "utf8"),
  };
}

describe("the circuit breaker in the worker", () => {
  it("opens after three failures, survives a restart, and routes the next phase one tier up", async () => {
    const repo = tempRepo();
    const clock = manualClock();
    let peek: (() => void) | undefined;
    const script = scripted({ fast: "unavailable" }, () => peek?.());
    const first = openApp(repo, { provider: script.provider, now: clock.now });

    const one = await runOnce(first);
    expect(one.run.state.status).toBe("succeeded");
    // The escalation that followed the failure leaves its reason in the log.
    expect(one.events.find((e) => e.type === "phase.escalated")?.data).toEqual({
      phaseId: "draft",
      attempt: 2,
      from: "fast",
      to: "balanced",
      reason: "1 attempt(s) at fast failed: overloaded (529) after 3 retries",
    });
    await runOnce(first);
    expect(getBreaker(first.db, at("fast"))).toMatchObject({
      state: "closed",
      failures: [clock.now(), clock.now()],
    });
    await runOnce(first);
    expect(getBreaker(first.db, at("fast"))).toMatchObject({ state: "open", openedAt: clock.now() });
    // Passing at balanced counted nothing against balanced.
    expect(getBreaker(first.db, at("balanced"))).toBeUndefined();
    first.close();

    // A new process on the same file.
    clock.advance(MIN);
    const second = openApp(repo, { provider: script.provider, now: clock.now });
    script.calls.length = 0;
    let during = "";
    peek = () => {
      const [run] = listRuns(second.db);
      during = readFileSync(join(second.runsDir, run?.id ?? "", "status.md"), "utf8");
    };
    const four = await runOnce(second);
    // The status comment says so as soon as the phase is moved, before its call returns.
    expect(during).toContain("| draft | 🔄 running | balanced (breaker: fast open) | — |");
    expect(script.calls).toEqual(["balanced"]);
    expect(four.run.state.status).toBe("succeeded");
    expect(four.attempts.map((a) => [a.attempt, a.tier])).toEqual([[1, "balanced"]]);
    const rerouted = four.events.find((e) => e.type === "phase.rerouted");
    expect(rerouted?.data).toEqual({
      phaseId: "draft",
      attempt: 1,
      from: "fast",
      to: "balanced",
      breaker: "open",
      reason:
        "scripted/scripted-fast write at fast: breaker open after 3 failure(s) in the last 1 h; it lets a trial through in 14 min",
    });
    expect(four.status).toContain(
      "| draft | ✅ done | balanced (breaker: fast open) | scripted/scripted-balanced |",
    );
    second.close();
  });

  it("keeps offline runs' breakers apart: simulated failures never move an anthropic run up", async () => {
    const clock = manualClock();
    const simulated = scripted({ fast: "unavailable" }, undefined, "simulated");
    const anthropic = scripted({ fast: "good" }, undefined, "anthropic");
    const app = createLocalApp({
      repoDir: tempRepo(),
      leaseMs: 30_000,
      now: clock.now,
      providerFor: (run) => (run.provider?.name === "anthropic" ? anthropic : simulated).provider,
    });
    const { pipeline, hash, file } = loadPipeline(PIPELINE);
    const work = async (provider: string) => {
      const issue = { ...ISSUE, number: issueNumber++ };
      const run = startRun(app, { pipeline, hash, pipelinePath: file, issue, provider: { name: provider } });
      await app.worker.runUntilIdle({ group: run.id });
      return listEvents(app.db, run.id);
    };
    for (let i = 0; i < 3; i++) await work("simulated");
    const offline = {
      provider: "simulated",
      model: "simulated-fast",
      task: "write" as const,
      tier: "fast" as const,
    };
    expect(getBreaker(app.db, offline)?.state).toBe("open");
    // The simulated runs are moved up by their own breaker...
    simulated.calls.length = 0;
    expect((await work("simulated")).some((e) => e.type === "phase.rerouted")).toBe(true);
    expect(simulated.calls).toEqual(["balanced"]);
    // ...while the anthropic run asks the breaker of anthropic's fast model, which never counted anything.
    const real = await work("anthropic");
    expect(real.some((e) => e.type === "phase.rerouted")).toBe(false);
    expect(anthropic.calls).toEqual(["fast"]);
    expect(
      getBreaker(app.db, { ...offline, provider: "anthropic", model: "anthropic-fast" }),
    ).toBeUndefined();
    app.close();
  });

  it("forgets failures older than the window", async () => {
    const clock = manualClock();
    const script = scripted({ fast: "poor" });
    const app = openApp(tempRepo(), { provider: script.provider, now: clock.now });
    await runOnce(app);
    await runOnce(app);
    clock.advance(61 * MIN);
    await runOnce(app);
    // A failed gate counts like a failed call; the two old ones have left the window.
    expect(getBreaker(app.db, at("fast"))).toMatchObject({ state: "closed", failures: [clock.now()] });
    app.close();
  });

  async function openBreaker(modes: Partial<Record<Tier, Mode>> = { fast: "unavailable" }, cooloff = true) {
    const repo = tempRepo();
    const clock = manualClock();
    const script = scripted(modes);
    const app = openApp(repo, { provider: script.provider, now: clock.now });
    for (let i = 0; i < 3; i++) await runOnce(app);
    expect(getBreaker(app.db, at("fast"))?.state).toBe("open");
    clock.advance(cooloff ? 15 * MIN : MIN);
    script.calls.length = 0;
    return { repo, clock, script, app };
  }

  it("after the cool-off lets one trial through at the original tier, and closes when it passes", async () => {
    const { script, app } = await openBreaker();
    script.modes.fast = "good";
    const trial = await runOnce(app);
    expect(script.calls).toEqual(["fast"]);
    expect(trial.events.some((e) => e.type === "phase.rerouted")).toBe(false);
    expect(trial.attempts.map((a) => a.tier)).toEqual(["fast"]);
    expect(getBreaker(app.db, at("fast"))).toMatchObject({ state: "closed", failures: [] });
    script.calls.length = 0;
    await runOnce(app);
    expect(script.calls).toEqual(["fast"]);
    app.close();
  });

  it("re-opens with a fresh cool-off when the trial fails", async () => {
    const { script, app, clock } = await openBreaker();
    const trial = await runOnce(app);
    expect(script.calls).toEqual(["fast", "balanced"]);
    expect(trial.run.state.status).toBe("succeeded");
    expect(getBreaker(app.db, at("fast"))).toMatchObject({ state: "open", openedAt: clock.now() });
    expect(getBreaker(app.db, at("fast"))?.trial).toBeUndefined();
    clock.advance(MIN);
    script.calls.length = 0;
    const next = await runOnce(app);
    expect(script.calls).toEqual(["balanced"]);
    expect(next.events.find((e) => e.type === "phase.rerouted")?.data).toMatchObject({ breaker: "open" });
    app.close();
  });

  it("turns a second phase away while the trial is under way in another worker", async () => {
    const { repo, clock, script, app } = await openBreaker({ fast: "unavailable" });
    script.modes.fast = "hold";
    const trialRun = start(app, PIPELINE, { ...ISSUE, number: issueNumber++ });
    const trialWork = app.worker.runUntilIdle({ group: trialRun.id });
    await script.holding;
    expect(getBreaker(app.db, at("fast"))).toMatchObject({
      state: "half-open",
      trial: { key: `${trialRun.id}/draft/1` },
    });

    // Another worker process on the same database, while the trial's call is still running.
    const other = openApp(repo, { provider: script.provider, now: clock.now });
    const second = await runOnce(other);
    expect(second.run.state.status).toBe("succeeded");
    expect(second.attempts.map((a) => a.tier)).toEqual(["balanced"]);
    expect(second.events.find((e) => e.type === "phase.rerouted")?.data).toMatchObject({
      from: "fast",
      to: "balanced",
      breaker: "half-open",
    });
    expect(second.status).toContain("balanced (breaker: fast half-open)");
    other.close();

    script.release();
    await trialWork;
    expect(getRun(app.db, trialRun.id)?.state.status).toBe("succeeded");
    expect(listAttempts(app.db, trialRun.id).map((a) => a.tier)).toEqual(["fast"]);
    expect(getBreaker(app.db, at("fast"))).toMatchObject({ state: "closed", failures: [] });
    app.close();
  });

  it("skips every open tier on the way up, and runs at deep whatever its breaker says", async () => {
    // Three runs that fail at every tier open all three breakers of `write`.
    const { script, app } = await openBreaker(
      { fast: "unavailable", balanced: "unavailable", deep: "poor" },
      false,
    );
    for (const tier of ["balanced", "deep"] as const)
      expect(getBreaker(app.db, at(tier))?.state).toBe("open");
    script.modes.deep = "good";
    const run = await runOnce(app);
    expect(script.calls).toEqual(["deep"]);
    expect(run.attempts.map((a) => [a.attempt, a.tier])).toEqual([[1, "deep"]]);
    expect(run.events.filter((e) => e.type === "phase.rerouted").map((e) => e.data)).toMatchObject([
      { attempt: 1, from: "fast", to: "balanced" },
      { attempt: 1, from: "balanced", to: "deep" },
    ]);
    expect(run.status).toContain("| deep (breaker: fast open, balanced open) |");
    // A success at deep is not the trial of an open breaker: it stays open until its cool-off ends.
    expect(getBreaker(app.db, at("deep"))?.state).toBe("open");
    app.close();
  });

  it("does not count configuration errors: the phase fails at once with the provider's message", async () => {
    const script = scripted({ fast: "config" });
    const app = openApp(tempRepo(), { provider: script.provider, now: manualClock().now });
    for (let i = 0; i < 4; i++) {
      const run = await runOnce(app);
      expect(run.run.state.status).toBe("failed");
      expect(run.run.state.reason).toContain("401: check ANTHROPIC_API_KEY");
    }
    expect(script.calls).toEqual(["fast", "fast", "fast", "fast"]);
    expect(getBreaker(app.db, at("fast"))).toBeUndefined();
    app.close();
  });

  it("does not count grader errors", async () => {
    const script = scripted({});
    const app = openApp(tempRepo(), { provider: script.provider, now: manualClock().now });
    for (let i = 0; i < 4; i++) {
      const run = await runOnce(app, JUDGED);
      expect(run.run.state.reason).toContain("could not be judged");
    }
    expect(getBreaker(app.db, at("fast"))).toBeUndefined();
    app.close();
  });

  for (const when of ["beforeRecord", "afterRecord"] as const) {
    it(`counts a failure once when the worker is killed ${when === "beforeRecord" ? "before" : "after"} recording it`, async () => {
      const repo = tempRepo();
      const clock = manualClock();
      const script = scripted({ fast: "unavailable" });
      let crashed = 0;
      const first = openApp(repo, {
        provider: script.provider,
        now: clock.now,
        hooks: {
          [when]: (_effect: unknown, event: { type: string }) => {
            if (event.type === "agent.failed" && crashed++ === 0) throw new WorkerStopped("killed");
          },
        },
      });
      const run = start(first, PIPELINE, { ...ISSUE, number: issueNumber++ });
      await expect(first.worker.runUntilIdle()).rejects.toThrow(WorkerStopped);
      first.close();

      clock.advance(31_000);
      const second = openApp(repo, { provider: script.provider, now: clock.now });
      await second.worker.runUntilIdle();
      expect(getRun(second.db, run.id)?.state.status).toBe("succeeded");
      expect(getBreaker(second.db, at("fast"))?.failures).toHaveLength(1);
      // Killed before recording, the failed call is made again (and counted once); after, it is not.
      expect(script.calls.filter((t) => t === "fast")).toHaveLength(when === "beforeRecord" ? 2 : 1);
      second.close();
    });
  }
});

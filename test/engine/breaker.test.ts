import { describe, expect, it } from "vitest";
import {
  admit,
  type Breaker,
  breakerKeyFor,
  breakerName,
  breakerOutcome,
  breakerSettings,
  CLOSED_BREAKER,
  DEFAULT_BREAKER_SETTINGS,
  failuresInWindow,
  halfOpensAt,
  recordOutcome,
} from "../../src/engine/breaker.js";
import { InvalidTransition, initialState, nextEffect, transition } from "../../src/engine/transition.js";
import type { GatesVerdict, RunEvent, RunState } from "../../src/engine/types.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";

const settings = DEFAULT_BREAKER_SETTINGS; // 3 failures in 1 h; 15 min cool-off
const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 12);

function failures(times: number[], start: Breaker = CLOSED_BREAKER): Breaker {
  return times.reduce(
    (breaker, now, i) => recordOutcome(breaker, { result: "failure", key: `run/p/${i}`, now }, settings),
    start,
  );
}

const opened = () => failures([T0, T0 + MIN, T0 + 2 * MIN]); // opened at T0 + 2 min

describe("circuit breaker rules", () => {
  describe("counting failures", () => {
    it("stays closed below the threshold and lets every attempt through", () => {
      const breaker = failures([T0, T0 + MIN]);
      expect(breaker).toEqual({ state: "closed", failures: [T0, T0 + MIN] });
      expect(admit(breaker, { key: "r/p/1", now: T0 + 2 * MIN }, settings)).toEqual({
        allowed: true,
        breaker,
        trial: false,
      });
    });

    it("opens at the threshold", () => {
      expect(opened()).toEqual({
        state: "open",
        failures: [T0, T0 + MIN, T0 + 2 * MIN],
        openedAt: T0 + 2 * MIN,
      });
      expect(halfOpensAt(opened(), settings)).toBe(T0 + 17 * MIN);
    });

    it("forgets failures that left the window", () => {
      const breaker = failures([T0, T0 + MIN, T0 + 61 * MIN]);
      expect(breaker.state).toBe("closed");
      expect(breaker.failures).toEqual([T0 + 61 * MIN]);
      expect(failuresInWindow(failures([T0, T0 + MIN]), T0 + 60 * MIN + 30_000, settings)).toBe(1);
    });

    it("does not reset on a success while closed: the window decides", () => {
      const breaker = recordOutcome(failures([T0, T0]), { result: "success", key: "x", now: T0 }, settings);
      expect(recordOutcome(breaker, { result: "failure", key: "y", now: T0 }, settings).state).toBe("open");
    });

    it("takes its threshold, window and cool-off from the settings", () => {
      const one = breakerSettings({ threshold: 1, cooloffMs: MIN });
      const breaker = recordOutcome(CLOSED_BREAKER, { result: "failure", key: "a", now: T0 }, one);
      expect(breaker.state).toBe("open");
      expect(admit(breaker, { key: "b", now: T0 + MIN }, one)).toMatchObject({ allowed: true, trial: true });
    });

    it("refuses a bad setting, naming it", () => {
      expect(() => breakerSettings({ threshold: 0 })).toThrow("breaker.threshold must be a whole number");
      expect(() => breakerSettings({ cooloffMs: -1 })).toThrow("breaker.cooloffMs must be a positive number");
    });
  });

  describe("an open breaker", () => {
    it("turns attempts away until the cool-off is over, saying why", () => {
      const admission = admit(opened(), { key: "r/p/1", now: T0 + 10 * MIN }, settings);
      expect(admission).toEqual({
        allowed: false,
        state: "open",
        reason: "breaker open after 3 failure(s) in the last 1 h; it lets a trial through in 7 min",
      });
    });

    it("after the cool-off lets exactly one trial through (half-open)", () => {
      const first = admit(opened(), { key: "r1/p/1", now: T0 + 17 * MIN }, settings);
      expect(first).toEqual({
        allowed: true,
        trial: true,
        breaker: { ...opened(), state: "half-open", trial: { key: "r1/p/1", startedAt: T0 + 17 * MIN } },
      });
      if (!first.allowed) throw new Error("unreachable");
      const second = admit(first.breaker, { key: "r2/p/1", now: T0 + 18 * MIN }, settings);
      expect(second).toMatchObject({ allowed: false, state: "half-open" });
      // The trial asking again (its job redelivered after a crash) is still the trial.
      expect(admit(first.breaker, { key: "r1/p/1", now: T0 + 18 * MIN }, settings)).toMatchObject({
        allowed: true,
        trial: true,
      });
    });

    it("hands a trial silent for a whole cool-off to the next attempt", () => {
      const half = admit(opened(), { key: "r1/p/1", now: T0 + 17 * MIN }, settings);
      if (!half.allowed) throw new Error("unreachable");
      const next = admit(half.breaker, { key: "r2/p/1", now: T0 + 32 * MIN }, settings);
      expect(next).toMatchObject({
        allowed: true,
        trial: true,
        breaker: { trial: { key: "r2/p/1", startedAt: T0 + 32 * MIN } },
      });
    });
  });

  describe("the half-open trial", () => {
    const halfOpen = (): Breaker => {
      const admission = admit(opened(), { key: "trial", now: T0 + 20 * MIN }, settings);
      if (!admission.allowed) throw new Error("unreachable");
      return admission.breaker;
    };

    it("closes the breaker and forgets its failures when it succeeds", () => {
      const closed = recordOutcome(
        halfOpen(),
        { result: "success", key: "trial", now: T0 + 21 * MIN },
        settings,
      );
      expect(closed).toEqual({ state: "closed", failures: [] });
    });

    it("re-opens it with a fresh cool-off when it fails", () => {
      const again = recordOutcome(
        halfOpen(),
        { result: "failure", key: "trial", now: T0 + 21 * MIN },
        settings,
      );
      expect(again).toMatchObject({ state: "open", openedAt: T0 + 21 * MIN });
      expect(again.trial).toBeUndefined();
      expect(admit(again, { key: "next", now: T0 + 30 * MIN }, settings).allowed).toBe(false);
    });

    it("that ends saying nothing about the tier frees the trial for the next attempt", () => {
      const open = recordOutcome(halfOpen(), { result: "void", key: "trial", now: T0 + 21 * MIN }, settings);
      expect(open).toMatchObject({ state: "open", openedAt: T0 + 2 * MIN });
      expect(admit(open, { key: "next", now: T0 + 21 * MIN }, settings)).toMatchObject({
        allowed: true,
        trial: true,
      });
    });

    it("is decided by the trial only: other attempts at the tier are counted but move nothing", () => {
      const other = recordOutcome(
        halfOpen(),
        { result: "failure", key: "late", now: T0 + 21 * MIN },
        settings,
      );
      expect(other).toMatchObject({ state: "half-open", trial: { key: "trial" } });
      expect(other.failures).toHaveLength(4);
      const success = recordOutcome(
        halfOpen(),
        { result: "success", key: "late", now: T0 + 21 * MIN },
        settings,
      );
      expect(success.state).toBe("half-open");
    });
  });

  describe("what counts", () => {
    const state = { ...initialState(), step: "call" as const };
    const verdict = (pass: boolean, error?: string): GatesVerdict => ({
      pass,
      results: [{ gate: "judge", pass, score: 0, reasons: [], ...(error ? { error } : {}) }],
    });
    const gates = (v: GatesVerdict): RunEvent => ({
      type: "gates.evaluated",
      verdict: v,
      usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: 0,
    });
    const failed = (
      kind?: "unavailable" | "bad-output" | "config" | "budget" | "missing-fixture" | "cancelled",
    ) => ({ type: "agent.failed", error: "x", fatal: false, ...(kind ? { kind } : {}) }) as RunEvent;

    it("a call that failed after retries, or answered malformed output, is a failure", () => {
      expect(breakerOutcome(state, failed("unavailable"))).toBe("failure");
      expect(breakerOutcome(state, failed("bad-output"))).toBe("failure");
    });

    it("configuration, budget, fixture and cancellation errors are not", () => {
      for (const kind of ["config", "budget", "missing-fixture", "cancelled"] as const)
        expect(breakerOutcome(state, failed(kind))).toBe("void");
      expect(breakerOutcome(state, failed())).toBe("void");
    });

    it("a failed gate is a failure, passed gates a success, a grader error neither", () => {
      expect(breakerOutcome(state, gates(verdict(false)))).toBe("failure");
      expect(breakerOutcome(state, gates(verdict(true)))).toBe("success");
      expect(breakerOutcome(state, gates(verdict(false, "could not be judged: nonsense")))).toBe("void");
    });

    it("a run stopped mid-attempt says nothing; other events are not outcomes", () => {
      expect(breakerOutcome(state, { type: "run.cancelled", by: "alice" })).toBe("void");
      expect(
        breakerOutcome({ ...state, step: "approval" }, { type: "run.cancelled", by: "a" }),
      ).toBeUndefined();
      expect(breakerOutcome(state, { type: "phase.committed", sha: "c" })).toBeUndefined();
    });
  });
});

describe("tier changes in the run state machine", () => {
  const p: ResolvedPipeline = {
    name: "p",
    labels: [],
    phases: [
      {
        kind: "agent",
        id: "draft",
        name: "Draft",
        task: "write",
        tier: "fast",
        executor: "llm",
        prompt: "Write.",
        context: [],
        output: { artifact: "out.md" },
        gates: [],
        onFail: { retries: 0, escalate: true, exhausted: "fail", feedback: "critique" },
      },
    ],
  };
  const started = (): RunState => transition(initialState(), { type: "branch.prepared", head: "a" }, p).state;
  const reroute = (from: "fast" | "balanced", to: "balanced" | "deep", attempt = 1): RunEvent => ({
    type: "phase.rerouted",
    phaseId: "draft",
    attempt,
    from,
    to,
    breaker: "open",
    reason: `write at ${from}: breaker open`,
  });

  it("a reroute moves the attempt about to start one tier up, keeping its number and saying why", () => {
    const { state, effects } = transition(started(), reroute("fast", "balanced"), p);
    expect(state).toMatchObject({ step: "call", attempt: 1, triesAtTier: 1, tier: "balanced" });
    expect(state.tierChanges).toEqual({
      draft: [
        {
          attempt: 1,
          from: "fast",
          to: "balanced",
          cause: "breaker",
          breaker: "open",
          reason: "write at fast: breaker open",
        },
      ],
    });
    expect(effects).toEqual([
      { kind: "call_agent", key: "draft/1/agent", phaseId: "draft", attempt: 1, tier: "balanced" },
    ]);
    const further = transition(state, reroute("balanced", "deep"), p).state;
    expect(nextEffect(further, p)).toMatchObject({ tier: "deep" });
    expect(further.tierChanges?.draft).toHaveLength(2);
  });

  it("refuses a reroute that does not fit the attempt about to start", () => {
    expect(() => transition(started(), reroute("balanced", "deep"), p)).toThrow(InvalidTransition);
    expect(() => transition(started(), reroute("fast", "balanced", 2), p)).toThrow(InvalidTransition);
    const skipping: RunEvent = { ...reroute("fast", "balanced"), to: "deep" } as RunEvent;
    expect(() => transition(started(), skipping, p)).toThrow(InvalidTransition);
  });

  it("an escalation after the retries records the tier change and its reason", () => {
    const state = transition(
      started(),
      { type: "agent.failed", error: "overloaded (529)", fatal: false, kind: "unavailable" },
      p,
    ).state;
    expect(state).toMatchObject({ attempt: 2, tier: "balanced", triesAtTier: 1 });
    expect(state.tierChanges?.draft).toEqual([
      {
        attempt: 2,
        from: "fast",
        to: "balanced",
        cause: "escalation",
        reason: "1 attempt(s) at fast failed: overloaded (529)",
      },
    ]);
  });
});

describe("breaker keys", () => {
  const anthropic = { name: "anthropic", modelFor: (tier: string) => `claude-${tier}` };
  const simulated = { name: "simulated", modelFor: (tier: string) => `simulated-${tier}` };

  it("name the run's provider and the model the tier maps to for it", () => {
    const phase = { task: "write" as const, tier: "fast" as const };
    expect(breakerKeyFor(phase, "fast", anthropic)).toEqual({
      provider: "anthropic",
      model: "claude-fast",
      task: "write",
      tier: "fast",
    });
    // An offline provider's attempts are keyed apart from a real one's at the same task and tier.
    expect(breakerKeyFor(phase, "fast", simulated)).not.toEqual(breakerKeyFor(phase, "fast", anthropic));
    expect(breakerName(breakerKeyFor(phase, "balanced", anthropic))).toBe(
      "anthropic/claude-balanced write at balanced",
    );
  });

  it("take a model the phase pins for its own tier only, as the worker calls it", () => {
    const phase = { task: "code" as const, tier: "balanced" as const, model: "claude-pinned" };
    expect(breakerKeyFor(phase, "balanced", anthropic).model).toBe("claude-pinned");
    expect(breakerKeyFor(phase, "deep", anthropic).model).toBe("claude-deep");
  });
});

import { describe, expect, it } from "vitest";
import { InvalidTransition, initialState, nextEffect, transition } from "../../src/engine/transition.js";
import type { AttemptOutput, GatesVerdict, RunEvent, RunState } from "../../src/engine/types.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";

const usage = { inputTokens: 100, outputTokens: 50, cacheReadTokens: 0, cacheWriteTokens: 0 };
const zero = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

function pipeline(overrides: Partial<ResolvedPipeline> = {}, retries = 1, escalate = true): ResolvedPipeline {
  return {
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
        onFail: { retries, escalate, exhausted: "fail", feedback: "critique" },
      },
      { kind: "wait", id: "cooldown", name: "Cooldown", wait: "1h", waitMs: 3_600_000 },
      { kind: "approval", id: "review", name: "Review", minApprovals: 1 },
    ],
    ...overrides,
  };
}

const output = (tier: AttemptOutput["tier"] = "fast"): AttemptOutput => ({
  text: "hello",
  provider: "simulated",
  model: `simulated-${tier}`,
  tier,
  usage,
  costUsd: 0.01,
});
const verdict = (pass: boolean): GatesVerdict => ({
  pass,
  results: [{ gate: "judge", pass, score: pass ? 0.9 : 0.4, reasons: pass ? [] : ["too vague"] }],
});

function apply(p: ResolvedPipeline, ...events: RunEvent[]): RunState {
  return events.reduce((state, event) => transition(state, event, p).state, initialState());
}

describe("run state machine", () => {
  it("starts by preparing the branch, then calls the first phase's agent on its tier", () => {
    const p = pipeline();
    expect(nextEffect(initialState(), p)).toEqual({ kind: "prepare_branch", key: "prepare" });
    const result = transition(initialState(), { type: "branch.prepared", head: "abc" }, p);
    expect(result.effects).toEqual([
      { kind: "call_agent", key: "draft/1/agent", phaseId: "draft", attempt: 1, tier: "fast" },
    ]);
  });

  it("walks a passing phase through judge, commit and comment, keeping its output for later phases", () => {
    const p = pipeline();
    const state = apply(
      p,
      { type: "branch.prepared", head: "a" },
      { type: "agent.completed", output: output() },
      { type: "gates.evaluated", verdict: verdict(true), usage: zero, costUsd: 0 },
      { type: "phase.committed", sha: "c1" },
      { type: "phase.commented", commentId: "x" },
    );
    expect(state.outputs).toEqual({ draft: "hello" });
    expect(state.head).toBe("c1");
    expect(nextEffect(state, p)).toEqual({
      kind: "schedule_wait",
      key: "cooldown/wait",
      phaseId: "cooldown",
      waitMs: 3_600_000,
    });
    expect(state.totals).toEqual({ tokens: 150, costUsd: 0.01 });
    expect(state.seq).toBe(5);
  });

  describe("a failed gate", () => {
    const failOnce: RunEvent[] = [
      { type: "branch.prepared", head: "a" },
      { type: "agent.completed", output: output() },
      { type: "gates.evaluated", verdict: verdict(false), usage: zero, costUsd: 0 },
    ];

    it("retries at the same tier with the critique as feedback", () => {
      const state = apply(pipeline(), ...failOnce);
      expect(state).toMatchObject({
        step: "call",
        attempt: 2,
        tier: "fast",
        triesAtTier: 2,
        feedback: "too vague",
      });
    });

    it("escalates one tier after the retries are used", () => {
      const state = apply(
        pipeline(),
        ...failOnce,
        { type: "agent.completed", output: output() },
        {
          type: "gates.evaluated",
          verdict: verdict(false),
          usage: zero,
          costUsd: 0,
        },
      );
      expect(state).toMatchObject({ step: "call", attempt: 3, tier: "balanced", triesAtTier: 1 });
    });

    it("with escalate off and no retries left, posts the phase comment and then fails the run", () => {
      const p = pipeline({}, 0, false);
      const state = apply(p, ...failOnce);
      expect(state).toMatchObject({ status: "running", step: "comment" });
      expect(state.current?.failure).toContain('phase "draft" failed after 1 attempt(s): too vague');
      const ended = transition(state, { type: "phase.commented", commentId: "c" }, p).state;
      expect(ended).toMatchObject({ status: "failed", step: "done" });
      expect(ended.reason).toContain("too vague");
    });

    it("ends the run after failing at the deep tier", () => {
      const p = pipeline({}, 0, true);
      const events: RunEvent[] = [{ type: "branch.prepared", head: "a" }];
      for (const tier of ["fast", "balanced", "deep"] as const) {
        events.push(
          { type: "agent.completed", output: output(tier) },
          { type: "gates.evaluated", verdict: verdict(false), usage: zero, costUsd: 0 },
        );
      }
      const state = apply(p, ...events);
      expect(state.step).toBe("comment");
      expect(state.current?.failure).toContain("failed after 3 attempt(s)");
    });
  });

  it("a fatal provider error fails the phase without retrying", () => {
    const state = apply(
      pipeline(),
      { type: "branch.prepared", head: "a" },
      { type: "agent.failed", error: "no fixture", fatal: true },
    );
    expect(state.step).toBe("comment");
    expect(state.current?.failure).toContain("could not run: no fixture");
  });

  it("a provider error that is not fatal is retried like a failed gate", () => {
    const state = apply(
      pipeline(),
      { type: "branch.prepared", head: "a" },
      { type: "agent.failed", error: "overloaded", fatal: false },
    );
    expect(state).toMatchObject({ step: "call", attempt: 2, feedback: "overloaded" });
  });

  it("stops before a call once the budget is spent", () => {
    const p = pipeline({ budget: { maxTokens: 100 } });
    const state = apply(
      p,
      { type: "branch.prepared", head: "a" },
      { type: "agent.completed", output: output() },
      { type: "gates.evaluated", verdict: verdict(false), usage: zero, costUsd: 0 },
    );
    expect(state.status).toBe("failed");
    expect(state.reason).toBe("budget exhausted: 150 tokens used of 100");
  });

  it("waits durably, then waits for approval, then succeeds", () => {
    const p = pipeline();
    let state = apply(
      p,
      { type: "branch.prepared", head: "a" },
      { type: "agent.completed", output: output() },
      { type: "gates.evaluated", verdict: verdict(true), usage: zero, costUsd: 0 },
      { type: "phase.committed", sha: "c1" },
      { type: "phase.commented", commentId: "x" },
      { type: "wait.scheduled", until: 1000 },
    );
    expect(state).toMatchObject({ status: "waiting", waitUntil: 1000 });
    expect(nextEffect(state, p)).toBeUndefined();
    state = transition(state, { type: "wait.elapsed", phaseId: "cooldown", fastForwarded: false }, p).state;
    expect(nextEffect(state, p)).toEqual({
      kind: "request_approval",
      key: "review/approval",
      phaseId: "review",
    });
    state = transition(state, { type: "approval.requested" }, p).state;
    expect(() =>
      transition(state, { type: "wait.elapsed", phaseId: "cooldown", fastForwarded: false }, p),
    ).toThrow(InvalidTransition);
    state = transition(state, { type: "approval.granted", phaseId: "review", by: "alice" }, p).state;
    expect(state).toMatchObject({ status: "succeeded", step: "done" });
    expect(() => transition(state, { type: "approval.granted", phaseId: "review", by: "bob" }, p)).toThrow(
      "run has succeeded",
    );
  });

  it("refuses an approval while the run is still working", () => {
    const state = apply(pipeline(), { type: "branch.prepared", head: "a" });
    expect(() =>
      transition(state, { type: "approval.granted", phaseId: "review", by: "alice" }, pipeline()),
    ).toThrow("not waiting for approval");
  });

  it("refuses an event out of order", () => {
    const state = apply(pipeline(), { type: "branch.prepared", head: "a" });
    expect(() => transition(state, { type: "phase.committed", sha: "x" }, pipeline())).toThrow(
      InvalidTransition,
    );
  });

  it("cancels from any live state", () => {
    const state = apply(
      pipeline(),
      { type: "branch.prepared", head: "a" },
      { type: "run.cancelled", by: "alice" },
    );
    expect(state).toMatchObject({ status: "cancelled", reason: "cancelled by alice" });
    expect(nextEffect(state, pipeline())).toBeUndefined();
  });

  it("completes a run whose pull request was merged, whatever step it was at, and then does nothing more", () => {
    const state = apply(
      pipeline(),
      { type: "branch.prepared", head: "a" },
      { type: "run.merged", by: "@alice (pull request #2)" },
    );
    expect(state).toMatchObject({
      status: "succeeded",
      step: "done",
      reason: "merged by @alice (pull request #2)",
    });
    expect(nextEffect(state, pipeline())).toBeUndefined();
  });

  it("hands a phase to a person when retries and escalation are spent and the pipeline says so", () => {
    const base = pipeline({}, 0, false);
    const phase = base.phases[0];
    if (phase?.kind !== "agent") throw new Error("expected an agent phase");
    const p = {
      ...base,
      phases: [
        { ...phase, onFail: { ...phase.onFail, exhausted: "human" as const } },
        ...base.phases.slice(1),
      ],
    };
    const failed = apply(
      p,
      { type: "branch.prepared", head: "a" },
      { type: "agent.completed", output: output() },
      { type: "gates.evaluated", verdict: verdict(false), usage: zero, costUsd: 0 },
    );
    // The phase's comment first (what failed), then the label, then the wait for a person.
    expect(nextEffect(failed, p)).toMatchObject({ kind: "comment" });
    const commented = apply(
      p,
      { type: "branch.prepared", head: "a" },
      { type: "agent.completed", output: output() },
      { type: "gates.evaluated", verdict: verdict(false), usage: zero, costUsd: 0 },
      { type: "phase.commented", commentId: "c1" },
    );
    expect(nextEffect(commented, p)).toMatchObject({ kind: "hand_off", label: "needs-human" });
    const handed = transition(commented, { type: "handoff.done", label: "needs-human" }, p).state;
    expect(handed.status).toBe("needs_human");
    expect(nextEffect(handed, p)).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { InvalidTransition, initialState, nextEffect, transition } from "../../src/engine/transition.js";
import type { AttemptOutput, GatesVerdict, RunEvent, RunState } from "../../src/engine/types.js";
import type { ResolvedPhase, ResolvedPipeline } from "../../src/pipeline/resolved.js";

const usage = { inputTokens: 100, outputTokens: 50, cacheReadTokens: 0, cacheWriteTokens: 0 };

function agent(
  id: string,
  tier: "fast" | "balanced" | "deep" = "fast",
  exhausted: "fail" | "human" = "fail",
): ResolvedPhase {
  return {
    kind: "agent",
    id,
    name: id,
    task: "write",
    tier,
    executor: "llm",
    prompt: "Write.",
    context: [],
    output: { artifact: `${id}.md` },
    gates: [],
    onFail: { retries: 0, escalate: false, exhausted, feedback: "critique" },
  };
}

/** plan -> code -> cooldown -> review: two agent phases, a wait and an approval. */
function pipeline(
  options: { exhausted?: "fail" | "human"; codeTier?: "fast" | "deep"; budget?: number } = {},
): ResolvedPipeline {
  return {
    name: "p",
    labels: [],
    phases: [
      agent("plan"),
      agent("code", options.codeTier ?? "fast", options.exhausted ?? "fail"),
      { kind: "wait", id: "cooldown", name: "Cooldown", wait: "1h", waitMs: 3_600_000 },
      { kind: "approval", id: "review", name: "Review", minApprovals: 1 },
    ],
    ...(options.budget === undefined ? {} : { budget: { maxCostUsd: options.budget } }),
  };
}

const output = (text: string, tier: AttemptOutput["tier"] = "fast"): AttemptOutput => ({
  text,
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

function apply(p: ResolvedPipeline, state: RunState, ...events: RunEvent[]): RunState {
  return events.reduce((s, event) => transition(s, event, p).state, state);
}

/** A phase that passes its gates, is committed and commented. */
function pass(text: string, n: number, tier: AttemptOutput["tier"] = "fast"): RunEvent[] {
  return [
    { type: "agent.completed", output: output(text, tier) },
    { type: "gates.evaluated", verdict: verdict(true), usage, costUsd: 0 },
    { type: "phase.committed", sha: `sha${n}` },
    { type: "phase.commented", commentId: `c${n}` },
  ];
}

/** plan passed; code's only attempt failed its gate and the run failed (or went to a person). */
function failedAtCode(p: ResolvedPipeline, tier: AttemptOutput["tier"] = "fast"): RunState {
  return apply(
    p,
    initialState(),
    { type: "branch.prepared", head: "base" },
    ...pass("the plan", 1),
    { type: "agent.completed", output: output("bad code", tier) },
    { type: "gates.evaluated", verdict: verdict(false), usage, costUsd: 0 },
    { type: "phase.commented", commentId: "c2" },
  );
}

describe("engine > phase.retry", () => {
  it("a failed run runs its failed phase again, as a new attempt at the phase's tier, and records who asked", () => {
    const p = pipeline();
    const failed = failedAtCode(p);
    expect(failed).toMatchObject({ status: "failed", phaseIndex: 1, attempt: 1 });
    const { state, effects } = transition(
      failed,
      { type: "phase.retry", phaseId: "code", by: "@octocat" },
      p,
    );
    expect(state).toMatchObject({
      status: "running",
      step: "call",
      phaseIndex: 1,
      attempt: 2,
      tier: "fast",
      round: 1,
    });
    expect(state.reason).toBeUndefined();
    expect(state.outputs).toEqual({ plan: "the plan" });
    expect(effects).toEqual([
      { kind: "call_agent", key: "code/2/agent", phaseId: "code", attempt: 2, tier: "fast" },
    ]);
    // The commits stay: the phase commits again on top of the branch's head.
    expect(state.head).toBe("sha1");
  });

  it("a run handed to a person runs again from the failed phase", () => {
    const p = pipeline({ exhausted: "human" });
    const handed = apply(p, failedAtCode(p), { type: "handoff.done", label: "needs-human" });
    expect(handed.status).toBe("needs_human");
    const state = apply(p, handed, { type: "phase.retry", phaseId: "code", by: "@octocat" });
    expect(state).toMatchObject({ status: "running", step: "call", phaseIndex: 1, attempt: 2 });
  });

  it("an earlier phase runs again, its later phases forget their output, and attempt numbers go on", () => {
    const p = pipeline();
    const atCooldown = apply(
      p,
      initialState(),
      { type: "branch.prepared", head: "base" },
      ...pass("plan v1", 1),
      ...pass("code v1", 2),
    );
    expect(atCooldown).toMatchObject({ step: "wait", phaseIndex: 2 });
    const back = apply(p, atCooldown, { type: "phase.retry", phaseId: "plan", by: "@octocat" });
    expect(back).toMatchObject({ phaseIndex: 0, attempt: 2, step: "call", status: "running" });
    expect(back.outputs).toEqual({});
    // plan's second attempt passes; code goes on from its own attempt 1 to attempt 2.
    const atCode = apply(p, back, ...pass("plan v2", 3));
    expect(atCode).toMatchObject({ phaseIndex: 1, attempt: 2 });
    expect(nextEffect(atCode, p)?.key).toBe("code/2/agent");
    expect(atCode.outputs).toEqual({ plan: "plan v2" });
    // The cooldown of the second round is a new effect, not the first round's recorded one.
    const waiting = apply(p, atCode, ...pass("code v2", 4));
    expect(nextEffect(waiting, p)).toEqual({
      kind: "schedule_wait",
      key: "cooldown/wait/r1",
      phaseId: "cooldown",
      waitMs: 3_600_000,
    });
  });

  it("a cooldown timer from before the retry is refused when the run waits again", () => {
    const p = pipeline();
    const start = apply(
      p,
      initialState(),
      { type: "branch.prepared", head: "base" },
      ...pass("a", 1),
      ...pass("b", 2),
    );
    const waiting = apply(p, start, { type: "wait.scheduled", until: 10 });
    const again = apply(
      p,
      waiting,
      { type: "phase.retry", phaseId: "code", by: "@octocat" },
      ...pass("c", 3),
      {
        type: "wait.scheduled",
        until: 20,
      },
    );
    expect(again).toMatchObject({ status: "waiting", round: 1 });
    const stale: RunEvent = { type: "wait.elapsed", phaseId: "cooldown", fastForwarded: false };
    expect(() => transition(again, stale, p)).toThrow(/round 0/);
    const fresh = apply(p, again, { ...stale, round: 1 });
    expect(fresh).toMatchObject({ status: "running", step: "approval", phaseIndex: 3 });
  });

  it("a run awaiting approval goes back and forgets the approvals it had", () => {
    const p = pipeline();
    const atReview = apply(
      p,
      initialState(),
      { type: "branch.prepared", head: "base" },
      ...pass("a", 1),
      ...pass("b", 2),
      { type: "wait.scheduled", until: 10 },
      { type: "wait.elapsed", phaseId: "cooldown", fastForwarded: true },
      { type: "approval.requested" },
    );
    expect(atReview.status).toBe("awaiting_approval");
    const back = apply(p, atReview, { type: "phase.retry", phaseId: "code", by: "@octocat" });
    expect(back).toMatchObject({ status: "running", phaseIndex: 1, attempt: 2 });
    expect(back.approvals).toBeUndefined();
  });

  it.each([
    ["succeeded", { status: "succeeded" as const }, /run has succeeded/],
    ["cancelled", { status: "cancelled" as const }, /run was cancelled/],
  ])("a %s run is refused", (_name, change, message) => {
    const p = pipeline();
    const state = { ...failedAtCode(p), ...change };
    expect(() => transition(state, { type: "phase.retry", phaseId: "code", by: "@x" }, p)).toThrow(message);
  });

  it.each([
    ["a phase the pipeline does not have", "deploy", /no phase "deploy"/],
    ["a phase not reached yet", "plan", /has not run yet/],
    ["a wait phase", "cooldown", /wait phase/],
  ])("%s is refused", (_name, phaseId, message) => {
    const p = pipeline();
    const atPlan = apply(p, initialState(), { type: "branch.prepared", head: "base" });
    const state = phaseId === "plan" ? initialState() : atPlan;
    expect(() => transition(state, { type: "phase.retry", phaseId, by: "@x" }, p)).toThrow(InvalidTransition);
    expect(() => transition(state, { type: "phase.retry", phaseId, by: "@x" }, p)).toThrow(message);
  });

  it("a retry past the budget is refused, saying so, instead of ending the run again at once", () => {
    const p = pipeline({ budget: 0.02 });
    const failed = failedAtCode(p);
    expect(() => transition(failed, { type: "phase.retry", phaseId: "code", by: "@x" }, p)).toThrow(
      /the run's budget is spent \(budget exhausted: \$0\.0200 spent of \$0\.02\)/,
    );
  });

  it("a failed run takes no other event, except its pull request or issue ending it for good", () => {
    const p = pipeline();
    expect(() => transition(failedAtCode(p), { type: "approval.requested" }, p)).toThrow(/run has failed/);
    // Merged or closed: a later /retry must not revive it onto a merged or closed branch.
    const closed = transition(
      failedAtCode(p),
      { type: "run.cancelled", by: "@x, who closed issue #1" },
      p,
    ).state;
    expect(closed.status).toBe("cancelled");
    expect(() => transition(closed, { type: "phase.retry", phaseId: "code", by: "@y" }, p)).toThrow(
      /run was cancelled/,
    );
    expect(
      transition(failedAtCode(p), { type: "run.merged", by: "@x (pull request #2)" }, p).state.status,
    ).toBe("succeeded");
  });
});

describe("engine > phase.escalate", () => {
  it("runs the phase one tier above its last, with its previous output as context, and records why", () => {
    const p = pipeline();
    const failed = failedAtCode(p);
    const { state, effects } = transition(
      failed,
      { type: "phase.escalate", phaseId: "code", by: "@octocat" },
      p,
    );
    expect(effects).toEqual([
      { kind: "call_agent", key: "code/2/agent", phaseId: "code", attempt: 2, tier: "balanced" },
    ]);
    expect(state.feedback).toContain("bad code");
    expect(state.feedback).toContain("@octocat");
    expect(state.tierChanges?.code).toEqual([
      { attempt: 2, from: "fast", to: "balanced", cause: "escalation", reason: "escalated by @octocat" },
    ]);
  });

  it("an earlier phase escalates from the tier it last ran at", () => {
    const p = pipeline();
    const atCode = apply(
      p,
      initialState(),
      { type: "branch.prepared", head: "base" },
      ...pass("plan v1", 1, "balanced"),
    );
    const state = apply(p, atCode, { type: "phase.escalate", phaseId: "plan", by: "@x" });
    expect(state).toMatchObject({ phaseIndex: 0, attempt: 2, tier: "deep" });
    expect(state.feedback).toContain("plan v1");
  });

  it("a phase at the top tier is refused", () => {
    const p = pipeline({ codeTier: "deep" });
    const failed = failedAtCode(p, "deep");
    expect(() => transition(failed, { type: "phase.escalate", phaseId: "code", by: "@x" }, p)).toThrow(
      /deep, the top tier/,
    );
  });
});

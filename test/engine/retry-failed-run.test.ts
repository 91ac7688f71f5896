import { describe, expect, it } from "vitest";
import { rerunTarget, retryRefusal } from "../../src/engine/rerun-phase.js";
import { InvalidTransition, initialState, nextEffect, transition } from "../../src/engine/transition.js";
import type { AttemptOutput, Effect, EffectKind, RunEvent, RunState } from "../../src/engine/types.js";
import type { ResolvedPhase, ResolvedPipeline } from "../../src/pipeline/resolved.js";

// Issue 11, class 10: a run that failed (its gates, or the worker giving up on an effect) is sent
// back where it stopped, in a new round, with effect keys no earlier round used.

const usage = { inputTokens: 100, outputTokens: 50, cacheReadTokens: 0, cacheWriteTokens: 0 };

function agent(id: string): ResolvedPhase {
  return {
    kind: "agent",
    id,
    name: id,
    task: "write",
    tier: "fast",
    executor: "llm",
    prompt: "Write.",
    context: [],
    output: { artifact: `${id}.md` },
    gates: [],
    onFail: { retries: 0, escalate: false, exhausted: "fail", feedback: "critique" },
  };
}

/** plan -> code -> cooldown -> review, merged after approval. */
function pipeline(budget?: ResolvedPipeline["budget"]): ResolvedPipeline {
  return {
    name: "p",
    labels: [],
    phases: [
      agent("plan"),
      agent("code"),
      { kind: "wait", id: "cooldown", name: "Cooldown", wait: "1h", waitMs: 3_600_000 },
      { kind: "approval", id: "review", name: "Review", minApprovals: 1 },
    ],
    mergeAfterApproval: "squash",
    ...(budget ? { budget } : {}),
  };
}

const output = (text: string): AttemptOutput => ({
  text,
  provider: "simulated",
  model: "simulated-fast",
  tier: "fast",
  usage,
  costUsd: 0.01,
});

/** What the worker would feed back for an effect that went well. */
function answer(effect: Effect, state: RunState): RunEvent[] {
  switch (effect.kind) {
    case "prepare_branch":
      return [{ type: "branch.prepared", head: "base" }];
    case "call_agent":
      return [{ type: "agent.completed", output: output(`${effect.phaseId} #${effect.attempt}`) }];
    case "evaluate_gates":
      return [{ type: "gates.evaluated", verdict: { pass: true, results: [] }, usage, costUsd: 0 }];
    case "commit":
      return [{ type: "phase.committed", sha: `sha-${effect.key}` }];
    case "comment":
      return [{ type: "phase.commented", commentId: `c-${effect.key}` }];
    case "schedule_wait":
      return [
        { type: "wait.scheduled", until: 1 },
        {
          type: "wait.elapsed",
          phaseId: effect.phaseId,
          fastForwarded: false,
          ...(state.round ? { round: state.round } : {}),
        },
      ];
    case "request_approval":
      return [{ type: "approval.requested" }, { type: "approval.granted", by: "@carol" }];
    case "merge_pull":
      return [{ type: "run.merged", by: "Atomic Scrum" }];
    default:
      throw new Error(`no answer for ${effect.kind}`);
  }
}

/**
 * Performs effects as a worker whose every effect succeeds, until `stop` says the next one is
 * where the run breaks, or nothing is left. Returns the keys of the effects performed.
 */
function drive(
  p: ResolvedPipeline,
  start: RunState,
  stop: (effect: Effect) => boolean = () => false,
): { state: RunState; keys: string[]; next?: Effect } {
  let state = start;
  const keys: string[] = [];
  for (let step = 0; step < 100; step++) {
    const effect = nextEffect(state, p);
    if (!effect || stop(effect)) return { state, keys, ...(effect ? { next: effect } : {}) };
    keys.push(effect.key);
    for (const event of answer(effect, state)) state = transition(state, event, p).state;
  }
  throw new Error("the run never rested");
}

const at =
  (kind: EffectKind, phaseId?: string) =>
  (effect: Effect): boolean =>
    effect.kind === kind && (phaseId === undefined || ("phaseId" in effect && effect.phaseId === phaseId));

function apply(p: ResolvedPipeline, state: RunState, ...events: RunEvent[]): RunState {
  return events.reduce((s, event) => transition(s, event, p).state, state);
}

const abort: RunEvent = {
  type: "run.aborted",
  reason: "the worker gave up after 5 attempts: git update-ref failed",
};

describe("engine > retry of a failed run", () => {
  // Each place an effect can break for good: the job that performs it used its attempts and the run
  // was aborted there. `/retry` without a phase goes back to that place; `reentered` is the phase
  // it runs again (its first effect is `first`).
  it.each<[string, EffectKind, string | undefined, string, EffectKind]>([
    ["preparing the branch", "prepare_branch", undefined, "plan", "prepare_branch"],
    ["calling the agent", "call_agent", "plan", "plan", "call_agent"],
    ["grading the work", "evaluate_gates", "code", "code", "call_agent"],
    ["committing (git update-ref killed)", "commit", "code", "code", "call_agent"],
    ["posting the phase comment", "comment", "code", "code", "call_agent"],
    ["setting the cooldown", "schedule_wait", undefined, "cooldown", "schedule_wait"],
    ["asking for approval", "request_approval", undefined, "review", "request_approval"],
    ["merging", "merge_pull", undefined, "review", "request_approval"],
  ])(
    "failed while %s: /retry goes back there in a new round, and no effect key of the failed round is used again",
    (_what, kind, phaseId, reentered, first) => {
      const p = pipeline();
      const broken = drive(p, initialState(), at(kind, phaseId));
      expect(broken.next?.kind).toBe(kind);
      const failed = apply(p, broken.state, abort);
      expect(failed).toMatchObject({ status: "failed", reason: abort.reason });

      const target = rerunTarget(failed, p, "phase.retry");
      expect(target).toBe(reentered);
      const retried = apply(p, failed, { type: "phase.retry", phaseId: target ?? "", by: "@dev" });
      expect(retried).toMatchObject({ status: "running", round: 1 });
      expect(retried.reason).toBeUndefined();
      expect(nextEffect(retried, p)?.kind).toBe(first);

      // The failed round's effect keys (and the one it broke on) are not the retried round's: a
      // retried commit, comment or timer is neither deduplicated against the old one nor done twice.
      const done = drive(p, retried);
      expect(done.state).toMatchObject({ status: "succeeded", step: "done" });
      const before = new Set([...broken.keys, broken.next?.key]);
      expect(done.keys.filter((key) => before.has(key))).toEqual([]);
      expect(done.keys.length).toBeGreaterThan(0);
    },
  );

  it("an agent phase that failed its gates runs again as the next attempt, on top of the phases before it", () => {
    const p = pipeline();
    const atCode = drive(p, initialState(), at("evaluate_gates", "code")).state;
    const failed = apply(p, atCode, {
      type: "gates.evaluated",
      verdict: { pass: false, results: [{ gate: "judge", pass: false, score: 0.2, reasons: ["vague"] }] },
      usage,
      costUsd: 0,
    });
    const ended = apply(p, failed, { type: "phase.commented", commentId: "c-fail" });
    expect(ended).toMatchObject({ status: "failed" });
    expect(ended.reason).toMatch(/phase "code" failed after 1 attempt\(s\): vague/);
    const retried = apply(p, ended, { type: "phase.retry", phaseId: "code", by: "@dev" });
    expect(retried).toMatchObject({ status: "running", phaseIndex: 1, attempt: 2, step: "call" });
    expect(retried.outputs).toEqual({ plan: "plan #1" });
    expect(nextEffect(retried, p)?.key).toBe("code/2/agent");
  });

  it("a run that failed before its branch existed starts from its first phase only, and is not escalated", () => {
    const p = pipeline();
    const failed = apply(p, initialState(), abort);
    expect(() => transition(failed, { type: "phase.retry", phaseId: "code", by: "@dev" }, p)).toThrow(
      'the run failed before its branch was prepared, so no phase has run yet; a retry starts it from its first phase, "plan"',
    );
    expect(() => transition(failed, { type: "phase.escalate", phaseId: "plan", by: "@dev" }, p)).toThrow(
      /no phase has run yet and none can be escalated/,
    );
    const again = apply(p, failed, { type: "phase.retry", phaseId: "plan", by: "@dev" });
    expect(again).toMatchObject({ status: "running", step: "prepare", phaseIndex: 0, attempt: 0 });
    // Failing again at the same place and retrying again: each round is a new one.
    const twice = apply(p, again, abort, { type: "phase.retry", phaseId: "plan", by: "@dev" });
    expect(twice.round).toBe(2);
  });

  it("a wait phase is re-entered only on a failed run, only by /retry, and the cooldown timer of the failed round no longer fits", () => {
    const p = pipeline();
    const waiting = drive(p, initialState(), at("schedule_wait")).state;
    const scheduled = apply(p, waiting, { type: "wait.scheduled", until: 10 });
    // A live run is sent back to agent phases only, as before.
    expect(() => transition(scheduled, { type: "phase.retry", phaseId: "cooldown", by: "@dev" }, p)).toThrow(
      'phase "cooldown" is a wait phase: only agent phases run again',
    );
    const failed = apply(p, scheduled, abort);
    expect(() => transition(failed, { type: "phase.escalate", phaseId: "cooldown", by: "@dev" }, p)).toThrow(
      "only agent phases run on another tier",
    );
    // Escalating without a phase picks the last agent phase, which has a tier.
    expect(rerunTarget(failed, p, "phase.escalate")).toBe("code");
    const retried = apply(p, failed, { type: "phase.retry", phaseId: "cooldown", by: "@dev" });
    expect(retried).toMatchObject({ status: "running", step: "wait", round: 1 });
    expect(retried.waitUntil).toBeUndefined();
    expect(() =>
      transition(
        apply(p, retried, { type: "wait.scheduled", until: 20 }),
        { type: "wait.elapsed", phaseId: "cooldown", fastForwarded: false },
        p,
      ),
    ).toThrow("the timer is from round 0, the run is in round 1");
  });

  it("cancelled and merged runs stay final: neither /retry nor /escalate revives them", () => {
    const p = pipeline();
    const failed = apply(p, drive(p, initialState(), at("commit", "code")).state, abort);
    const cancelled = apply(p, failed, { type: "run.cancelled", by: "@x, who closed pull request #2" });
    const merged = apply(p, failed, { type: "run.merged", by: "@x (pull request #2)" });
    for (const [ended, status] of [
      [cancelled, "was cancelled"],
      [merged, "has succeeded"],
    ] as const) {
      for (const type of ["phase.retry", "phase.escalate"] as const) {
        expect(() => transition(ended, { type, phaseId: "code", by: "@dev" }, p)).toThrow(InvalidTransition);
        expect(() => transition(ended, { type, phaseId: "code", by: "@dev" }, p)).toThrow(`run ${status}`);
      }
      expect(retryRefusal(ended, p)).toBe(`the run ${status}, so no phase of it runs again`);
    }
  });
});

describe("engine > retry of a run whose budget ran out", () => {
  /** plan done, code failed its first attempt: $0.02 and 600 tokens spent (each call and grade 150 tokens). */
  function failedAtCode(p: ResolvedPipeline): RunState {
    const atCode = drive(p, initialState(), at("evaluate_gates", "code")).state;
    return apply(
      p,
      atCode,
      {
        type: "gates.evaluated",
        verdict: { pass: false, results: [{ gate: "judge", pass: false, score: 0.2, reasons: ["vague"] }] },
        usage,
        costUsd: 0,
      },
      { type: "phase.commented", commentId: "c-fail" },
    );
  }

  it.each([
    ["its cost", { maxCostUsd: 0.02 }, "budget exhausted: $0.0200 spent of $0.02"],
    ["its tokens", { maxTokens: 500 }, "budget exhausted: 600 tokens used of 500"],
  ])(
    "spent on %s, a retry of any phase with an agent phase to run is refused, saying so",
    (_what, budget, spent) => {
      const p = pipeline(budget);
      const failed = failedAtCode(p);
      const message = `the run's budget is spent (${spent}), so a retry would stop before its first model call; raise the pipeline's budget and start a new run`;
      for (const type of ["phase.retry", "phase.escalate"] as const) {
        for (const phaseId of ["plan", "code"]) {
          expect(() => transition(failed, { type, phaseId, by: "@dev" }, p)).toThrow(message);
        }
      }
      expect(retryRefusal(failed, p)).toBe(message);
    },
  );

  it("a run that failed at its approval or merge, with no agent phase left, is retried whatever it spent", () => {
    const p = pipeline({ maxCostUsd: 0.02 });
    const broken = drive(p, initialState(), at("merge_pull"));
    const failed = apply(p, broken.state, abort);
    expect(failed.totals.costUsd).toBeCloseTo(0.02);
    expect(retryRefusal(failed, p)).toBeUndefined();
    const done = drive(p, apply(p, failed, { type: "phase.retry", phaseId: "review", by: "@dev" }));
    expect(done.state.status).toBe("succeeded");
    // Going back further, to an agent phase, would need a model call: refused.
    expect(() => transition(failed, { type: "phase.retry", phaseId: "code", by: "@dev" }, p)).toThrow(
      /budget is spent/,
    );
  });

  it("a call the run's own budget refused (it would overshoot) is refused again on a retry, saying so", () => {
    const p = pipeline({ maxCostUsd: 0.05 });
    const atCall = drive(p, initialState(), at("call_agent", "code")).state;
    const error =
      "budget: this call costs about $0.0400 and $0.0200 of $0.0500 are spent; raise budget.max_cost_usd to go on";
    const failed = apply(
      p,
      atCall,
      { type: "agent.failed", error, fatal: true, kind: "budget", budgetSpent: true },
      { type: "phase.commented", commentId: "c-fail" },
    );
    expect(failed.status).toBe("failed");
    const message = `the run's budget refused its last call (${error}), and would refuse a retry's the same way; raise the pipeline's budget and start a new run`;
    expect(retryRefusal(failed, p)).toBe(message);
    expect(() => transition(failed, { type: "phase.retry", phaseId: "plan", by: "@dev" }, p)).toThrow(
      message,
    );
  });

  it("a call refused by a daily budget (the run's own budget not spent) may be retried: the worker checks the day's spending again", () => {
    const p = pipeline({ maxCostUsd: 1 });
    const atCall = drive(p, initialState(), at("call_agent", "code")).state;
    const failed = apply(
      p,
      atCall,
      {
        type: "agent.failed",
        error: "daily budget: runs on o/r have spent $5.0000 of $5.0000 today (UTC)",
        fatal: true,
        kind: "budget",
      },
      { type: "phase.commented", commentId: "c-fail" },
    );
    expect(failed.status).toBe("failed");
    expect(retryRefusal(failed, p)).toBeUndefined();
    expect(apply(p, failed, { type: "phase.retry", phaseId: "code", by: "@dev" })).toMatchObject({
      status: "running",
      attempt: 2,
    });
  });
});

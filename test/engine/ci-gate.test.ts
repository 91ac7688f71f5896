import { describe, expect, it } from "vitest";
import { InvalidTransition, initialState, nextEffect, transition } from "../../src/engine/transition.js";
import type { AttemptOutput, RunEvent, RunState } from "../../src/engine/types.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../../src/pipeline/resolved.js";

const usage = { inputTokens: 100, outputTokens: 50, cacheReadTokens: 0, cacheWriteTokens: 0 };
const zero = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
const SHA = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const SHA2 = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";

function pipeline(options: { checks?: boolean; retries?: number; feedback?: "critique" | "none" } = {}) {
  const code: ResolvedAgentPhase = {
    kind: "agent",
    id: "code",
    name: "Code",
    task: "code",
    tier: "fast",
    executor: "llm",
    prompt: "Change the code.",
    context: [],
    output: { files: true },
    gates: [
      { assert: { type: "no-placeholders" } },
      ...(options.checks === false ? [] : [{ checks: { timeout: "30m", names: ["test"] } }]),
    ],
    onFail: {
      retries: options.retries ?? 1,
      escalate: false,
      exhausted: "fail",
      feedback: options.feedback ?? "critique",
    },
  };
  const p: ResolvedPipeline = {
    name: "p",
    labels: [],
    phases: [code, { kind: "approval", id: "review", name: "Review", minApprovals: 1 }],
  };
  return p;
}

const output: AttemptOutput = {
  text: "Changed it.",
  files: [{ path: "src/a.ts", content: "export const a = 1;\n" }],
  provider: "simulated",
  model: "simulated-fast",
  tier: "fast",
  usage,
  costUsd: 0.01,
};
const assertPassed = {
  pass: true,
  results: [{ gate: "assert no-placeholders", pass: true, score: 1, reasons: ["no placeholders"] }],
};

function apply(p: ResolvedPipeline, ...events: RunEvent[]): RunState {
  return events.reduce((state, event) => transition(state, event, p).state, initialState());
}

/** A run whose first attempt passed its asserts and committed `sha`. */
function committed(p: ResolvedPipeline, sha = SHA): RunState {
  return apply(
    p,
    { type: "branch.prepared", head: "base" },
    { type: "agent.completed", output },
    { type: "gates.evaluated", verdict: assertPassed, usage: zero, costUsd: 0 },
    { type: "phase.committed", sha },
  );
}

const pending = (until = 1_000, sha = SHA): RunEvent => ({ type: "ci.pending", sha, until });
const completed = (pass: boolean, summary: string[], extra: Partial<RunEvent> = {}): RunEvent =>
  ({ type: "ci.completed", sha: SHA, pass, summary, ...extra }) as RunEvent;

describe("the checks gate in the run state machine", () => {
  it("sends a committed phase with a checks gate to the ci step, which polls its commit", () => {
    const p = pipeline();
    const state = committed(p);
    expect(state).toMatchObject({ status: "running", step: "ci", head: SHA, current: { commit: SHA } });
    expect(nextEffect(state, p)).toEqual({
      kind: "check_ci",
      key: `code/1/ci/${state.seq}`,
      phaseId: "code",
      attempt: 1,
      sha: SHA,
    });
  });

  it("leaves a phase without a checks gate going straight from commit to comment", () => {
    const p = pipeline({ checks: false });
    expect(committed(p).step).toBe("comment");
  });

  it("on a pass appends the checks result to the verdict and comments", () => {
    const p = pipeline();
    const state = transition(committed(p), completed(true, ["1 check(s) passed on c1c1c1c"]), p).state;
    expect(state.step).toBe("comment");
    expect(state.current?.verdict).toEqual({
      pass: true,
      results: [
        ...assertPassed.results,
        { gate: "checks", pass: true, score: 1, reasons: ["1 check(s) passed on c1c1c1c"] },
      ],
    });
  });

  it("on a failure retries the phase with the failing checks as critique, the failed commit staying", () => {
    const p = pipeline();
    const state = transition(committed(p), completed(false, ["test: failure: 2 tests failed"]), p).state;
    expect(state).toMatchObject({ status: "running", step: "call", attempt: 2, head: SHA });
    expect(state.feedback).toBe(
      "The repository's CI failed on the commit of your previous attempt:\n- test: failure: 2 tests failed",
    );
    expect(state.current?.verdict?.pass).toBe(false);
    expect(nextEffect(state, p)).toMatchObject({ kind: "call_agent", attempt: 2 });
  });

  it("with feedback none, retries without telling the agent what CI said", () => {
    const p = pipeline({ feedback: "none" });
    const state = transition(committed(p), completed(false, ["test: failure"]), p).state;
    expect(state.step).toBe("call");
    expect(state.feedback).toBeUndefined();
  });

  it("fails the phase (comment first) once its retries are spent, naming the failing checks", () => {
    const p = pipeline({ retries: 0 });
    const state = transition(committed(p), completed(false, ["test: failure: boom"]), p).state;
    expect(state.step).toBe("comment");
    expect(state.current?.failure).toBe(
      'phase "code" failed after 1 attempt(s): CI failed on c1c1c1c: test: failure: boom',
    );
    const ended = transition(state, { type: "phase.commented", commentId: "9" }, p).state;
    expect(ended).toMatchObject({ status: "failed", step: "done" });
  });

  it("a timeout with checks still running fails the gate like a failure, saying CI did not finish", () => {
    const p = pipeline({ retries: 0 });
    const event = completed(false, ["test (in_progress): still running after 30m"], { timedOut: true });
    const state = transition(committed(p), event, p).state;
    expect(state.current?.failure).toContain("CI did not finish on c1c1c1c in time: test (in_progress)");
  });

  it("no CI at all is a gate that could not decide: the phase fails without a retry", () => {
    const p = pipeline({ retries: 3 });
    const error = "could not be checked: no CI reported on c1c1c1c within 30m";
    const state = transition(
      committed(p),
      completed(false, ["no CI reported on c1c1c1c"], { error }),
      p,
    ).state;
    expect(state).toMatchObject({ step: "comment", attempt: 1 });
    expect(state.current?.failure).toBe(`phase "code" ${error}`);
    expect(state.current?.verdict?.results.at(-1)).toMatchObject({ gate: "checks", pass: false, error });
  });

  it("waits on a pending CI, keeping the deadline of the first poll", () => {
    const p = pipeline();
    const waiting = transition(committed(p), pending(1_000), p);
    expect(waiting.effects).toEqual([]);
    expect(waiting.state).toMatchObject({ status: "waiting", step: "ci", current: { ciUntil: 1_000 } });
    const woken = transition(waiting.state, { type: "ci.changed", sha: SHA }, p).state;
    expect(woken.status).toBe("running");
    expect(nextEffect(woken, p)).toMatchObject({ kind: "check_ci", key: `code/1/ci/${woken.seq}` });
    const again = transition(woken, pending(5_000), p).state;
    expect(again.current?.ciUntil).toBe(1_000);
  });

  it("the deadline timer wakes the waiting attempt it was set for, and no other", () => {
    const p = pipeline();
    const waiting = transition(committed(p), pending(), p).state;
    const timer = { type: "ci.timeout", phaseId: "code", attempt: 1 } as const;
    expect(transition(waiting, timer, p).state.status).toBe("running");
    expect(() => transition(waiting, { ...timer, attempt: 2 }, p)).toThrow(InvalidTransition);
    expect(() => transition(waiting, { ...timer, phaseId: "review" }, p)).toThrow(InvalidTransition);
  });

  it("refuses a suite for another commit, and wake-ups or verdicts that do not fit the step", () => {
    const p = pipeline();
    const state = committed(p);
    // Running at the ci step: a poll is under way, so a wake-up has nothing to do.
    expect(() => transition(state, { type: "ci.changed", sha: SHA }, p)).toThrow(InvalidTransition);
    expect(() => transition(state, { type: "ci.timeout", phaseId: "code", attempt: 1 }, p)).toThrow(
      /applies to a run waiting for CI/,
    );
    const waiting = transition(state, pending(), p).state;
    expect(() => transition(waiting, { type: "ci.changed", sha: SHA2 }, p)).toThrow(/is for c2c2c2c/);
    expect(() => transition(waiting, completed(true, ["ok"]), p)).toThrow(InvalidTransition);
    expect(() => transition(state, pending(1, SHA2), p)).toThrow(InvalidTransition);
    const before = apply(p, { type: "branch.prepared", head: "base" });
    expect(() => transition(before, { type: "ci.changed", sha: SHA }, p)).toThrow(InvalidTransition);
  });

  it("a retry after a CI failure numbers its ci polls by the new attempt", () => {
    const p = pipeline();
    const retried = apply(
      p,
      { type: "branch.prepared", head: "base" },
      { type: "agent.completed", output },
      { type: "gates.evaluated", verdict: assertPassed, usage: zero, costUsd: 0 },
      { type: "phase.committed", sha: SHA },
      completed(false, ["test: failure"]),
      { type: "agent.completed", output },
      { type: "gates.evaluated", verdict: assertPassed, usage: zero, costUsd: 0 },
      { type: "phase.committed", sha: SHA2 },
    );
    expect(retried.current).toEqual({ output, verdict: assertPassed, commit: SHA2 });
    expect(nextEffect(retried, p)).toMatchObject({ kind: "check_ci", attempt: 2, sha: SHA2 });
  });

  it("a person can still cancel or retry a run waiting for CI", () => {
    const p = pipeline();
    const waiting = transition(committed(p), pending(), p).state;
    expect(transition(waiting, { type: "run.cancelled", by: "@a" }, p).state.status).toBe("cancelled");
    const retried = transition(waiting, { type: "phase.retry", phaseId: "code", by: "@a" }, p).state;
    expect(retried).toMatchObject({ status: "running", step: "call", attempt: 2 });
  });
});

import { describe, expect, it } from "vitest";
import { initialState } from "../../src/engine/transition.js";
import type { GatesVerdict, RunState } from "../../src/engine/types.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";
import {
  APPROVAL_CHECK,
  type DesiredCheck,
  desiredChecks,
  fingerprint,
  phaseCheckName,
} from "../../src/render/check-runs.js";
import type { CheckRunRow } from "../../src/store/check-runs.js";
import type { AttemptRecord } from "../../src/store/runs.js";

const BASE = "b".repeat(40);
const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const PUSHED = "9".repeat(40);

const agent = (id: string) => ({
  kind: "agent" as const,
  id,
  name: id,
  task: "implement" as const,
  tier: "balanced" as const,
  executor: "llm" as const,
  prompt: "p",
  context: [],
  output: { kind: "text" as const },
  gates: [],
  onFail: { retries: 1, escalate: true, feedback: "critique" as const, exhausted: "fail" as const },
});

const pipeline = {
  name: "p",
  labels: ["x"],
  phases: [
    agent("draft"),
    agent("review"),
    { kind: "approval", id: "human-review", name: "Human review", minApprovals: 1 },
  ],
} as unknown as ResolvedPipeline;

const verdict: GatesVerdict = {
  pass: true,
  results: [
    {
      gate: "judge",
      pass: true,
      score: 0.86,
      reasons: [],
      details: {
        threshold: 0.75,
        model: "sim/deep",
        criteria: [{ name: "clear", weight: 1, score: 0.86, pass: true, reason: "ok" }],
      },
    },
  ],
};

function attempt(phaseId: string, n: number, extra: Partial<AttemptRecord>): AttemptRecord {
  return {
    runId: "r",
    phaseId,
    attempt: n,
    tier: "balanced",
    provider: "simulated",
    model: "simulated-balanced",
    state: "passed",
    tokensIn: 100,
    tokensOut: 50,
    cacheRead: 0,
    cacheWrite: 0,
    costUsd: 0.01,
    ...extra,
  };
}

const state = (extra: Partial<RunState>): RunState => ({
  ...initialState(),
  baseHead: BASE,
  head: BASE,
  ...extra,
});
const names = (checks: DesiredCheck[]) =>
  checks.map(
    (c) => `${c.name} ${c.headSha.slice(0, 1)} ${c.status}${c.conclusion ? ` ${c.conclusion}` : ""}`,
  );
const row = (check: DesiredCheck, completed = check.status === "completed"): CheckRunRow => ({
  runId: "r",
  name: check.name,
  headSha: check.headSha,
  checkId: "1",
  fingerprint: fingerprint(check),
  completed,
});

describe("check runs of a run", () => {
  it("wants nothing before the branch has a commit of its own, not even for a failed first phase", () => {
    const failed = state({ status: "failed", step: "done", reason: "phase failed" });
    expect(
      desiredChecks({
        pipeline,
        state: failed,
        attempts: [attempt("draft", 1, { state: "failed" })],
        written: [],
      }),
    ).toEqual([]);
  });

  it("gives each committed phase a check on its own commit, with its scores", () => {
    const checks = desiredChecks({
      pipeline,
      state: state({ head: C2, phaseIndex: 2, step: "call" }),
      attempts: [
        attempt("draft", 1, { commitSha: C1, scores: verdict }),
        attempt("review", 1, { commitSha: C2 }),
      ],
      written: [],
    });
    expect(names(checks)).toEqual([
      "Atomic Scrum / draft 1 completed success",
      "Atomic Scrum / review 2 completed success",
    ]);
    expect(checks[0]?.title).toBe("Passed · score 0.86 · attempt 1 at balanced");
    expect(checks[0]?.summary).toContain("| clear | 1 | 0.86 |");
  });

  it("shows the approval check in progress on the head, then passed on the approved commit", () => {
    const attempts = [attempt("draft", 1, { commitSha: C1 }), attempt("review", 1, { commitSha: C2 })];
    const waiting = state({ head: C2, phaseIndex: 2, step: "approval", status: "awaiting_approval" });
    const pending = desiredChecks({ pipeline, state: waiting, attempts, written: [] });
    expect(names(pending)).toContain(`${APPROVAL_CHECK} 2 in_progress`);
    expect(pending.find((c) => c.name === APPROVAL_CHECK)?.title).toBe(
      "Waiting for an approving review (0 of 1)",
    );

    const approved = state({
      head: C2,
      phaseIndex: 3,
      step: "done",
      status: "succeeded",
      approval: { phaseId: "human-review", head: C2, by: ["@octocat"] },
    });
    const done = desiredChecks({ pipeline, state: approved, attempts, written: pending.map((c) => row(c)) });
    expect(names(done)).toContain(`${APPROVAL_CHECK} 2 completed success`);
    expect(done.find((c) => c.name === APPROVAL_CHECK)?.title).toBe("Approved by @octocat");
  });

  it("after a push, wants the approval pending on the new head and closes the one left open on the old", () => {
    const attempts = [attempt("draft", 1, { commitSha: C1 }), attempt("review", 1, { commitSha: C2 })];
    const before = desiredChecks({
      pipeline,
      state: state({ head: C2, phaseIndex: 2, step: "approval", status: "awaiting_approval" }),
      attempts,
      written: [],
    });
    const after = desiredChecks({
      pipeline,
      state: state({ head: PUSHED, phaseIndex: 2, step: "approval", status: "awaiting_approval" }),
      attempts,
      written: before.map((c) => row(c)),
    });
    expect(names(after)).toEqual(
      expect.arrayContaining([`${APPROVAL_CHECK} 9 in_progress`, `${APPROVAL_CHECK} 2 completed cancelled`]),
    );
    expect(after.find((c) => c.name === APPROVAL_CHECK && c.headSha === C2)?.title).toBe("Superseded");
  });

  it("leaves nothing in progress once the run is cancelled", () => {
    const attempts = [attempt("draft", 1, { commitSha: C1 })];
    const open = desiredChecks({
      pipeline,
      state: state({ head: C1, phaseIndex: 2, step: "approval", status: "awaiting_approval" }),
      attempts,
      written: [],
    });
    const cancelled = desiredChecks({
      pipeline,
      state: state({ head: C1, phaseIndex: 2, step: "done", status: "cancelled", reason: "cancelled by @a" }),
      attempts,
      written: open.map((c) => row(c)),
    });
    expect(cancelled.every((c) => c.status === "completed")).toBe(true);
    expect(names(cancelled)).toContain(`${APPROVAL_CHECK} 1 completed cancelled`);
  });

  it("puts a failure check on the head for a phase that failed without a commit, and action required when handed to a person", () => {
    const attempts = [attempt("draft", 1, { commitSha: C1 }), attempt("review", 1, { state: "failed" })];
    const failed = desiredChecks({
      pipeline,
      state: state({
        head: C1,
        phaseIndex: 1,
        step: "done",
        status: "failed",
        reason: 'phase "review" failed',
      }),
      attempts,
      written: [],
    });
    expect(names(failed)).toContain("Atomic Scrum / review 1 completed failure");
    const handed = desiredChecks({
      pipeline,
      state: state({ head: C1, phaseIndex: 1, step: "handoff", status: "needs_human", reason: "x" }),
      attempts,
      written: [],
    });
    expect(names(handed)).toContain("Atomic Scrum / review 1 completed action_required");
  });

  it("shows a phase sent back with /retry as running again on the commit where its check failed", () => {
    const attempts = [attempt("draft", 1, { commitSha: C1 }), attempt("review", 1, { state: "failed" })];
    const failedCheck = desiredChecks({
      pipeline,
      state: state({ head: C1, phaseIndex: 1, step: "done", status: "failed", reason: "r" }),
      attempts,
      written: [],
    }).find((c) => c.name === phaseCheckName("review"));
    if (!failedCheck) throw new Error("no failure check");
    const rerun = desiredChecks({
      pipeline,
      state: state({ head: C1, phaseIndex: 1, step: "call", status: "running", attempt: 2, tier: "deep" }),
      attempts,
      written: [row(failedCheck)],
    });
    expect(names(rerun)).toContain("Atomic Scrum / review 1 in_progress");
  });

  it("fingerprints what a check says, so an unchanged check is not written again", () => {
    const [check] = desiredChecks({
      pipeline,
      state: state({ head: C1, phaseIndex: 1, step: "call" }),
      attempts: [attempt("draft", 1, { commitSha: C1 })],
      written: [],
    });
    if (!check) throw new Error("no check");
    expect(fingerprint(check)).toBe(fingerprint({ ...check }));
    expect(fingerprint(check)).not.toBe(fingerprint({ ...check, title: "other" }));
  });

  it("a phase gated on CI is queued until CI starts, in progress while it runs, and cancelled (never passed) if the run stops first", () => {
    const gated = {
      ...pipeline,
      phases: [{ ...agent("draft"), gates: [{ checks: { timeout: "30m" } }] }, ...pipeline.phases.slice(1)],
    } as unknown as ResolvedPipeline;
    const attempts = [attempt("draft", 1, { commitSha: C1, scores: verdict })];
    const waiting = desiredChecks({
      pipeline: gated,
      state: state({ head: C1, phaseIndex: 0, attempt: 1, step: "ci", status: "waiting" }),
      attempts,
      written: [],
    });
    expect(names(waiting)).toEqual(["Atomic Scrum / draft 1 queued"]);
    const running = desiredChecks({
      pipeline: gated,
      state: state({
        head: C1,
        phaseIndex: 0,
        attempt: 1,
        step: "ci",
        status: "waiting",
        current: { ciUntil: 1, ciStarted: true },
      }),
      attempts,
      written: waiting.map((c) => row(c)),
    });
    expect(names(running)).toEqual(["Atomic Scrum / draft 1 in_progress"]);
    const cancelled = desiredChecks({
      pipeline: gated,
      state: state({ head: C1, phaseIndex: 0, attempt: 1, step: "done", status: "cancelled" }),
      attempts,
      written: waiting.map((c) => row(c)),
    });
    expect(names(cancelled)).toEqual(["Atomic Scrum / draft 1 completed cancelled"]);
    expect(cancelled[0]?.title).toBe("Stopped before the repository's CI decided");
  });
});

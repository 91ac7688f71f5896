import { describe, expect, it } from "vitest";
import { initialState } from "../../src/engine/transition.js";
import type { RunState } from "../../src/engine/types.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";
import { renderStatus, type StatusInput } from "../../src/render/status-comment.js";

// Issue 11, class 10: a failed run's status says how to retry it, or why it cannot be.

const pipeline: ResolvedPipeline = {
  name: "p",
  labels: [],
  phases: [
    {
      kind: "agent",
      id: "code",
      name: "Code",
      task: "code",
      tier: "fast",
      executor: "llm",
      prompt: "Write.",
      context: [],
      output: { artifact: "code.md" },
      gates: [],
      onFail: { retries: 0, escalate: false, exhausted: "fail", feedback: "critique" },
    },
    { kind: "approval", id: "review", name: "Review", minApprovals: 1 },
  ],
  budget: { maxCostUsd: 1 },
};

const hints = { resume: "resume", approve: "approve", restart: "start again", retry: "type `retry`" };

function failed(at: number, reason: string, extra: Partial<RunState> = {}): RunState {
  return { ...initialState(), head: "abc", status: "failed", step: "done", phaseIndex: at, reason, ...extra };
}

const nextLine = (state: RunState, withHints: StatusInput["hints"] = hints) =>
  renderStatus({ runId: "r", pipeline, state, attempts: [], hints: withHints })
    .split("\n")
    .find((line) => line.startsWith("**Next:**"));

describe("status comment > a failed run", () => {
  it.each([
    ["its gates failed", 0, 'phase "code" failed after 1 attempt(s): vague', "code"],
    [
      "the worker gave up in its approval",
      1,
      "the worker gave up after 5 attempts: GitHub answered 502.",
      "review",
    ],
  ])("whose %s offers a retry naming the phase it runs again", (_what, at, reason, phase) => {
    const end = reason.endsWith(".") ? reason : `${reason}.`;
    expect(nextLine(failed(at, reason))).toBe(
      `**Next:** a retry: the run failed. ${end} To try again, type \`retry\`: it runs phase \`${phase}\` and every phase after it again, on the same branch.`,
    );
  });

  it("whose budget is spent says it cannot be retried, and why", () => {
    const state = failed(0, "budget exhausted: $1.0000 spent of $1", { totals: { tokens: 10, costUsd: 1 } });
    expect(nextLine(state)).toBe(
      "**Next:** nothing: the run failed. budget exhausted: $1.0000 spent of $1. It cannot be retried: the run's budget is spent (budget exhausted: $1.0000 spent of $1), so a retry would stop before its first model call; raise the pipeline's budget and start a new run.",
    );
  });

  it("offers nothing when its face has no retry to offer", () => {
    const { retry: _none, ...without } = hints;
    expect(nextLine(failed(0, "x"), without)).toBe("**Next:** nothing: the run failed. x");
  });
});

import { rerunTarget, retryRefusal } from "../engine/rerun-phase.js";
import { NEEDS_HUMAN_LABEL } from "../engine/transition.js";
import type { GatesVerdict, RunState } from "../engine/types.js";
import type { ResolvedPhase, ResolvedPipeline } from "../pipeline/resolved.js";
import type { AttemptRecord } from "../store/runs.js";
import { cell, formatCost, formatDuration, formatTime, formatTokens, statusWords } from "./format.js";
import { quietMarkdown } from "./quiet-markdown.js";

export interface StatusInput {
  runId: string;
  pipeline: ResolvedPipeline;
  state: RunState;
  attempts: AttemptRecord[];
  /** How a person moves the run on from here, e.g. the CLI command or the slash command. */
  hints: {
    resume: string;
    approve: string;
    restart: string;
    /** How a person sends a failed run back (`/retry`, `atomic-scrum retry <id>`); without it, none is offered. */
    retry?: string;
    /**
     * What a running run's next step is, when the caller knows more than "working": the local
     * CLI tells a run whose process is gone (interrupted) from one a live process works on.
     */
    running?: string;
  };
}

/** The single status comment: a row per phase and what happens next. */
export function renderStatus(input: StatusInput): string {
  const { pipeline, state } = input;
  const rows = pipeline.phases.map((phase, index) => {
    const attempts = input.attempts.filter((a) => a.phaseId === phase.id);
    const last = attempts.at(-1);
    const verdict = last?.scores as GatesVerdict | undefined;
    const score = verdict?.results.find((r) => r.details)?.score;
    const tokens = attempts.reduce((sum, a) => sum + a.tokensIn + a.tokensOut, 0);
    const cost = attempts.reduce((sum, a) => sum + a.costUsd, 0);
    const time = last?.startedAt && last.finishedAt ? formatDuration(last.finishedAt - last.startedAt) : "—";
    const model = last ? `${last.provider}/${last.model}` : "—";
    return `| ${cell(phase.name)} | ${phaseState(index, state, attempts)} | ${tierCell(phase, index, state, attempts)} | ${cell(model)} | ${
      score === undefined ? "—" : score.toFixed(2)
    } | ${tokens ? formatTokens(tokens) : "—"} | ${cost ? formatCost(cost) : "—"} | ${time} | ${last?.commitSha?.slice(0, 7) ?? "—"} |`;
  });
  return [
    `## Atomic Scrum · \`${pipeline.name}\` · run \`${input.runId}\``,
    "",
    // Tokens of the phase: every attempt, its agent and its judges (the progress lines of a run
    // show the agent's and the judges' separately, per attempt).
    "| Phase | State | Tier | Model | Score | Tokens (agents + judges) | Cost | Time | Commit |",
    "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ...rows,
    "",
    `**Total:** ${formatTokens(state.totals.tokens)} tokens · ${formatCost(state.totals.costUsd)}`,
    "",
    `**Next:** ${next(input)}`,
    "",
  ].join("\n");
}

/**
 * The tier of the phase's latest attempt, naming the breakers that moved it there: "balanced
 * (breaker: fast open)". An attempt the breaker moved has no row until its call starts, so for
 * the attempt about to run the tier comes from the run's state.
 */
function tierCell(phase: ResolvedPhase, index: number, state: RunState, attempts: AttemptRecord[]): string {
  const last = attempts.at(-1);
  const upcoming =
    index === state.phaseIndex &&
    state.status === "running" &&
    state.step === "call" &&
    state.attempt > (last?.attempt ?? 0);
  const attempt = upcoming ? state.attempt : last?.attempt;
  const tier = upcoming ? state.tier : last?.tier;
  if (!tier) return "—";
  const moved = (state.tierChanges?.[phase.id] ?? []).filter(
    (change) => change.cause === "breaker" && change.attempt === attempt,
  );
  if (moved.length === 0) return tier;
  return `${tier} (breaker: ${moved.map((change) => `${change.from} ${change.breaker ?? "open"}`).join(", ")})`;
}

function phaseState(index: number, state: RunState, attempts: AttemptRecord[]): string {
  if (index < state.phaseIndex)
    return attempts.length > 1 ? `✅ done (${attempts.length} attempts)` : "✅ done";
  if (index > state.phaseIndex) return "⏳ pending";
  switch (state.status) {
    case "running":
      return attempts.length > 1 ? `🔄 running (attempt ${state.attempt})` : "🔄 running";
    case "waiting":
      return state.step === "ci" ? "⏸ waiting for CI" : "⏸ cooling down";
    case "awaiting_approval":
      return `👀 ${statusWords(state.status)}`;
    case "failed":
      return "❌ failed";
    case "needs_human":
      return "🙋 needs a person";
    case "cancelled":
      return "⛔ cancelled";
    default:
      return "✅ done";
  }
}

function next(input: StatusInput): string {
  const { state } = input;
  switch (state.status) {
    case "running":
      if (state.step === "merge") return "merging the approved commit, as the repository asks.";
      return input.hints.running ?? "the run is working on the current phase.";
    case "waiting":
      if (state.step === "ci") {
        const sha = state.current?.commit?.slice(0, 7) ?? "the phase's commit";
        return `waiting for CI on ${sha} until ${formatTime(state.current?.ciUntil ?? 0)}; a completed check suite wakes the run sooner.`;
      }
      return `cooling down until ${formatTime(state.waitUntil ?? 0)}; then the run resumes (${input.hints.resume}).`;
    case "awaiting_approval":
      return `a human review: ${input.hints.approve}.`;
    case "succeeded":
      // The repository asked the app to merge, and GitHub refused: a person takes it from here.
      if (state.approval && state.reason?.startsWith("approved; not merged")) {
        const approved = `${state.approval.by.join(", ")} approved \`${state.approval.head.slice(0, 7)}\``;
        return `a person merges the pull request: ${approved}, but the app could not merge it (${quietMarkdown(state.reason)}). A new commit needs a new approval.`;
      }
      return state.reason
        ? `nothing: the run is complete (${quietMarkdown(state.reason)}).`
        : "nothing: the run is complete.";
    case "failed":
      return failedNext(input);
    case "needs_human":
      return `a person: ${quietMarkdown(state.reason ?? "a phase failed")}. The issue is labelled \`${NEEDS_HUMAN_LABEL}\`. Change the issue or the pipeline, then ${input.hints.restart}: this run is then cancelled and a new one starts.`;
    case "cancelled":
      // The reason says who: "cancelled by @someone, who closed pull request #2".
      return `nothing: the run was ${quietMarkdown(state.reason ?? "cancelled")}.`;
  }
}

/**
 * A failed run is not final (issue 11): the status says how to send it back, and which phase that
 * runs again, or why a retry would be refused (its budget is spent) and what to do instead.
 */
function failedNext(input: StatusInput): string {
  const { state, pipeline, hints } = input;
  const failed = `the run failed. ${quietMarkdown(state.reason ?? "")}`.trim();
  if (!hints.retry) return `nothing: ${failed}`;
  // The reason is a clause ("phase \"code\" failed after 2 attempt(s): …"): end it before what follows.
  const ended = /[.!?]$/.test(failed) ? failed : `${failed}.`;
  const refusal = retryRefusal(state, pipeline);
  if (refusal) return `nothing: ${ended} It cannot be retried: ${quietMarkdown(refusal)}.`;
  const phase = rerunTarget(state, pipeline, "phase.retry");
  const what = phase ? `phase \`${phase}\` and every phase after it` : "the run";
  return `a retry: ${ended} To try again, ${hints.retry}: it runs ${what} again, on the same branch.`;
}

import { retryRefusal } from "../engine/rerun-phase.js";
import type { ResolvedPhase } from "../pipeline/resolved.js";
import { formatCost, formatTime, formatTokens, statusWords } from "../render/format.js";
import type { Progress } from "../worker/worker.js";
import type { NextSteps } from "./next-steps.js";

/**
 * Turns worker progress into the phase-by-phase lines a person watches in a terminal. Pure: it
 * returns the lines, the caller prints them.
 */
export function progressLines(progress: Progress): string[] {
  const { event, state, run } = progress;
  const phase: ResolvedPhase | undefined = run.pipeline.phases[run.state.phaseIndex];
  const name = (phase?.id ?? "").padEnd(20);
  switch (event.type) {
    case "branch.prepared":
      return [`  branch ${run.branch} at ${event.head.slice(0, 7)}`];
    case "agent.completed": {
      const o = event.output;
      const tokens = o.usage.inputTokens + o.usage.outputTokens;
      return [
        // The agent's call only; its judges' tokens follow on the gates line. `status` adds both
        // up per phase, over every attempt (issue 12: the two counts must say what they count).
        `  ▸ ${name} attempt ${run.state.attempt} · ${o.tier} · ${o.provider}/${o.model} · agent ${formatTokens(tokens)} tokens`,
      ];
    }
    case "agent.failed":
      return [
        `  ✗ ${name} attempt ${run.state.attempt} failed: ${event.error}${next(state, run.state.attempt)}`,
      ];
    case "gates.evaluated": {
      const judged = event.verdict.results.find((r) => r.details);
      const score = judged
        ? ` score ${judged.score.toFixed(2)} / ${judged.details?.threshold.toFixed(2)}`
        : "";
      const judgeTokens = event.usage.inputTokens + event.usage.outputTokens;
      const judges = judgeTokens > 0 ? ` · judges ${formatTokens(judgeTokens)} tokens` : "";
      if (event.verdict.pass) return [`  ✓ ${name} gates passed${score}${judges}`];
      const why = event.verdict.results.filter((r) => !r.pass).flatMap((r) => r.reasons)[0] ?? "";
      return [`  ✗ ${name} gates failed${score}${judges}: ${why}${next(state, run.state.attempt)}`];
    }
    case "phase.committed":
      return [`    ${"".padEnd(20)} committed ${event.sha.slice(0, 7)}`];
    case "phase.commented":
      return [`    ${"".padEnd(20)} comment ${event.commentId}`];
    case "wait.scheduled":
      return [`  ⏸ ${name} cooling down until ${formatTime(event.until)}`];
    case "wait.elapsed":
      return [
        `  ▶ ${name} cooldown over${event.fastForwarded ? ` (fast-forwarded${event.by ? ` by ${event.by}` : ""})` : ""}`,
      ];
    case "approval.requested":
      return [`  👀 ${name} waiting for approval (a human review)`];
    case "approval.granted":
      return [`  ✓ ${name} approved by ${event.by}${event.sha ? ` at ${event.sha.slice(0, 7)}` : ""}`];
    case "approval.revoked":
      return [`  ↩ ${name} approvals withdrawn (${event.reason.replace("-", " ")} by ${event.by})`];
    case "handoff.done":
      return [`  🙋 ${name} handed to a person (label ${event.label})`];
    case "phase.rerouted":
      return [
        `  ↷ ${name} attempt ${event.attempt} moved from ${event.from} to ${event.to}: ${event.reason}`,
      ];
    case "run.cancelled":
      return [`  ⛔ run cancelled by ${event.by}`];
    case "phase.retry":
    case "phase.escalate": {
      const how = event.type === "phase.escalate" ? "escalated" : "sent back";
      // A run sent back before its branch existed has no attempt or tier yet: say nothing of them.
      const to =
        state.status === "running" && state.attempt > 0 && state.tier
          ? ` → attempt ${state.attempt} on the ${state.tier} tier`
          : "";
      return [`  ↺ ${event.phaseId.padEnd(20)} ${how} by ${event.by}${to}`];
    }
    case "run.merged":
      return [`  ✔ pull request merged by ${event.by}`];
    case "run.aborted":
      return [`  ✗ run stopped: ${event.reason}`];
    case "job.failed":
      return [
        `  ! worker error: ${event.error}${event.retryAt ? ` (retrying at ${formatTime(event.retryAt)})` : ""}`,
      ];
    default:
      return [];
  }
}

function next(state: Progress["state"], attempt: number): string {
  if (state.status === "running" && state.step === "call" && state.attempt > attempt) {
    return ` → attempt ${state.attempt} on the ${state.tier} tier`;
  }
  return "";
}

/** The closing lines of a command: where the run stands and what to type next. */
export function summaryLines(
  progress: Pick<Progress, "state" | "run">,
  where: { runsDir: string; steps: Pick<NextSteps, "command"> },
): string[] {
  const { state, run } = progress;
  const command = where.steps.command;
  const totals = `${formatTokens(state.totals.tokens)} tokens · ${formatCost(state.totals.costUsd)}`;
  const folder = `  comments and status: ${where.runsDir}/${run.id}/`;
  switch (state.status) {
    case "succeeded":
      return [`✔ run ${run.id} succeeded · ${totals}`, `  branch: ${run.branch}`, folder];
    case "failed": {
      // A failed run is not final (issue 11): say how to send it back, or why that is refused.
      const refusal = retryRefusal(state, run.pipeline);
      return [
        `✘ run ${run.id} failed: ${state.reason ?? "unknown reason"} · ${totals}`,
        refusal
          ? `  it cannot be retried: ${refusal}`
          : `  try again with: ${command("retry", run.id)}   (an earlier phase: ${command("retry", run.id, "<phase>")})`,
        folder,
      ];
    }
    case "cancelled":
      return [
        `⛔ run ${run.id} was ${(state.reason ?? "cancelled").replace(/^(?!cancelled)/, "cancelled: ")}`,
        folder,
      ];
    case "waiting":
      return [
        `⏸ run ${run.id} is cooling down until ${formatTime(state.waitUntil ?? 0)} · ${totals}`,
        `  continue then with: ${command("resume", run.id)}   (or now: ${command("resume", run.id, "--no-wait")})`,
        folder,
      ];
    case "needs_human":
      return [
        `🙋 run ${run.id} needs a person: ${state.reason ?? "a phase failed"} · ${totals}`,
        `  the phase's comment says what failed; stop the run with: ${command("cancel", run.id)}`,
        folder,
      ];
    case "awaiting_approval":
      return [
        `👀 run ${run.id} is waiting for approval (a human review) · ${totals}`,
        `  review branch ${run.branch}, then: ${command("approve", run.id)}`,
        folder,
      ];
    default:
      return [
        // Work is due later (a retry after an error, say): the step's internal name says nothing.
        `… run ${run.id} is ${statusWords(state.status)}, with nothing for this command to do now; continue later with: ${command("resume", run.id)}`,
        folder,
      ];
  }
}

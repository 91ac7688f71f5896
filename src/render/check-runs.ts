import { createHash } from "node:crypto";
import { TERMINAL } from "../engine/transition.js";
import type { GatesVerdict, RunState } from "../engine/types.js";
import type { CheckConclusion, CheckInput } from "../forge/forge.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import type { CheckRunRow } from "../store/check-runs.js";
import type { AttemptRecord } from "../store/runs.js";
import { formatCost, formatTokens } from "./format.js";
import { renderVerdict } from "./phase-comment.js";
import { quietMarkdown } from "./quiet-markdown.js";

/** The check branch protection can require: the same name for every run and every pipeline. */
export const APPROVAL_CHECK = "Atomic Scrum / human approval";

/** A phase's check, named by its id so a pipeline's checks keep their names when phases are renamed. */
export function phaseCheckName(phaseId: string): string {
  return `Atomic Scrum / ${phaseId}`;
}

export type DesiredCheck = Omit<CheckInput, "runId" | "id">;

export interface ChecksInput {
  pipeline: ResolvedPipeline;
  state: RunState;
  attempts: AttemptRecord[];
  /** What the app has written for this run so far. */
  written: CheckRunRow[];
}

/**
 * The check runs a run should show, from its state: the status comment's counterpart where
 * GitHub users look. Each agent phase has a check on the commit it produced; a phase that failed
 * without a commit has one on the branch head; `Atomic Scrum / human approval` is in progress on
 * the head while the run awaits approval and succeeds on the commit that was approved. A check
 * written earlier that is still open and no longer wanted (the run ended, or the branch moved on)
 * is closed as cancelled: no check shows as running forever. Only what differs from what was
 * written gets written (see {@link fingerprint}).
 */
export function desiredChecks(input: ChecksInput): DesiredCheck[] {
  const { pipeline, state, attempts, written } = input;
  const wanted = new Map<string, DesiredCheck>();
  const want = (check: DesiredCheck) => wanted.set(`${check.name}@${check.headSha}`, check);
  const ended = TERMINAL.has(state.status);
  const current = pipeline.phases[state.phaseIndex];

  for (const attempt of attempts) {
    if (!attempt.commitSha) continue;
    const phase = pipeline.phases.find((p) => p.id === attempt.phaseId);
    if (phase?.kind !== "agent") continue;
    // A phase with a checks gate has passed only once CI said so: before that it waits, and
    // a run that stopped meanwhile (cancelled, sent back) leaves it undecided, not passed.
    const ciPending =
      phase.gates.some((gate) => "checks" in gate) &&
      !(attempt.scores as GatesVerdict | undefined)?.results.some((r) => r.gate === "checks");
    const waitingForCi =
      ciPending && phase === current && attempt.attempt === state.attempt && state.step === "ci" && !ended;
    const passed = attempt.state === "passed";
    const conclusion: CheckConclusion = ciPending ? "cancelled" : passed ? "success" : "failure";
    want({
      name: phaseCheckName(phase.id),
      headSha: attempt.commitSha,
      // Queued until the repository's CI has a check on the commit, then in progress until it decides.
      ...(waitingForCi
        ? { status: state.current?.ciStarted ? ("in_progress" as const) : ("queued" as const) }
        : { status: "completed" as const, conclusion }),
      title: waitingForCi
        ? `${state.current?.ciStarted ? "Waiting for" : "Queued behind"} the repository's CI on ${attempt.commitSha.slice(0, 7)}`
        : ciPending
          ? "Stopped before the repository's CI decided"
          : `${passed ? "Passed" : "Failed"}${scoreOf(attempt)} · attempt ${attempt.attempt} at ${attempt.tier ?? phase.tier}`,
      summary: attemptSummary(phase.name, attempt),
    });
  }

  const branchHasWork =
    state.head !== undefined &&
    (state.baseHead === undefined ? attempts.some((a) => a.commitSha) : state.head !== state.baseHead);
  if (current?.kind === "agent" && state.head && branchHasWork) {
    const name = phaseCheckName(current.id);
    const last = attempts.filter((a) => a.phaseId === current.id).at(-1);
    if (
      (state.status === "failed" || state.status === "needs_human") &&
      state.phaseIndex < pipeline.phases.length
    ) {
      want({
        name,
        headSha: state.head,
        status: "completed",
        conclusion: state.status === "needs_human" ? "action_required" : "failure",
        title: state.status === "needs_human" ? "Failed: handed to a person" : "Failed",
        summary: [
          `> ${quietMarkdown((state.reason ?? "the phase failed").replace(/\n/g, " "))}`,
          "",
          ...(last ? [attemptSummary(current.name, last)] : []),
        ].join("\n"),
      });
    } else if (
      state.status === "running" &&
      written.some((row) => row.name === name && row.headSha === state.head)
    ) {
      // Sent back to this phase (`/retry`): its check on this commit shows it running again.
      want({
        name,
        headSha: state.head,
        status: "in_progress",
        title: `Running again: attempt ${state.attempt} at ${state.tier ?? current.tier}`,
        summary: `${current.name} runs again; this check completes when the phase does.`,
      });
    }
  }

  if (state.status === "awaiting_approval" && current?.kind === "approval" && state.head && branchHasWork) {
    const given = state.approvals ?? [];
    want({
      name: APPROVAL_CHECK,
      headSha: state.head,
      status: "in_progress",
      title: `Waiting for an approving review (${given.length} of ${current.minApprovals})`,
      summary: [
        `Approve commit \`${state.head.slice(0, 7)}\` with a pull request review to open this check.`,
        "A review counts when its author has write, maintain or admin permission on the repository and is not a bot;",
        "a new commit, a dismissed review or a review requesting changes puts this check back to pending.",
        ...(given.length ? ["", `Approved so far by ${given.join(", ")}.`] : []),
      ].join("\n"),
    });
  }
  if (state.approval?.head) {
    want({
      name: APPROVAL_CHECK,
      headSha: state.approval.head,
      status: "completed",
      conclusion: "success",
      title: `Approved by ${state.approval.by.join(", ")}`,
      summary: `Commit \`${state.approval.head.slice(0, 7)}\` was approved by ${state.approval.by.join(", ")}. A new commit needs a new approval.`,
    });
  }

  // Whatever was left open and is no longer wanted is closed, never left running.
  for (const row of written) {
    if (row.completed || wanted.has(`${row.name}@${row.headSha}`)) continue;
    const why =
      state.status === "cancelled"
        ? `The run was ${state.reason ?? "cancelled"}.`
        : state.status === "failed"
          ? `The run failed: ${state.reason ?? "no reason recorded"}.`
          : `Superseded: the branch is now at ${state.head?.slice(0, 7) ?? "another commit"}.`;
    want({
      name: row.name,
      headSha: row.headSha,
      status: "completed",
      conclusion: "cancelled",
      title: ended ? `Run ${state.status}` : "Superseded",
      summary: quietMarkdown(why),
    });
  }
  return [...wanted.values()];
}

/** What a check said, hashed: a check whose fingerprint is unchanged is not written again. */
export function fingerprint(check: DesiredCheck): string {
  const said = [check.status, check.conclusion ?? "", check.title, check.summary].join("\u0000");
  return createHash("sha256").update(said).digest("hex");
}

function scoreOf(attempt: AttemptRecord): string {
  const verdict = attempt.scores as GatesVerdict | undefined;
  const score = verdict?.results.find((r) => r.details)?.score;
  return score === undefined ? "" : ` · score ${score.toFixed(2)}`;
}

function attemptSummary(phaseName: string, attempt: AttemptRecord): string {
  const verdict = attempt.scores as GatesVerdict | undefined;
  const facts = [
    `**${phaseName}**`,
    `attempt ${attempt.attempt}`,
    `tier ${attempt.tier ?? "?"}`,
    `model ${attempt.provider ?? "?"}/${attempt.model ?? "?"}`,
    `${formatTokens(attempt.tokensIn + attempt.tokensOut)} tokens`,
    formatCost(attempt.costUsd),
  ];
  return [facts.join(" · "), "", ...(verdict ? renderVerdict(verdict) : [])].join("\n").trimEnd();
}

export type { CheckConclusion };

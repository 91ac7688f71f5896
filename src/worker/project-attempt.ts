import type { Database } from "better-sqlite3";
import { withChecksResult } from "../engine/checks-gate.js";
import type { RunEvent, RunState } from "../engine/types.js";
import { endRunningAttempt, upsertAttempt } from "../store/runs.js";

/**
 * Keeps `phase_attempts` in step with the event log: the table the status comment, the CLI and
 * the dashboard read. Runs inside the transaction that applies the event.
 */
export function projectAttempt(
  db: Database,
  at: { runId: string; phaseId: string | undefined },
  before: RunState,
  event: RunEvent,
  now: number,
): void {
  const { runId, phaseId } = at;
  if (!phaseId) return;
  const key = { runId, phaseId, attempt: before.attempt };
  switch (event.type) {
    case "agent.completed": {
      const { output } = event;
      upsertAttempt(db, key, {
        tier: output.tier,
        provider: output.provider,
        model: output.model,
        output: output.text,
        tokensIn: output.usage.inputTokens,
        tokensOut: output.usage.outputTokens,
        cacheRead: output.usage.cacheReadTokens,
        cacheWrite: output.usage.cacheWriteTokens,
        costUsd: output.costUsd,
      });
      return;
    }
    case "agent.failed":
      upsertAttempt(db, key, {
        state: "error",
        error: event.error,
        finishedAt: now,
        // A billed but unusable answer counts, here too: daily budgets sum these rows.
        ...(event.usage
          ? {
              tokensIn: event.usage.inputTokens,
              tokensOut: event.usage.outputTokens,
              cacheRead: event.usage.cacheReadTokens,
              cacheWrite: event.usage.cacheWriteTokens,
              costUsd: event.costUsd ?? 0,
            }
          : {}),
      });
      return;
    case "gates.evaluated": {
      const agent = before.current?.output;
      upsertAttempt(db, key, {
        scores: event.verdict,
        state: event.verdict.pass ? "passed" : "failed",
        finishedAt: now,
        tokensIn: (agent?.usage.inputTokens ?? 0) + event.usage.inputTokens,
        tokensOut: (agent?.usage.outputTokens ?? 0) + event.usage.outputTokens,
        cacheRead: (agent?.usage.cacheReadTokens ?? 0) + event.usage.cacheReadTokens,
        cacheWrite: (agent?.usage.cacheWriteTokens ?? 0) + event.usage.cacheWriteTokens,
        costUsd: (agent?.costUsd ?? 0) + event.costUsd,
      });
      return;
    }
    case "phase.committed":
      upsertAttempt(db, key, { commitSha: event.sha });
      return;
    case "ci.completed": {
      // The checks gate decides after the commit: the attempt's verdict and state change again.
      const verdict = withChecksResult(before.current?.verdict, event);
      upsertAttempt(db, key, { scores: verdict, state: verdict.pass ? "passed" : "failed", finishedAt: now });
      return;
    }
    case "phase.commented":
      upsertAttempt(db, key, { commentId: event.commentId });
      return;
    case "phase.retry":
    case "phase.escalate":
      // The attempt in hand when a person sent the run back is abandoned, not left running.
      endRunningAttempt(db, key, {
        error: `abandoned: ${event.type === "phase.retry" ? "retried" : "escalated"} by ${event.by}`,
        finishedAt: now,
      });
      return;
    case "run.aborted":
    case "run.cancelled":
    case "run.merged":
      // An attempt cut short must not show as running forever.
      endRunningAttempt(db, key, {
        error:
          event.type === "run.aborted"
            ? event.reason
            : event.type === "run.merged"
              ? `merged by ${event.by}`
              : `cancelled by ${event.by}`,
        finishedAt: now,
      });
      return;
    default:
      return;
  }
}

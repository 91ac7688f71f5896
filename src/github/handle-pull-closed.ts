import type { Context } from "probot";
import type { Database } from "../store/database.js";
import { findRunForBranch, recordDelivery } from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import { endKey } from "../worker/end-key.js";
import { enqueueRunJob } from "../worker/jobs.js";

export interface PullClosedDeps {
  db: Database;
  now: () => number;
  /** Wakes the worker so the cancellation is written to GitHub at once (the loop would find it anyway). */
  wake?: () => void;
}

export type PullClosedOutcome = "not-ours" | "duplicate-delivery" | "cancelled" | "completed";

/**
 * `pull_request.closed`: a person closing the run's pull request cancels the run, so the next
 * phase does not open a new pull request nobody asked for; merging it completes the run. Closing a pull request already
 * takes write access (or being its author: the app), so no permission check is needed here.
 * Makes no request to GitHub: the cancellation is queued in the run's group and the worker writes
 * the final status comment.
 */
export function handlePullClosed(
  context: Context<"pull_request.closed">,
  deps: PullClosedDeps,
): PullClosedOutcome {
  const { payload } = context;
  const pull = payload.pull_request;
  // A fork can use the same branch name: only a pull request from the repository itself is ours.
  if (pull.head.repo?.id !== payload.repository.id) return "not-ours";
  const repo = { owner: payload.repository.owner.login, name: payload.repository.name };
  const outcome = writeTransaction(deps.db, (): PullClosedOutcome => {
    // A failed run counts too: once its pull request is merged or closed, no /retry revives it.
    const run = findRunForBranch(deps.db, repo, pull.head.ref);
    // A run that ended on a passed approval is open still: merging completes it for good, and
    // closing it unmerged cancels it.
    const ended =
      run?.state.status === "cancelled" || (run?.state.status === "succeeded" && !run.state.approval);
    if (run === undefined || ended) return "not-ours";
    if (!recordDelivery(deps.db, context.id, "pull_request.closed", deps.now())) return "duplicate-delivery";
    const who = `@${payload.sender.login}`;
    enqueueRunJob(deps.db, {
      runId: run.id,
      key: endKey(pull.merged ? "merged" : "cancel", run.state),
      now: deps.now(),
      event: pull.merged
        ? { type: "run.merged", by: `${who} (pull request #${pull.number})` }
        : { type: "run.cancelled", by: `${who}, who closed pull request #${pull.number}` },
    });
    context.log.info(
      { runId: run.id, pull: pull.number, merged: pull.merged },
      pull.merged ? "pull request merged; completing its run" : "pull request closed; cancelling its run",
    );
    return pull.merged ? "completed" : "cancelled";
  });
  if (outcome === "cancelled" || outcome === "completed") deps.wake?.();
  return outcome;
}

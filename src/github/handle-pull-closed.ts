import type { Context } from "probot";
import type { Database } from "../store/database.js";
import { findActiveRunForBranch, recordDelivery } from "../store/runs.js";
import { enqueueRunJob } from "../worker/jobs.js";

export interface PullClosedDeps {
  db: Database;
  now: () => number;
  /** Wakes the worker so the cancellation is written to GitHub at once (the loop would find it anyway). */
  wake?: () => void;
}

export type PullClosedOutcome = "not-ours" | "duplicate-delivery" | "cancelled";

/**
 * `pull_request.closed`: a person closing (or merging) the run's pull request ends the run, so
 * the next phase does not open a new pull request nobody asked for. Closing a pull request already
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
  const how = pull.merged ? "merged" : "closed";
  const outcome = deps.db.transaction((): PullClosedOutcome => {
    const run = findActiveRunForBranch(deps.db, repo, pull.head.ref);
    if (run === undefined) return "not-ours";
    if (!recordDelivery(deps.db, context.id, "pull_request.closed", deps.now())) return "duplicate-delivery";
    enqueueRunJob(deps.db, {
      runId: run.id,
      key: "cancel",
      now: deps.now(),
      event: {
        type: "run.cancelled",
        by: `@${payload.sender.login}, who ${how} pull request #${pull.number}`,
      },
    });
    context.log.info({ runId: run.id, pull: pull.number, how }, "pull request closed; cancelling its run");
    return "cancelled";
  })();
  if (outcome === "cancelled") deps.wake?.();
  return outcome;
}

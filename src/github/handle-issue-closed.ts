import type { Context } from "probot";
import type { RunEvent } from "../engine/types.js";
import type { Database } from "../store/database.js";
import { findActiveRunForIssue, recordDelivery } from "../store/runs.js";
import { enqueueRunJob } from "../worker/jobs.js";

export interface IssueClosedDeps {
  db: Database;
  now: () => number;
  /** Wakes the worker so the run's status comment is final at once. */
  wake?: () => void;
}

export type IssueClosedOutcome = "no-run" | "duplicate-delivery" | "cancelled" | "completed";

/**
 * `issues.closed`: closing the issue ends its run. GitHub also closes the issue when the run's
 * pull request (which says `Closes #N`) is merged, and that event can arrive before the pull
 * request's own: so the run's pull requests are looked up (one request), and a merged one
 * completes the run instead of cancelling it. Closing an issue takes triage access or being its
 * author; either way the run loses its reason to go on.
 */
export async function handleIssueClosed(
  context: Context<"issues.closed">,
  deps: IssueClosedDeps,
): Promise<IssueClosedOutcome> {
  const { payload } = context;
  const repo = { owner: payload.repository.owner.login, name: payload.repository.name };
  const run = findActiveRunForIssue(deps.db, repo, payload.issue.number);
  if (run === undefined) return "no-run";
  const { data: pulls } = await context.octokit.rest.pulls.list({
    owner: repo.owner,
    repo: repo.name,
    head: `${repo.owner}:${run.branch}`,
    state: "all",
  });
  const merged = pulls.find((pull) => pull.merged_at !== null);
  const who = `@${payload.sender.login}`;
  const event: RunEvent = merged
    ? { type: "run.merged", by: `${who} (pull request #${merged.number})` }
    : { type: "run.cancelled", by: `${who}, who closed issue #${payload.issue.number}` };
  const outcome = deps.db.transaction((): IssueClosedOutcome => {
    if (!recordDelivery(deps.db, context.id, "issues.closed", deps.now())) return "duplicate-delivery";
    // The same keys as the pull request's handler: whichever event comes first, the run ends once.
    enqueueRunJob(deps.db, { runId: run.id, key: merged ? "merged" : "cancel", now: deps.now(), event });
    return merged ? "completed" : "cancelled";
  })();
  context.log.info({ runId: run.id, outcome }, "issue closed; ending its run");
  if (outcome !== "duplicate-delivery") deps.wake?.();
  return outcome;
}

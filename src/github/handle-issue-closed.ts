import type { Context } from "probot";
import type { RunEvent } from "../engine/types.js";
import type { Database } from "../store/database.js";
import { findLatestRunForIssue, recordDelivery } from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import { endKey } from "../worker/end-key.js";
import { enqueueRunJob } from "../worker/jobs.js";
import { repoRole } from "./permissions.js";
import type { RepoPermission } from "./repo-config.js";

export interface IssueClosedDeps {
  db: Database;
  now: () => number;
  /** Wakes the worker so the run's status comment is final at once. */
  wake?: () => void;
}

export type IssueClosedOutcome = "no-run" | "not-allowed" | "duplicate-delivery" | "cancelled" | "completed";

const STEERING_ROLES: readonly RepoPermission[] = ["write", "maintain", "admin"];

/**
 * `issues.closed`: closing the issue ends its run. GitHub also closes the issue when the run's
 * pull request (which says `Closes #N`) is merged, and that event can arrive before the pull
 * request's own: so the run's pull requests are looked up (one request), and a merged one
 * completes the run instead of cancelling it. Otherwise only someone with write access ends the
 * run this way: an issue's author or a triager can close the issue but not steer a run.
 */
export async function handleIssueClosed(
  context: Context<"issues.closed">,
  deps: IssueClosedDeps,
): Promise<IssueClosedOutcome> {
  const { payload } = context;
  const repo = { owner: payload.repository.owner.login, name: payload.repository.name };
  // A failed run counts too: once its issue is closed, no /retry revives it.
  const run = findLatestRunForIssue(deps.db, repo, payload.issue.number);
  // A run that ended on a passed approval stays open until its pull request is merged or closed.
  const ended =
    run?.state.status === "cancelled" || (run?.state.status === "succeeded" && !run.state.approval);
  if (run === undefined || ended) return "no-run";
  const { data: pulls } = await context.octokit.rest.pulls.list({
    owner: repo.owner,
    repo: repo.name,
    head: `${repo.owner}:${run.branch}`,
    state: "all",
  });
  const merged = pulls.find((pull) => pull.merged_at !== null);
  // An issue's author or a triager can close it; only write access steers a run. A merge needs
  // write access already, so it ends the run whoever closed the issue.
  if (!merged) {
    const role = await repoRole(context.octokit, repo.owner, repo.name, payload.sender.login);
    if (role === undefined || !STEERING_ROLES.includes(role)) {
      context.log.info(
        { runId: run.id, sender: payload.sender.login, role },
        "issue closed without write access; the run goes on",
      );
      return "not-allowed";
    }
  }
  const who = `@${payload.sender.login}`;
  const event: RunEvent = merged
    ? { type: "run.merged", by: `${who} (pull request #${merged.number})` }
    : { type: "run.cancelled", by: `${who}, who closed issue #${payload.issue.number}` };
  const outcome = writeTransaction(deps.db, (): IssueClosedOutcome => {
    if (!recordDelivery(deps.db, context.id, "issues.closed", deps.now())) return "duplicate-delivery";
    // The same keys as the pull request's handler: whichever event comes first, the run ends once.
    enqueueRunJob(deps.db, {
      runId: run.id,
      key: endKey(merged ? "merged" : "cancel", run.state),
      now: deps.now(),
      event,
    });
    return merged ? "completed" : "cancelled";
  });
  context.log.info({ runId: run.id, outcome }, "issue closed; ending its run");
  if (outcome !== "duplicate-delivery") deps.wake?.();
  return outcome;
}

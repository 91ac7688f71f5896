import type { Context } from "probot";
import type { Database } from "../store/database.js";
import { findActiveRunForBranch, recordDelivery } from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import { enqueueRunJob } from "../worker/jobs.js";

export interface CheckSuiteDeps {
  db: Database;
  now: () => number;
  /** The GitHub App's id: its own suites (the phase and approval checks) are not CI. */
  appId?: number;
  /** The app's slug, when its id is unknown: the same test, by name. */
  appSlug?: string;
  /** Wakes the worker after a run was told to read its CI again. */
  wake?: () => void;
}

export type CheckSuiteOutcome = "not-ours" | "own-suite" | "not-waiting" | "duplicate-delivery" | "queued";

/**
 * The checks gate's wake-up call (docs/gates.md, "The checks gate"): a check suite of another app
 * completed on the commit a run waits on, so the run reads its CI again. The payload's conclusion
 * is not trusted or used: the worker reads the check runs itself. No permission check is needed:
 * the delivery is signed by GitHub, and all it can cause is one more read of the CI.
 */
export function handleCheckSuite(
  context: Context<"check_suite.completed">,
  deps: CheckSuiteDeps,
): CheckSuiteOutcome {
  const { payload } = context;
  const suite = payload.check_suite;
  const app = suite.app;
  if ((deps.appId !== undefined && app?.id === deps.appId) || (deps.appSlug && app?.slug === deps.appSlug))
    return "own-suite";
  // A suite on a fork's pull request has no branch of this repository (head_branch is null).
  const branch = suite.head_branch;
  if (!branch) return "not-ours";
  const repo = { owner: payload.repository.owner.login, name: payload.repository.name };
  const run = findActiveRunForBranch(deps.db, repo, branch);
  if (run === undefined) return "not-ours";
  // Also while the run is reading its CI (running at step ci): that read may have missed this
  // suite, and the event applies once the run waits; if the read saw it, the event is dropped.
  const { state } = run;
  if (state.step !== "ci" || state.current?.commit !== suite.head_sha) return "not-waiting";
  const event = { type: "ci.changed" as const, sha: suite.head_sha };
  const taken = writeTransaction(deps.db, () => {
    if (!recordDelivery(deps.db, context.id, context.name, deps.now())) return false;
    enqueueRunJob(deps.db, { runId: run.id, key: `check-suite/${context.id}`, now: deps.now(), event });
    return true;
  });
  if (!taken) return "duplicate-delivery";
  deps.wake?.();
  context.log.info({ runId: run.id, suite: suite.id, app: app?.slug }, "check suite queued");
  return "queued";
}

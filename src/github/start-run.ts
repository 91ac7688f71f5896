import { randomBytes } from "node:crypto";
import type { IssueInput, RepoInput } from "../engine/template-context.js";
import { initialState } from "../engine/transition.js";
import { freshBranchFor } from "../local/issue-file.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import type { Database } from "../store/database.js";
import {
  findActiveRunForIssue,
  insertRun,
  isBranchUsed,
  type ProviderChoice,
  recordDelivery,
} from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import { endKey } from "../worker/end-key.js";
import { enqueueRunJob, enqueueRunStart } from "../worker/jobs.js";

/** Everything a labeled issue needs to become a queued run. */
export interface GitHubStartInput {
  /** The webhook delivery that asked for the run; a second delivery with this id starts nothing. */
  deliveryId: string;
  pipeline: ResolvedPipeline;
  /** Content hash the run is pinned to. */
  hash: string;
  /** Built-in name or repository path the pipeline came from. */
  pipelinePath: string;
  repo: RepoInput;
  issue: IssueInput;
  provider: ProviderChoice;
  /** Who added the label (the event's sender). */
  startedBy?: string;
}

export type StartOutcome =
  | { started: true; runId: string }
  | { started: false; reason: "duplicate-delivery" }
  | { started: false; reason: "already-active"; runId: string };

/**
 * Records the delivery, creates the run and queues its start in one transaction: either all three
 * happen or none, so a crash in between cannot leave a run nobody works on, nor a delivery marked
 * taken with no run (it can be redelivered). Nothing here waits on a model or on GitHub.
 */
export function startGitHubRun(db: Database, now: number, input: GitHubStartInput): StartOutcome {
  const id = `run-${input.issue.number}-${randomBytes(3).toString("hex")}`;
  return writeTransaction(db, (): StartOutcome => {
    if (!recordDelivery(db, input.deliveryId, "issues.labeled", now)) {
      return { started: false, reason: "duplicate-delivery" };
    }
    const active = findActiveRunForIssue(db, input.repo, input.issue.number);
    if (active && active.state.status !== "needs_human") {
      return { started: false, reason: "already-active", runId: active.id };
    }
    // A run handed to a person gives way to a new start: the new run is what the person did about it.
    if (active) {
      const by = `${input.startedBy ? `@${input.startedBy}` : "someone"}, who started the pipeline again`;
      enqueueRunJob(db, {
        runId: active.id,
        key: endKey("cancel", active.state),
        now,
        event: { type: "run.cancelled", by },
      });
    }
    const branch = freshBranchFor(input.issue, (name) => isBranchUsed(db, input.repo, name));
    insertRun(db, {
      id,
      pipelineName: input.pipeline.name,
      pipelineHash: input.hash,
      pipeline: input.pipeline,
      pipelinePath: input.pipelinePath,
      repo: input.repo,
      issue: input.issue,
      branch,
      state: initialState(),
      provider: input.provider,
      ...(input.startedBy ? { startedBy: input.startedBy } : {}),
      createdAt: now,
    });
    enqueueRunStart(db, id, now);
    return { started: true, runId: id };
  });
}

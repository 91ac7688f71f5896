import type { Context } from "probot";
import type { RunEvent } from "../engine/types.js";
import type { Database } from "../store/database.js";
import { findRunForBranch, type RunRecord, recordDelivery } from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import { enqueueRunJob } from "../worker/jobs.js";
import { checkReviewer, type ReviewerRefusal } from "./reviewer-rules.js";

export interface ReviewDeps {
  db: Database;
  now: () => number;
  /** The app's slug, when known: its own reviews (`<slug>[bot]`) never count, even if not typed Bot. */
  appSlug?: string;
  /** Wakes the worker after an approval or a revocation was queued. */
  wake?: () => void;
}

export type ReviewOutcome =
  | "not-ours"
  | "ignored"
  | "refused-bot"
  | "refused-role"
  | "refused-self-review"
  | "duplicate-delivery"
  | "approved"
  | "revoked";

type ReviewContext =
  | Context<"pull_request_review.submitted">
  | Context<"pull_request_review.dismissed">
  | Context<"pull_request.synchronize">;

/**
 * The human approval gate, from pull request reviews (docs/commands.md, "Human approval").
 * `submitted` + approved: the reviewer is checked (not a bot or the app, write/maintain/admin read
 * through the API now, not the run's starter under `prevent_self_review`) and `approval.granted`
 * is queued for the review's commit; the engine refuses it unless that commit is the run's head.
 * `submitted` + changes requested (from a reviewer who could approve), `dismissed` and
 * `synchronize` (a new commit, the app's or anyone's) queue `approval.revoked`. A refused review
 * is only logged: a reply per review would be noise on a busy pull request, and the status comment
 * still says the run awaits approval. The app never merges.
 */
export async function handleReview(context: ReviewContext, deps: ReviewDeps): Promise<ReviewOutcome> {
  const { payload } = context;
  const pull = payload.pull_request;
  // A fork can use the same branch name: only a pull request from the repository itself is ours.
  if (pull.head.repo?.id !== payload.repository.id) return "not-ours";
  const repo = { owner: payload.repository.owner.login, name: payload.repository.name };
  const run = findRunForBranch(deps.db, repo, pull.head.ref);
  if (run === undefined || !takesReviews(run)) return "not-ours";
  // The events name no phase: the engine applies them to the approval the run awaits when the job
  // runs, which may be later than now (a run still in its cooldown, or one an earlier event moves).

  let queued: { key: string; event: RunEvent };
  if ("review" in payload) {
    const review = payload.review;
    const by = `@${review.user?.login ?? payload.sender.login}`;
    if (payload.action === "dismissed") {
      // Dismissing a review takes write access already: no check needed.
      queued = {
        key: `review/${review.id}/dismissed`,
        event: {
          type: "approval.revoked",
          by: `@${payload.sender.login}`,
          reason: "dismissed",
          ...(review.user ? { reviewer: `@${review.user.login}` } : {}),
          ...(review.commit_id ? { commit: review.commit_id } : {}),
        },
      };
    } else {
      const state = review.state.toLowerCase();
      if (state !== "approved" && state !== "changes_requested") return "ignored";
      const refusal = await checkReviewerOf(context, deps, run, state === "approved");
      if (refusal) {
        context.log.info(
          { runId: run.id, reviewer: by, review: review.id, refusal },
          "review does not count",
        );
        return refusal;
      }
      queued = {
        key: `review/${review.id}`,
        event:
          state === "approved"
            ? { type: "approval.granted", by, sha: review.commit_id }
            : { type: "approval.revoked", by, reason: "changes-requested" },
      };
    }
  } else {
    const head = payload.after;
    queued = {
      key: `push/${context.id}`,
      event: {
        type: "approval.revoked",
        by: `@${payload.sender.login}`,
        reason: "new-commit",
        head,
        previousHead: payload.before,
      },
    };
  }

  const taken = writeTransaction(deps.db, () => {
    if (!recordDelivery(deps.db, context.id, context.name, deps.now())) return false;
    enqueueRunJob(deps.db, { runId: run.id, now: deps.now(), ...queued });
    return true;
  });
  if (!taken) return "duplicate-delivery";
  deps.wake?.();
  context.log.info({ runId: run.id, event: queued.event }, "review event queued");
  return queued.event.type === "approval.granted" ? "approved" : "revoked";
}

/**
 * A run still moving, or one that ended on a passed approval and is not merged: a new commit or a
 * withdrawn approval sends that one back to its approval phase.
 */
function takesReviews(run: RunRecord): boolean {
  const { status, approval } = run.state;
  if (status === "succeeded") return approval !== undefined;
  return status !== "failed" && status !== "cancelled";
}

/** Why the review in the payload does not count, or undefined when it does (src/github/reviewer-rules.ts). */
async function checkReviewerOf(
  context: ReviewContext,
  deps: ReviewDeps,
  run: RunRecord,
  approving: boolean,
): Promise<ReviewerRefusal | undefined> {
  const { payload } = context;
  if (!("review" in payload)) return undefined;
  const where = {
    octokit: context.octokit,
    owner: payload.repository.owner.login,
    repo: payload.repository.name,
    defaultBranch: payload.repository.default_branch,
    ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
  };
  return checkReviewer(where, payload.review.user ?? payload.sender, { approving, startedBy: run.startedBy });
}

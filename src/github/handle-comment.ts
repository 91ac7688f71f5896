import type { Context } from "probot";
import { foldBody } from "../forge/github/fold-body.js";
import { defaultServerSettings, type ServerSettings } from "../providers/settings.js";
import { renderStatus } from "../render/status-comment.js";
import type { Database } from "../store/database.js";
import { claimReply, releaseReply } from "../store/replies.js";
import {
  findLatestRunForIssue,
  findReplacingRun,
  findRunForBranch,
  listAttempts,
  type RunRecord,
  recordDelivery,
} from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import { enqueueRunJob } from "../worker/jobs.js";
import { dryRunReply } from "./dry-run-reply.js";
import type { Octokit } from "./octokit.js";
import { repoRole } from "./permissions.js";
import { admits, type PlannedCommand, planCommands } from "./plan-commands.js";
import { HELP_TEXT, type ParsedCommand, parseCommands } from "./slash-commands.js";

export interface CommentDeps {
  db: Database;
  now: () => number;
  /** The app's slug, when known: its own comments (`<slug>[bot]`) are ignored even if not typed Bot. */
  appSlug?: string;
  /** Wakes the worker after a command queued work for a run. */
  wake?: () => void;
  /** Prices, models per tier and breaker settings for `/dry-run`; the defaults when not given. */
  settings?: ServerSettings;
}

export type CommentOutcome =
  | "ignored-bot"
  | "no-commands"
  | "no-installation"
  | "duplicate-delivery"
  | "handled";

type CommentContext = Context<"issue_comment.created">;
type Reaction = "eyes" | "+1" | "confused";

const STATUS_HINTS = {
  resume: "the app resumes it by itself, or `/resume` now (maintain or admin)",
  approve: "an approving review of the pull request",
  restart: "`/retry` the failed phase, or remove the pipeline's label from the issue and add it again",
  retry: "comment `/retry` (write access), or `/retry <phase>` for an earlier phase",
};

/**
 * `issue_comment.created`: runs the slash commands of a comment on a run's issue or pull request
 * (docs/commands.md). Edits are never re-run (only `created` is handled), and the comment id is
 * recorded in the same transaction as the events it queues, so a comment runs once however often
 * its webhook arrives. The sender's role is read when the comment arrives and again right before
 * its events are queued; each event names who asked. At most seven requests: the pull request
 * (for a comment on one), the role twice, two reactions on taking and finishing, and one reply;
 * plus, for `/dry-run`, what reading the default branch takes (src/github/dry-run-reply.ts).
 */
export async function handleComment(context: CommentContext, deps: CommentDeps): Promise<CommentOutcome> {
  const { payload } = context;
  const sender = payload.sender;
  if (sender.type === "Bot" || sender.login.endsWith("[bot]") || sender.login === `${deps.appSlug}[bot]`) {
    return "ignored-bot";
  }
  const commands = parseCommands(payload.comment.body ?? "");
  if (commands.length === 0) return "no-commands";
  if (payload.installation?.id === undefined) return "no-installation";
  const octokit = context.octokit;
  const repo = { owner: payload.repository.owner.login, name: payload.repository.name };
  const found = await findRun(context, deps.db, repo);
  // Unknown words on a thread with no run are someone else's business (`/etc` in prose, say).
  if (!found.run && !commands.some(isKnown)) return "no-commands";

  const who = { owner: repo.owner, repo: repo.name, username: sender.login };
  const role = await repoRole(octokit, who.owner, who.repo, who.username);
  await react(octokit, context, "eyes");
  const plan = planCommands({
    commands,
    run: found.run,
    noRun: found.why,
    role,
    login: sender.login,
    commentId: payload.comment.id,
    status: (run) => statusOf(deps.db, run),
    help: HELP_TEXT,
  });
  // Checked again right before anything is queued: a role removed meanwhile stops the command.
  const changes = plan.filter((item) => item.queue);
  if (changes.length > 0) {
    const now = await repoRole(octokit, who.owner, who.repo, who.username);
    for (const item of changes) {
      if (
        item.kind !== "unknown" &&
        item.kind !== "invalid" &&
        item.kind !== "too-many" &&
        !admits(now, item.kind)
      ) {
        item.outcome = "refused";
        item.reply = `\`/${item.kind}\` was not run: your access to this repository changed while it was being taken.`;
        delete item.queue;
      }
    }
  }
  const replyKey = `${repo.owner}/${repo.name}#${payload.issue.number} reply:comment:${payload.comment.id}`;
  const taken = writeTransaction(deps.db, () => {
    if (!recordDelivery(deps.db, `comment:${payload.comment.id}`, "issue_comment.created", deps.now()))
      return false;
    for (const item of plan) {
      if (item.queue && found.run)
        enqueueRunJob(deps.db, { runId: found.run.id, now: deps.now(), ...item.queue });
    }
    claimReply(deps.db, replyKey, deps.now());
    return true;
  });
  // A redelivery runs nothing again, but answers a comment whose reply failed to post (its claim
  // was given back below); while the first delivery is still posting, the claim is held.
  if (!taken && !claimReply(deps.db, replyKey, deps.now())) return "duplicate-delivery";
  if (taken && plan.some((item) => item.queue)) deps.wake?.();
  try {
    for (const item of plan) if (item.dryRun) await answerDryRun(context, deps, item, found.run);
    // One reply per comment: claimed in the same transaction that queued its events, so a
    // delivery sent twice at once replies once (issue 11, class 15). Not re-sent after a lost
    // answer (class 13), and fitted to GitHub's 65,536 characters (class 14).
    await octokit.rest.issues.createComment({
      owner: repo.owner,
      repo: repo.name,
      issue_number: payload.issue.number,
      body: foldBody(
        plan.map((item) => item.reply).join("\n\n"),
        "no other place: send fewer commands in one comment",
      ),
      request: { retries: 0 },
    });
  } catch (error) {
    // Not posted, or not known to be: a redelivery of the comment may answer it (a post whose
    // answer was lost is then posted twice, which beats a command never answered).
    releaseReply(deps.db, replyKey);
    throw error;
  }
  context.log.info(
    { runId: found.run?.id, commands: plan.map((item) => `${item.kind}:${item.outcome}`) },
    "slash commands handled",
  );
  if (plan.some((item) => item.outcome === "done")) await react(octokit, context, "+1");
  if (plan.some((item) => item.outcome === "refused")) await react(octokit, context, "confused");
  return "handled";
}

/**
 * The run a comment speaks to. On an issue: the issue's newest run. On a pull request: the run
 * whose branch is the pull request's head, read with one request (the payload's `issue` has no
 * head ref; the body's "Closes #N" can be edited by anyone with write access, the head cannot),
 * and only while it is its issue's newest run.
 */
async function findRun(
  context: CommentContext,
  db: Database,
  repo: { owner: string; name: string },
): Promise<{ run?: RunRecord; why: string }> {
  const { payload } = context;
  const noRun =
    "there is no Atomic Scrum run on this issue; add a pipeline's label (`atomic:coding`, say) to start one.";
  if (!payload.issue.pull_request) {
    const run = findLatestRunForIssue(db, repo, payload.issue.number);
    return run ? { run, why: "" } : { why: noRun };
  }
  const { data: pull } = await context.octokit.rest.pulls.get({
    owner: repo.owner,
    repo: repo.name,
    pull_number: payload.issue.number,
  });
  const notOurs = "this pull request is not an Atomic Scrum run's.";
  // A fork can use the same branch name: only a pull request from the repository itself is ours.
  if (pull.head.repo?.id !== payload.repository.id) return { why: notOurs };
  const run = findRunForBranch(db, repo, pull.head.ref);
  if (!run) return { why: notOurs };
  if (findReplacingRun(db, run)) {
    return {
      why: `this pull request's run was replaced by a newer run of issue #${run.issue.number}; use its pull request.`,
    };
  }
  return { run, why: "" };
}

/**
 * Replaces the `/dry-run` acknowledgement with the report. It runs in the webhook's time: a few
 * GitHub reads and a 5,000-run simulation of plain arithmetic, no model call. A failure to read
 * GitHub is the reply, not a failed delivery (the comment is already recorded as taken).
 */
async function answerDryRun(
  context: CommentContext,
  deps: CommentDeps,
  item: PlannedCommand,
  run: RunRecord | undefined,
): Promise<void> {
  const { payload } = context;
  try {
    const answer = await dryRunReply({
      octokit: context.octokit,
      repo: {
        owner: payload.repository.owner.login,
        name: payload.repository.name,
        defaultBranch: run?.repo.defaultBranch ?? payload.repository.default_branch,
      },
      issue: {
        number: payload.issue.number,
        title: payload.issue.title,
        body: payload.issue.body ?? "",
        labels: (payload.issue.labels ?? []).map((label) => label.name),
        author: payload.issue.user?.login ?? "ghost",
        url: payload.issue.html_url,
      },
      run,
      db: deps.db,
      settings: deps.settings ?? defaultServerSettings(),
      now: deps.now(),
    });
    item.outcome = answer.outcome;
    item.reply = answer.reply;
  } catch (error) {
    context.log.warn({ err: error }, "/dry-run failed");
    item.outcome = "refused";
    item.reply = `\`/dry-run\` failed: ${(error as Error).message}`;
  }
}

function statusOf(db: Database, run: RunRecord): string {
  return renderStatus({
    runId: run.id,
    pipeline: run.pipeline,
    state: run.state,
    attempts: listAttempts(db, run.id),
    hints: STATUS_HINTS,
  });
}

async function react(octokit: Octokit, context: CommentContext, content: Reaction): Promise<void> {
  const { payload } = context;
  await octokit.rest.reactions.createForIssueComment({
    owner: payload.repository.owner.login,
    repo: payload.repository.name,
    comment_id: payload.comment.id,
    content,
  });
}

function isKnown(command: ParsedCommand): boolean {
  return command.kind !== "unknown" && command.kind !== "invalid" && command.kind !== "too-many";
}

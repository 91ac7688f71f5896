import { createHash } from "node:crypto";
import type { Context } from "probot";
import type { IssueInput, RepoInput } from "../engine/template-context.js";
import { withEditPolicy } from "../forge/edit-policy.js";
import { formatProblem, type Problem } from "../pipeline/problem.js";
import { statusSentence } from "../render/format.js";
import type { Database } from "../store/database.js";
import { findActiveRunForIssue, getRun, type RunRecord, recordDelivery } from "../store/runs.js";
import { loadConfiguredPipeline } from "./load-configured-pipeline.js";
import { loadRepoConfig } from "./load-repo-config.js";
import { hasWriteAccess } from "./permissions.js";
import { marker, postOnce } from "./post-once.js";
import {
  CONFIG_PATH,
  configEntry,
  DEFAULT_PIPELINES,
  withMergeSetting,
  withRepoBudget,
} from "./repo-config.js";
import type { GitHubStartInput, StartOutcome } from "./start-run.js";

export interface LabeledDeps {
  db: Database;
  now: () => number;
  /** Creates the run and queues it in one transaction; `startGitHubRun` in production. */
  startRun: (input: GitHubStartInput) => StartOutcome;
  /** The app's slug, when known: its own events (`<slug>[bot]`) are ignored even if not typed Bot. */
  appSlug?: string;
  /** Providers this server can run; a config asking for another is answered now, not after a failed run. */
  providers?: readonly string[];
  /** What stops a run before it is created (`preflight`): each problem, one line naming what to set. */
  preflight?: (run: Pick<GitHubStartInput, "pipeline" | "provider">) => string[];
}

/** What the handler did with a delivery, for logs and tests. */
export type LabeledOutcome =
  | "ignored-bot"
  | "no-installation"
  | "config-problems"
  | "unmapped-label"
  | "refused"
  | "already-active"
  | "pipeline-problems"
  | "provider-unavailable"
  | "preflight-problems"
  | "duplicate-delivery"
  | "started";

type LabeledContext = Context<"issues.labeled">;

/**
 * `issues.labeled`: checks, then queues a run and returns. It never calls a model or waits for a
 * phase: GitHub gives a delivery 10 s. At most four requests: config, permission, and (only on a
 * refusal or a problem) reading and posting one comment.
 */
export async function handleLabeled(context: LabeledContext, deps: LabeledDeps): Promise<LabeledOutcome> {
  const { payload } = context;
  const sender = payload.sender;
  // The app must never trigger itself, nor be driven by another bot.
  if (sender.type === "Bot" || sender.login.endsWith("[bot]") || sender.login === `${deps.appSlug}[bot]`) {
    return "ignored-bot";
  }
  const installationId = payload.installation?.id;
  if (installationId === undefined) return done(context, deps, "no-installation");
  const label = payload.label?.name;
  const repo: RepoInput = {
    owner: payload.repository.owner.login,
    name: payload.repository.name,
    defaultBranch: payload.repository.default_branch,
    installationId,
  };
  const where = { owner: repo.owner, repo: repo.name, ref: repo.defaultBranch };
  const target = { owner: repo.owner, repo: repo.name, issue_number: payload.issue.number };
  const octokit = context.octokit;
  const claims = { db: deps.db, now: deps.now };

  const loaded = await loadRepoConfig(octokit, where);
  if (!loaded.ok) {
    if (label && mightStartPipeline(label, loaded.text)) {
      await postOnce(
        octokit,
        target,
        marker(`config-problems ${loaded.version}`),
        problemsComment(`\`${CONFIG_PATH}\` has problems, so no pipeline was started.`, loaded.problems),
        claims,
      );
    }
    return done(context, deps, "config-problems");
  }
  const { config } = loaded;
  const pipelineRef = label ? config.pipelines[label] : undefined;
  if (!label || pipelineRef === undefined) return done(context, deps, "unmapped-label");

  if (!(await hasWriteAccess(octokit, repo.owner, repo.name, sender.login, config.allowed_permissions))) {
    await postOnce(
      octokit,
      target,
      marker(`refused issue=${payload.issue.number} user=${sender.login}`),
      `Thanks, @${sender.login}! Only people with ${config.allowed_permissions.join(", ")} access to this repository can start a pipeline, so \`${label}\` did not start one. A maintainer can add the label instead.`,
      claims,
    );
    return done(context, deps, "refused");
  }

  const issue: IssueInput = {
    number: payload.issue.number,
    title: payload.issue.title,
    body: payload.issue.body ?? "",
    labels: (payload.issue.labels ?? []).map((l) => l.name),
    author: payload.issue.user?.login ?? "ghost",
    url: payload.issue.html_url,
  };
  const active = findActiveRunForIssue(deps.db, repo, issue.number);
  if (active && active.state.status !== "needs_human") {
    context.log.info({ runId: active.id, label }, "issue already has an active run; not starting another");
    // A redelivery of the label that started `active` is not a second label: nothing to say.
    if (!recordDelivery(deps.db, context.id, "issues.labeled", deps.now())) return "duplicate-delivery";
    // Said on the issue (issue 12, item 9), once per (run, label): a label that silently did
    // nothing reads as a broken app.
    await postOnce(
      octokit,
      target,
      marker(`already-active run=${active.id} label=${label}`),
      alreadyActiveComment(label, active),
      claims,
    );
    return done(context, deps, "already-active");
  }

  const entry = configEntry(loaded.text, ["pipelines", label]);
  const pipeline = await loadConfiguredPipeline(octokit, where, pipelineRef, entry);
  if (!pipeline.ok) {
    await postOnce(
      octokit,
      target,
      marker(`pipeline-problems ${shortHash(pipeline.version)}`),
      problemsComment(
        `The pipeline for \`${label}\` has problems, so it was not started.`,
        pipeline.problems,
      ),
      claims,
    );
    return done(context, deps, "pipeline-problems");
  }
  if (deps.providers && !deps.providers.includes(config.provider)) {
    await postOnce(
      octokit,
      target,
      marker(`provider-unavailable ${config.provider}`),
      `\`.github/atomic-scrum.yml\` asks for the \`${config.provider}\` provider, which this Atomic Scrum server does not offer (it offers: ${deps.providers.join(", ")}; a real provider is offered once its API key is set on the server). Nothing was started.`,
      claims,
    );
    return done(context, deps, "provider-unavailable");
  }
  const pinned = withEditPolicy(
    withMergeSetting(withRepoBudget(pipeline.pipeline, config.budget), config.merge_after_approval),
    config.edits,
  );
  const provider = {
    name: config.provider,
    ...(Object.keys(config.tiers).length > 0 ? { models: config.tiers } : {}),
  };
  // A setup mistake (a judge's key, a model with no price) is answered now: no run, no branch.
  const unready = deps.preflight?.({ pipeline: pinned, provider }) ?? [];
  if (unready.length > 0) {
    await postOnce(
      octokit,
      target,
      marker(`preflight ${shortHash(unready.join("\n"))}`),
      [
        `\`${label}\` did not start a run: this Atomic Scrum server is not set up for it yet. Nothing was created.`,
        "",
        ...unready.map((problem) => `- ${problem}`),
        "",
        "Once the server's settings or keys are fixed, add the label again.",
      ].join("\n"),
      claims,
    );
    return done(context, deps, "preflight-problems");
  }
  const outcome = deps.startRun({
    deliveryId: context.id,
    startedBy: sender.login,
    pipeline: pinned,
    hash: pipeline.hash,
    pipelinePath: pipeline.path,
    repo,
    issue,
    provider,
  });
  if (outcome.started) {
    context.log.info({ runId: outcome.runId, pipeline: pipeline.path }, "run queued");
    return "started";
  }
  context.log.info({ outcome }, "run not started");
  // Another label's delivery started its run after the check above (both labels added at once):
  // said as that check says it, not left silent.
  const started = outcome.reason === "already-active" ? getRun(deps.db, outcome.runId) : undefined;
  if (started) {
    await postOnce(
      octokit,
      target,
      marker(`already-active run=${started.id} label=${label}`),
      alreadyActiveComment(label, started),
      claims,
    );
  }
  return outcome.reason;
}

/** Marks a delivery that started nothing as taken, for the record (a redelivery repeats no harm). */
function done(context: LabeledContext, deps: LabeledDeps, outcome: LabeledOutcome): LabeledOutcome {
  recordDelivery(deps.db, context.id, "issues.labeled", deps.now());
  context.log.debug({ outcome }, "issues.labeled handled");
  return outcome;
}

/**
 * A broken config cannot say which labels matter; commenting on every `bug` label would be noise.
 * Only labels that look like ours, or that the file mentions, get the problems comment.
 */
function mightStartPipeline(label: string, text: string): boolean {
  return label.startsWith("atomic:") || label in DEFAULT_PIPELINES || text.includes(label);
}

/**
 * Why a second label starts nothing. On GitHub an issue has one run at a time, across pipelines:
 * `/cancel`, `/retry` and `/approve` on the issue steer "its" run, which two runs would make
 * ambiguous. (Local runs are one per issue and pipeline: every CLI command names its run.)
 */
function alreadyActiveComment(label: string, active: RunRecord): string {
  return [
    `\`${label}\` did not start a run: run \`${active.id}\` (pipeline \`${active.pipelineName}\`) ${statusSentence(active.state.status)} on this issue.`,
    "An issue has one Atomic Scrum run at a time, because the commands on it (`/cancel`, `/retry`, `/approve`) steer that run.",
    `To run \`${label}\`'s pipeline, \`/cancel\` the current run or wait for it to end, then add the label again.`,
  ].join(" ");
}

function problemsComment(lead: string, problems: Problem[]): string {
  return [
    lead,
    "",
    "```",
    ...problems.map(formatProblem),
    "```",
    "",
    "Fix them and add the label again.",
  ].join("\n");
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

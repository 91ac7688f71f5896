import type { IssueInput } from "../engine/template-context.js";
import { createGitHubForge } from "../forge/github/github-forge.js";
import { CONTEXT_LIMITS } from "../local/dry-run/assumptions.js";
import { dryRunWith, historyOf, printDryRun } from "../local/dry-run.js";
import { formatProblem } from "../pipeline/problem.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import type { Tier } from "../pipeline/schema.js";
import type { ServerSettings } from "../providers/settings.js";
import { formatCost } from "../render/format.js";
import type { Database } from "../store/database.js";
import type { RunRecord } from "../store/runs.js";
import { loadConfiguredPipeline } from "./load-configured-pipeline.js";
import { loadRepoConfig } from "./load-repo-config.js";
import type { Octokit } from "./octokit.js";
import { configEntry, withRepoBudget } from "./repo-config.js";

/** GitHub refuses a comment body past 65,536 characters; the rest of a reply shares the room. */
export const DRY_RUN_REPLY_LIMIT = 60_000;

export interface DryRunReplyInput {
  octokit: Octokit;
  repo: { owner: string; name: string; defaultBranch: string };
  /** The issue the comment is on (for a run, the run's own issue is used instead). */
  issue: IssueInput;
  run: RunRecord | undefined;
  db: Database;
  settings: ServerSettings;
  now: number;
}

/**
 * The reply to `/dry-run`: the pipeline the run pinned, else the one the first mapped label of the
 * issue names in the repository config; rendered against the default branch's files (the GitHub
 * forge's `readContext`: a ref read, a tree read and one GraphQL query when a phase has `context`),
 * with the failure rates and breakers of the app's database and the server's prices. No model is
 * called, nothing is queued and nothing is written.
 */
export async function dryRunReply(
  input: DryRunReplyInput,
): Promise<{ outcome: "done" | "refused"; reply: string }> {
  const chosen = await choosePipeline(input);
  if ("reply" in chosen) return { outcome: "refused", reply: chosen.reply };
  const { repo } = input;
  const issue = input.run?.issue ?? input.issue;
  const forge = createGitHubForge({
    octokit: input.octokit,
    owner: repo.owner,
    repo: repo.name,
    issueNumber: issue.number,
    title: issue.title,
  });
  const report = await dryRunWith(
    {
      pipeline: chosen.pipeline,
      issue,
      provider: chosen.provider,
      ...(chosen.models ? { models: chosen.models } : {}),
      settings: input.settings,
      now: input.now,
    },
    {
      repo: { owner: repo.owner, name: repo.name, defaultBranch: repo.defaultBranch },
      source: `branch ${repo.defaultBranch} of ${repo.owner}/${repo.name}`,
      readContext: (globs) => forge.readContext({ branch: repo.defaultBranch, globs, ...CONTEXT_LIMITS }),
      history: { ...historyOf(input.db, "history from the app's database"), path: "the app's database" },
    },
  );
  const lines: string[] = [];
  // The exit status and its stderr line only repeat the problems the report lists.
  printDryRun(report, { out: (line) => lines.push(line), err: () => {} });
  const warnings = report.gaps.filter((gap) => gap.severity === "warning").length;
  const { median, p90 } = report.forecast;
  const stops = report.problems.length > 0 ? `; ${report.problems.length} problem(s) would stop the run` : "";
  const summary = `Dry run of \`${report.pipeline.name}\`${chosen.why}: ${warnings} gap warning(s), ${report.gaps.length - warnings} note(s); forecast median ${formatCost(median.costUsd)}, p90 ${formatCost(p90.costUsd)}${stops}`;
  return { outcome: "done", reply: fitReply(summary, lines) };
}

/**
 * The report in a `<details>` block under a one-line summary. Past the limit, the Prompts section
 * (the first, ended by a blank line) goes first, then lines from the end; the reply says so.
 */
export function fitReply(summary: string, lines: string[], limit = DRY_RUN_REPLY_LIMIT): string {
  const wrap = (body: string[], note: string) => {
    const text = body.join("\n");
    const fence = "`".repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    return [
      "<details>",
      `<summary>${escapeHtml(summary)}</summary>`,
      "",
      `${fence}text`,
      text,
      fence,
      "",
      "</details>",
      ...(note ? ["", note] : []),
      "",
      "No model was called, no run was created and no tokens were spent.",
    ].join("\n");
  };
  const whole = wrap(lines, "");
  if (whole.length <= limit) return whole;
  const header = lines.slice(0, 2);
  const prompts = lines.indexOf("", 2);
  let rest = [...header, ...lines.slice(prompts + 1)];
  const cut =
    "The Prompts section was left out to fit GitHub's comment limit; run the dry run locally for it.";
  let reply = wrap(rest, cut);
  while (reply.length > limit && rest.length > 0) {
    rest = rest.slice(0, -Math.max(1, Math.ceil(rest.length / 10)));
    reply = wrap(rest, `${cut} The end of the report was cut too.`);
  }
  return reply;
}

async function choosePipeline(
  input: DryRunReplyInput,
): Promise<
  | { pipeline: ResolvedPipeline; provider: string; models?: Partial<Record<Tier, string>>; why: string }
  | { reply: string }
> {
  if (input.run) {
    const models = input.run.provider?.models;
    return {
      pipeline: input.run.pipeline,
      provider: input.run.provider?.name ?? "simulated",
      ...(models ? { models } : {}),
      why: ` (the pipeline run ${input.run.id} pinned)`,
    };
  }
  const where = { owner: input.repo.owner, repo: input.repo.name, ref: input.repo.defaultBranch };
  const loaded = await loadRepoConfig(input.octokit, where);
  if (!loaded.ok) {
    return {
      reply: `\`/dry-run\` was not run: \`.github/atomic-scrum.yml\` has problems:\n\n${loaded.problems.map((p) => `- ${formatProblem(p)}`).join("\n")}`,
    };
  }
  const { config } = loaded;
  const label = input.issue.labels.find((name) => config.pipelines[name] !== undefined);
  const ref = label === undefined ? undefined : config.pipelines[label];
  if (label === undefined || ref === undefined) {
    const labels = Object.keys(config.pipelines).map((name) => `\`${name}\``);
    return {
      reply: `\`/dry-run\` was not run: this issue has no run, and none of its labels maps to a pipeline. Add one of ${labels.join(", ") || "the labels `.github/atomic-scrum.yml` maps"} to the issue, then comment \`/dry-run\` again (adding the label starts a run).`,
    };
  }
  const entry = configEntry(loaded.text, ["pipelines", label]);
  const pipeline = await loadConfiguredPipeline(input.octokit, where, ref, entry);
  if (!pipeline.ok) {
    return {
      reply: `\`/dry-run\` was not run: the pipeline for \`${label}\` has problems:\n\n${pipeline.problems.map((p) => `- ${formatProblem(p)}`).join("\n")}`,
    };
  }
  return {
    pipeline: withRepoBudget(pipeline.pipeline, config.budget),
    provider: config.provider,
    ...(Object.keys(config.tiers).length > 0 ? { models: config.tiers } : {}),
    why: ` (the pipeline of label \`${label}\`)`,
  };
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

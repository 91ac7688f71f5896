import { fitKeepingTail } from "../../render/fit-text.js";
import type { MergeInput, MergeResult } from "../forge.js";
import { callGitHub, explainAccessLost, statusOf } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";
import { PULL_TITLE_MAX, pullRequestTitle } from "./pull-request.js";

/**
 * Merges the run's pull request at exactly `input.sha`: GitHub refuses (409) if the head moved
 * since, so only the approved commit is ever merged. A draft is marked ready first (a draft cannot
 * be merged). A pull request already merged (the answer to an earlier try was lost) counts as
 * done. GitHub's refusals (branch protection, a required check failing, a conflict) come back as
 * `merged: false` with GitHub's reason, for a person to act on; they are not retried.
 */
export async function mergePull(
  gh: GitHubRepo,
  branch: string,
  input: MergeInput,
  title: string,
): Promise<MergeResult> {
  const { data: pulls } = await callGitHub(`finding the pull request of ${branch}`, () =>
    gh.octokit.request("GET /repos/{owner}/{repo}/pulls", {
      owner: gh.owner,
      repo: gh.repo,
      head: `${gh.owner}:${branch}`,
      state: "all",
    }),
  );
  if (pulls.some((pull) => pull.merged_at !== null && pull.head.sha === input.sha)) return { merged: true };
  const pull = pulls.find((p) => p.state === "open");
  if (!pull) return { merged: false, reason: `no open pull request from ${branch}` };
  if (pull.head.sha !== input.sha) {
    return { merged: false, reason: `the branch moved to ${pull.head.sha.slice(0, 7)} after the approval` };
  }
  // Not through callGitHub: here a 403 is a refusal (a ruleset, a token without the right), not
  // a lost installation, and a GraphQL error is GitHub saying no; both go to a person.
  try {
    if (pull.draft) {
      await gh.octokit.graphql(
        "mutation AtomicScrumReady($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }",
        { id: pull.node_id },
      );
    }
    await gh.octokit.request("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", {
      owner: gh.owner,
      repo: gh.repo,
      pull_number: pull.number,
      sha: input.sha,
      merge_method: input.method,
      ...mergeText(gh, pull.number, title, input),
      // A merge that landed with its answer lost is refused when re-sent (405: not open), which
      // would read as a refusal. The job's next attempt sees it merged instead (issue 11, class 13).
      request: { retries: 0 },
    });
    return { merged: true };
  } catch (error) {
    const status = statusOf(error);
    const graphqlRefusal = status === undefined && Array.isArray((error as { errors?: unknown }).errors);
    // 403 forbidden, 405 not mergeable (protection, checks), 409 head moved, 422 invalid method.
    // A 403 that is a rate limit is not a refusal: it is thrown and the job tries again later.
    const forbidden = status === 403 && explainAccessLost(error, "merging") !== undefined;
    if (graphqlRefusal || forbidden || status === 405 || status === 409 || status === 422) {
      const code = status === undefined ? "GraphQL" : String(status);
      return { merged: false, reason: `GitHub refused the merge (${code}): ${(error as Error).message}` };
    }
    throw explainAccessLost(error, `merging the pull request of ${branch}`) ?? error;
  }
}

/**
 * The merge or squash commit's title and message, sent rather than left to GitHub: its defaults
 * copy the PR title (and, for a squash, the commits) into the default branch, where a closing
 * keyword in an issue title would close another issue (issue 11, class 7). Only the app's own
 * `Closes #N` for the run's issue remains. A rebase writes no commit of its own: its commits'
 * messages are the app's, defused when they were committed (commit-on-branch.ts).
 */
function mergeText(
  gh: GitHubRepo,
  pull: number,
  title: string,
  input: MergeInput,
): { commit_title?: string; commit_message?: string } {
  if (input.method === "rebase") return {};
  // The app's own title, not the pull request's as listed: anyone with write access can edit that.
  // GitHub documents no limit for commit_title; the PR title's 256 keeps it a readable headline.
  return {
    commit_title: fitKeepingTail(pullRequestTitle(title, true), ` (#${pull})`, PULL_TITLE_MAX),
    commit_message: `Closes #${gh.issueNumber}\n\nMerged by Atomic Scrum at ${input.sha} after approval.`,
  };
}

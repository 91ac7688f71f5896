import type { MergeInput, MergeResult } from "../forge.js";
import { callGitHub, explainAccessLost, statusOf } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";

/**
 * Merges the run's pull request at exactly `input.sha`: GitHub refuses (409) if the head moved
 * since, so only the approved commit is ever merged. A draft is marked ready first (a draft cannot
 * be merged). A pull request already merged (the answer to an earlier try was lost) counts as
 * done. GitHub's refusals (branch protection, a required check failing, a conflict) come back as
 * `merged: false` with GitHub's reason, for a person to act on; they are not retried.
 */
export async function mergePull(gh: GitHubRepo, branch: string, input: MergeInput): Promise<MergeResult> {
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

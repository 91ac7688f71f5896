import type { MergeInput, MergeResult } from "../forge.js";
import { callGitHub, statusOf } from "./github-errors.js";
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
  try {
    if (pull.draft) {
      await callGitHub(`marking pull request #${pull.number} ready for review`, () =>
        gh.octokit.graphql(
          "mutation AtomicScrumReady($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }",
          { id: pull.node_id },
        ),
      );
    }
    await callGitHub(`merging pull request #${pull.number}`, () =>
      gh.octokit.request("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", {
        owner: gh.owner,
        repo: gh.repo,
        pull_number: pull.number,
        sha: input.sha,
        merge_method: input.method,
      }),
    );
    return { merged: true };
  } catch (error) {
    const status = statusOf(error);
    // 405 not mergeable (protection, checks, a draft), 409 head moved, 422 invalid method.
    if (status === 405 || status === 409 || status === 422) {
      return { merged: false, reason: `GitHub refused the merge (${status}): ${(error as Error).message}` };
    }
    throw error;
  }
}

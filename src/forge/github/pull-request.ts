import { ForgeRefusal } from "../forge.js";
import { callGitHub, statusOf } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";
import { defaultBranch } from "./prepare-branch.js";

export interface PullRequestText {
  title: string;
  pipelineUrl?: string;
}

/**
 * The open PR for `branch`, listed at most once per forge; undefined when there has been none.
 * Every run has a branch of its own, so a closed PR from it is this run's own, closed (or merged)
 * by a person: the run must stop rather than open another one nobody asked for.
 */
export async function findPullRequest(gh: GitHubRepo, branch: string): Promise<number | undefined> {
  const known = gh.state.pullRequests.get(branch);
  if (known !== undefined) return known ?? undefined;
  const { data } = await callGitHub(`listing pull requests for ${branch}`, () =>
    gh.octokit.request("GET /repos/{owner}/{repo}/pulls", {
      owner: gh.owner,
      repo: gh.repo,
      head: `${gh.owner}:${branch}`,
      state: "all",
    }),
  );
  const open = data.find((pull) => pull.state === "open");
  const closed = data.find((pull) => pull.state === "closed");
  if (open === undefined && closed !== undefined) {
    throw new ForgeRefusal(
      `pull request #${closed.number} from ${branch} was ${closed.merged_at ? "merged" : "closed"}, so the run stops here; add the label to the issue again to start a new run`,
    );
  }
  gh.state.pullRequests.set(branch, open?.number ?? null);
  return open?.number;
}

/**
 * Opens the pull request as a draft. Some plans do not allow drafts on private repositories
 * (GitHub answers 422 "Draft pull requests are not supported"): it is then opened as a normal
 * pull request whose title says it is not ready, since the merge is gated on approval anyway.
 */
async function openPullRequest(gh: GitHubRepo, branch: string, base: string, text: PullRequestText) {
  const open = (draft: boolean) =>
    callGitHub(`opening the draft pull request for ${branch}`, () =>
      gh.octokit.request("POST /repos/{owner}/{repo}/pulls", {
        owner: gh.owner,
        repo: gh.repo,
        title: draft ? text.title : `[not ready] ${text.title}`,
        head: branch,
        base,
        body: pullRequestBody(gh.issueNumber, text.pipelineUrl),
        draft,
      }),
    );
  try {
    return await open(true);
  } catch (error) {
    if (
      statusOf(error) !== 422 ||
      !/draft pull requests are not supported/i.test(String((error as Error).message))
    )
      throw error;
    return open(false);
  }
}

/** Opens the run's draft PR for `branch` unless one is open; returns its number. */
export async function ensurePullRequest(
  gh: GitHubRepo,
  branch: string,
  text: PullRequestText,
): Promise<number> {
  const existing = await findPullRequest(gh, branch);
  if (existing !== undefined) return existing;
  const base = await defaultBranch(gh);
  try {
    const { data } = await openPullRequest(gh, branch, base, text);
    gh.state.pullRequests.set(branch, data.number);
    // A pull request just opened has no comments: no need to list them before the first one.
    gh.state.comments.set(data.number, new Map());
    return data.number;
  } catch (error) {
    // "A pull request already exists": opened by another worker since we listed.
    if (statusOf(error) !== 422) throw error;
    gh.state.pullRequests.delete(branch);
    const raced = await findPullRequest(gh, branch);
    if (raced === undefined) throw error;
    return raced;
  }
}

export function pullRequestBody(issueNumber: number, pipelineUrl: string | undefined): string {
  const pipeline = pipelineUrl === undefined ? "" : ` Pipeline: [run](${pipelineUrl}).`;
  return [
    `Closes #${issueNumber}`,
    "",
    `Opened by Atomic Scrum as a draft: each phase adds one commit and one comment.${pipeline}`,
    "It merges only after a person with write access approves the current head.",
  ].join("\n");
}

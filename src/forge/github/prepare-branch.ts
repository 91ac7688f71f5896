import type { BranchInfo, PrepareBranchInput } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import { checkBranchName } from "./check-branch-name.js";
import { callGitHub, explainAccessLost, statusOf } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";

/**
 * Creates `branch` at the head of `base` (default: the repository's default branch) unless it
 * exists. Losing a creation race to someone else counts as "already there".
 */
export async function prepareBranch(gh: GitHubRepo, input: PrepareBranchInput): Promise<BranchInfo> {
  const branch = checkBranchName(input.branch);
  const base = input.base === undefined ? await defaultBranch(gh) : checkBranchName(input.base);
  gh.state.base = base;
  const existing = await branchHead(gh, branch);
  if (existing !== undefined) {
    gh.state.heads.set(branch, existing);
    return { branch, base, head: existing, created: false };
  }
  const baseHead = await branchHead(gh, base);
  if (baseHead === undefined) {
    throw new ForgeRefusal(
      `cannot create ${JSON.stringify(branch)}: base branch ${JSON.stringify(base)} does not exist`,
    );
  }
  try {
    await callGitHub(`creating branch ${branch}`, () =>
      gh.octokit.request("POST /repos/{owner}/{repo}/git/refs", {
        owner: gh.owner,
        repo: gh.repo,
        ref: `refs/heads/${branch}`,
        sha: baseHead,
      }),
    );
    gh.state.heads.set(branch, baseHead);
    // A branch this forge has just created cannot have a pull request yet.
    gh.state.pullRequests.set(branch, null);
    return { branch, base, head: baseHead, created: true };
  } catch (error) {
    if (statusOf(error) !== 422) throw error;
    // "Reference already exists": another worker created it between our read and our write.
    const raced = await branchHead(gh, branch);
    if (raced === undefined) throw error;
    return { branch, base, head: raced, created: false };
  }
}

/** The repository's default branch, asked once per forge. */
export async function defaultBranch(gh: GitHubRepo): Promise<string> {
  if (gh.state.base !== undefined) return gh.state.base;
  const { data } = await callGitHub(`reading ${gh.owner}/${gh.repo}`, () =>
    gh.octokit.request("GET /repos/{owner}/{repo}", { owner: gh.owner, repo: gh.repo }),
  );
  gh.state.base = data.default_branch;
  return data.default_branch;
}

/** The commit SHA at the head of `branch`, or undefined when there is no such branch. */
export async function branchHead(gh: GitHubRepo, branch: string): Promise<string | undefined> {
  try {
    const { data } = await gh.octokit.request("GET /repos/{owner}/{repo}/git/ref/{ref}", {
      owner: gh.owner,
      repo: gh.repo,
      ref: `heads/${branch}`,
    });
    return data.object.sha;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw explainAccessLost(error, `reading branch ${branch}`) ?? error;
  }
}

import { fitKeepingTail, fitText } from "../../render/fit-text.js";
import { ForgeRefusal } from "../forge.js";
import { defuseClosingKeywords } from "./closing-keywords.js";
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
        title: pullRequestTitle(text.title, draft),
        head: branch,
        base,
        body: pullRequestBody(gh.issueNumber, text.pipelineUrl),
        draft,
        // A pull request answered 502 may exist: a re-send would be refused (422, one exists) at
        // best. The job's next attempt lists the branch's pull requests first (issue 11, class 13).
        request: { retries: 0 },
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
  // Whatever happens next, the list is asked again: a pull request whose answer was lost may exist.
  gh.state.pullRequests.delete(branch);
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

/** GitHub refuses a pull request title past 256 characters, the maximum of the issue title it copies. */
export const PULL_TITLE_MAX = 256;

/**
 * The pull request's title: the run's title (`<issue title> (#N)`) with closing keywords defused
 * (GitHub's default squash commit title is the PR title, issue 11 class 7) and cut to
 * {@link PULL_TITLE_MAX}, keeping the `(#N)` and a `[not ready] ` prefix whole.
 */
export function pullRequestTitle(title: string, draft: boolean): string {
  const prefix = draft ? "" : "[not ready] ";
  const safe = defuseClosingKeywords(title.replace(/\s+/g, " ").trim());
  const issue = / \(#\d+\)$/.exec(safe)?.[0] ?? "";
  const head = safe.slice(0, safe.length - issue.length);
  return prefix + fitKeepingTail(head, issue, PULL_TITLE_MAX - prefix.length);
}

/**
 * The app's own `Closes #N` for the run's issue, first; everything after it is defused, so
 * nothing else the body carries (a pipeline path from the repository) can close another issue.
 */
export function pullRequestBody(issueNumber: number, pipelineUrl: string | undefined): string {
  const pipeline = pipelineUrl === undefined ? "" : ` Pipeline: [run](${pipelineUrl}).`;
  const rest = [
    `Opened by Atomic Scrum as a draft: each phase adds one commit and one comment.${pipeline}`,
    "It merges only after a person with write access approves the current head.",
  ].join("\n");
  return fitText(`Closes #${issueNumber}\n\n${defuseClosingKeywords(rest)}`, 65_536);
}

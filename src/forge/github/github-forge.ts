import type { Octokit } from "@octokit/core";
import type { Forge } from "../forge.js";
import { approvalsOnHead } from "./approvals-on-head.js";
import { findCheck, setCheck } from "./check-runs.js";
import { ciStatus } from "./ci-status.js";
import { postComment, writeStatus } from "./comments.js";
import { commitOnBranch } from "./commit-on-branch.js";
import { callGitHub, statusOf } from "./github-errors.js";
import { type GitHubRepo, newForgeState } from "./github-repo.js";
import { mergePull } from "./merge-pull.js";
import { prepareBranch } from "./prepare-branch.js";
import { ensurePullRequest, findPullRequest } from "./pull-request.js";
import { readContext } from "./read-context.js";

export interface GitHubForgeOptions {
  /** An Octokit with the REST endpoint methods, as Probot gives one per installation. */
  octokit: Octokit;
  owner: string;
  repo: string;
  /** The issue the run works on: status comment goes there, the PR says `Closes #issueNumber`. */
  issueNumber: number;
  /** Title of the draft PR. */
  title: string;
  /** Linked from the PR body: where to follow the run (dashboard page, say). */
  pipelineUrl?: string;
  /** The run branch, when known (a restarted run): comments then go on its PR from the start. */
  branch?: string;
  /** The GitHub App's id, so a marker pasted by someone else (another app too) is never taken for ours. */
  appId?: number;
  /** Lets commits write under `.github/workflows/`. Off by default. */
  allowWorkflows?: boolean;
  /** The app's slug, when known: its own reviews (`<slug>[bot]`) never count as approvals. */
  appSlug?: string;
}

export type GitHubForge = Forge & {
  /** The run's draft PR, once it has been opened (or found open after a restart). */
  pullRequest(): Promise<number | undefined>;
};

/**
 * A {@link Forge} on a GitHub repository: commits through GraphQL `createCommitOnBranch`, the
 * draft PR opened after the first commit, comments found again after a restart by a hidden marker.
 */
export function createGitHubForge(options: GitHubForgeOptions): GitHubForge {
  const gh: GitHubRepo = {
    octokit: options.octokit,
    owner: options.owner,
    repo: options.repo,
    issueNumber: options.issueNumber,
    ...(options.appId === undefined ? {} : { appId: options.appId }),
    state: newForgeState(),
  };
  let branch: string | undefined = options.branch;
  const text = { title: options.title, pipelineUrl: options.pipelineUrl };
  return {
    prepareBranch: async (input) => {
      const info = await prepareBranch(gh, input);
      branch = info.branch;
      return info;
    },
    readContext: (input) => readContext(gh, input),
    commit: async (input) => {
      const result = await commitOnBranch(gh, input, { allowWorkflows: options.allowWorkflows ?? false });
      branch = input.branch;
      await ensurePullRequest(gh, input.branch, text);
      return result;
    },
    comment: async (input) => {
      const pr = branch === undefined ? undefined : await findPullRequest(gh, branch);
      return postComment(gh, pr ?? gh.issueNumber, input);
    },
    updateStatus: (input) => writeStatus(gh, input),
    addLabel: async (input) => {
      await callGitHub(`labelling issue #${gh.issueNumber} ${input.label}`, () =>
        gh.octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", {
          owner: gh.owner,
          repo: gh.repo,
          issue_number: gh.issueNumber,
          labels: [input.label],
        }),
      );
    },
    removeLabel: async (input) => {
      try {
        await gh.octokit.request("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", {
          owner: gh.owner,
          repo: gh.repo,
          issue_number: gh.issueNumber,
          name: input.label,
        });
      } catch (error) {
        // Not on the issue (someone took it off already): nothing to do. Any other error is real.
        if (statusOf(error) === 404) return;
        throw error;
      }
    },
    setCheck: (input) => setCheck(gh, input),
    findCheck: (input) => findCheck(gh, input),
    mergePull: async (input) => {
      if (branch === undefined) return { merged: false, reason: "the run has no branch yet" };
      return mergePull(gh, branch, input, text.title);
    },
    ciStatus: (input) => ciStatus(gh, input),
    approvalsOnHead: async (input) => {
      // No pull request yet (a pipeline with no agent phase before its approval): nothing to approve.
      const pr = branch === undefined ? undefined : await findPullRequest(gh, branch);
      return pr === undefined ? [] : approvalsOnHead(gh, pr, input, options.appSlug);
    },
    pullRequest: async () => (branch === undefined ? undefined : findPullRequest(gh, branch)),
  };
}

import type { ProbotOctokit } from "probot";

/** The installation-authenticated client Probot hands a webhook handler. */
export type Octokit = InstanceType<typeof ProbotOctokit>;

/** True for GitHub's "not found" answer, which is also what a private, inaccessible thing gives. */
export function isNotFound(error: unknown): boolean {
  return (error as { status?: number } | null)?.status === 404;
}

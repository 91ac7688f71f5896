import type { Octokit } from "./octokit.js";
import { isNotFound } from "./octokit.js";
import { REPO_PERMISSIONS, type RepoPermission } from "./repo-config.js";

/**
 * Whether `username` holds one of the `allowed` roles on the repository, read from the
 * collaborator-permission endpoint. `role_name` tells maintain and triage apart; a custom role
 * falls back to the base `permission` it extends. Never `author_association`: it describes the
 * issue's author, not whoever sent the event, and says nothing of maintain or triage.
 * A user GitHub does not know as a collaborator (404) has no access.
 */
export async function hasWriteAccess(
  octokit: Pick<Octokit, "request">,
  owner: string,
  repo: string,
  username: string,
  allowed: readonly RepoPermission[],
): Promise<boolean> {
  const role = await repoRole(octokit, owner, repo, username);
  return role !== undefined && allowed.includes(role);
}

/** The user's role on the repository, or undefined when they have none. */
export async function repoRole(
  octokit: Pick<Octokit, "request">,
  owner: string,
  repo: string,
  username: string,
): Promise<RepoPermission | undefined> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
      owner,
      repo,
      username,
    });
    if (isRepoPermission(data.role_name)) return data.role_name;
    return isRepoPermission(data.permission) ? data.permission : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function isRepoPermission(value: unknown): value is RepoPermission {
  return typeof value === "string" && (REPO_PERMISSIONS as readonly string[]).includes(value);
}

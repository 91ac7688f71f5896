import { loadRepoConfig } from "./load-repo-config.js";
import type { Octokit } from "./octokit.js";
import { repoRole } from "./permissions.js";
import type { RepoPermission } from "./repo-config.js";

/** Roles whose review counts, whatever `allowed_permissions` says about starting runs. */
export const REVIEWER_ROLES: readonly RepoPermission[] = ["write", "maintain", "admin"];

export type ReviewerRefusal = "refused-bot" | "refused-role" | "refused-self-review";

/** The repository a review is on, and how to read what the rules need from it. */
export interface ReviewerRepo {
  octokit: Pick<Octokit, "request">;
  owner: string;
  repo: string;
  /** Where `.github/atomic-scrum.yml` is read from; asked only when the run's starter approves. */
  defaultBranch: string | (() => Promise<string>);
  /** The app's slug, when known: its own reviews (`<slug>[bot]`) never count, even if not typed Bot. */
  appSlug?: string;
}

/** A bot or the app itself, by type or by login. */
export function isBot(user: { login: string; type?: string }, appSlug?: string): boolean {
  return user.type === "Bot" || user.login.endsWith("[bot]") || user.login === `${appSlug}[bot]`;
}

/**
 * Why a review by `reviewer` does not count toward a run's approval, or undefined when it does:
 * the one rule for reviews arriving by webhook and for reviews found on the pull request when a
 * run reaches its approval phase. Not a bot or the app; write, maintain or admin, read now through
 * the collaborator-permission API (never `author_association`, which says nothing of write access);
 * not the run's starter approving under `prevent_self_review`. The starter may always ask for
 * changes. Reads the role once, and the repository config only when the starter approves.
 */
export async function checkReviewer(
  where: ReviewerRepo,
  reviewer: { login: string; type?: string },
  review: { approving: boolean; startedBy?: string | undefined },
): Promise<ReviewerRefusal | undefined> {
  const { login } = reviewer;
  if (isBot(reviewer, where.appSlug)) return "refused-bot";
  const role = await repoRole(where.octokit, where.owner, where.repo, login);
  if (role === undefined || !REVIEWER_ROLES.includes(role)) return "refused-role";
  if (!review.approving || review.startedBy?.toLowerCase() !== login.toLowerCase()) return undefined;
  const ref = typeof where.defaultBranch === "string" ? where.defaultBranch : await where.defaultBranch();
  const loaded = await loadRepoConfig(where.octokit, { owner: where.owner, repo: where.repo, ref });
  // A config that does not parse cannot say self-review is allowed: the stricter reading holds.
  const preventSelf = loaded.ok ? loaded.config.prevent_self_review : true;
  return preventSelf ? "refused-self-review" : undefined;
}

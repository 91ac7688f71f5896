import { foldBody } from "../forge/github/fold-body.js";
import type { Database } from "../store/database.js";
import { claimReply, releaseReply } from "../store/replies.js";
import type { Octokit } from "./octokit.js";

/** A hidden HTML comment that lets the app find a comment it posted before. */
export function marker(name: string): string {
  return `<!-- atomic-scrum:${name} -->`;
}

/**
 * Posts `body` on the issue unless this reply was posted or is being posted already, so a
 * redelivery, two deliveries at once, or a restart never post the same note twice. Returns
 * whether it posted. Two guards: a claim in SQLite, taken before anything is read, decides
 * between handlers running at the same time (listing, then creating, cannot: both list before
 * either creates, issue 11 class 15); the listing finds a reply posted before the claim existed.
 */
export async function postOnce(
  octokit: Octokit,
  target: { owner: string; repo: string; issue_number: number },
  mark: string,
  body: string,
  claims: { db: Database; now: () => number },
): Promise<boolean> {
  const key = `${target.owner}/${target.repo}#${target.issue_number} ${mark}`;
  if (!claimReply(claims.db, key, claims.now())) return false;
  try {
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...target, per_page: 100 });
    // Only a bot's comment carries our marker for real: a person pasting it must not silence us.
    if (comments.some((comment) => comment.user?.type === "Bot" && comment.body?.includes(mark)))
      return false;
    await octokit.rest.issues.createComment({
      ...target,
      body: `${mark}\n${foldBody(body, "the app's log")}`,
      // A comment answered 502 may be posted: a re-send would post it twice (class 13).
      request: { retries: 0 },
    });
    return true;
  } catch (error) {
    // Not posted, or not known to be: a redelivery may try again, and its listing finds a post
    // whose answer was lost.
    releaseReply(claims.db, key);
    throw error;
  }
}

import type { Octokit } from "./octokit.js";

/** A hidden HTML comment that lets the app find a comment it posted before. */
export function marker(name: string): string {
  return `<!-- atomic-scrum:${name} -->`;
}

/**
 * Posts `body` on the issue unless a comment carrying `marker` is already there, so a redelivery
 * or a restart never posts the same note twice. Returns whether it posted.
 */
export async function postOnce(
  octokit: Octokit,
  target: { owner: string; repo: string; issue_number: number },
  mark: string,
  body: string,
): Promise<boolean> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...target, per_page: 100 });
  // Only a bot's comment carries our marker for real: a person pasting it must not silence us.
  if (comments.some((comment) => comment.user?.type === "Bot" && comment.body?.includes(mark))) return false;
  await octokit.rest.issues.createComment({ ...target, body: `${mark}\n${body}` });
  return true;
}

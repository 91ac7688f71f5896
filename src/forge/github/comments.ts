import type { CommentInput, CommentResult, StatusInput } from "../forge.js";
import { checkKey } from "../local/check-key.js";
import { foldBody } from "./fold-body.js";
import { callGitHub, explainAccessLost, statusOf } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";

const MARKER = /^<!-- atomic-scrum:((?:key|status)=[\x21-\x7e]+) -->/;

/** The hidden first line that lets the app find its own comment again after a restart. */
export function commentMarker(kind: "key" | "status", value: string): string {
  return `<!-- atomic-scrum:${kind}=${checkKey(value)} -->`;
}

/**
 * Posts a phase comment on `target` (the PR, or the issue while there is none) unless a comment
 * with its marker exists there or on the issue already.
 */
export async function postComment(
  gh: GitHubRepo,
  target: number,
  input: CommentInput,
): Promise<CommentResult> {
  const marker = commentMarker("key", input.key);
  for (const thread of new Set([target, gh.issueNumber])) {
    const found = (await ourComments(gh, thread)).get(markerId(marker));
    if (found !== undefined) return { id: String(found.id), created: false };
  }
  const id = await createComment(gh, target, marker, input.body);
  return { id: String(id), created: true };
}

/** Creates the run's status comment on the issue, or edits it in place when the text changed. */
export async function writeStatus(gh: GitHubRepo, input: StatusInput): Promise<void> {
  const marker = commentMarker("status", input.runId);
  const body = `${marker}\n${foldBody(input.body, "the run's dashboard")}`;
  const comments = await ourComments(gh, gh.issueNumber);
  const found = comments.get(markerId(marker));
  if (found === undefined) {
    await createComment(gh, gh.issueNumber, marker, input.body, "the run's dashboard");
    return;
  }
  if (found.body === body) return;
  try {
    await gh.octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
      owner: gh.owner,
      repo: gh.repo,
      comment_id: found.id,
      body,
    });
  } catch (error) {
    // Someone deleted the status comment: post a new one rather than fail every later phase.
    if (statusOf(error) !== 404) throw explainAccessLost(error, "editing the status comment") ?? error;
    comments.delete(markerId(marker));
    await createComment(gh, gh.issueNumber, marker, input.body, "the run's dashboard");
    return;
  }
  comments.set(markerId(marker), { id: found.id, body });
}

async function createComment(
  gh: GitHubRepo,
  thread: number,
  marker: string,
  text: string,
  where?: string,
): Promise<number> {
  const body = `${marker}\n${foldBody(text, where)}`;
  let data: { id: number | bigint };
  try {
    ({ data } = await callGitHub(`commenting on #${thread}`, () =>
      gh.octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
        owner: gh.owner,
        repo: gh.repo,
        issue_number: thread,
        body,
        // Probot's retry plugin re-sends on a 5xx; a comment has no precondition, so a re-send
        // after a lost answer would post it twice. The job's own retry lists the thread first.
        request: { retries: 0 },
      }),
    ));
  } catch (error) {
    // The comment may have been posted with only the answer lost: list the thread again next time.
    gh.state.comments.delete(thread);
    throw error;
  }
  const id = Number(data.id);
  (await ourComments(gh, thread)).set(markerId(marker), { id, body });
  return id;
}

function markerId(marker: string): string {
  return MARKER.exec(marker)?.[1] ?? marker;
}

/** The app's comments on one issue or PR, by marker; listed (100 a page) once per forge. */
async function ourComments(gh: GitHubRepo, thread: number) {
  const cached = gh.state.comments.get(thread);
  if (cached !== undefined) return cached;
  const found = new Map<string, { id: number; body: string }>();
  for (let page = 1; ; page += 1) {
    const { data } = await callGitHub(`listing comments on #${thread}`, () =>
      gh.octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
        owner: gh.owner,
        repo: gh.repo,
        issue_number: thread,
        per_page: 100,
        page,
      }),
    );
    for (const comment of data) {
      const id = MARKER.exec(comment.body ?? "")?.[1];
      // Anyone can paste a marker; only the app's own comment counts (by app id when the forge
      // knows it, or else any bot's), the first one wins.
      const byApp =
        gh.appId === undefined
          ? comment.user?.type === "Bot"
          : comment.performed_via_github_app?.id === gh.appId;
      if (id === undefined || !byApp || found.has(id)) continue;
      found.set(id, { id: Number(comment.id), body: comment.body ?? "" });
    }
    if (data.length < 100) break;
  }
  gh.state.comments.set(thread, found);
  return found;
}

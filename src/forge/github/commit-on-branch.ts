import { checkEdit, checkMessage } from "../check-commit.js";
import { type CommitInput, type CommitResult, type FileChange, ForgeRateLimited } from "../forge.js";
import { checkKey } from "../local/check-key.js";
import { withTrailer } from "../local/commit-changes.js";
import { keyTrailer } from "../local/find-keyed-commit.js";
import type { WritablePathOptions } from "../paths.js";
import { readHead } from "./branch-head.js";
import { checkBranchName } from "./check-branch-name.js";
import { defuseClosingKeywords } from "./closing-keywords.js";
import { callGitHub, GitHubAccessLost } from "./github-errors.js";
import type { BranchHead, GitHubRepo } from "./github-repo.js";

export const COMMIT_MUTATION = `mutation AtomicScrumCommit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid } }
}`;

/**
 * Commits `input.changes` with GraphQL `createCommitOnBranch`, guarded by `expectedHeadOid`: one
 * write, and GitHub refuses it if the branch moved, so a retried phase cannot commit twice. A key
 * already among the branch's last 20 commits returns that commit instead. The head and history
 * come from the context read just before when there was one, else from a read of their own.
 */
export async function commitOnBranch(
  gh: GitHubRepo,
  input: CommitInput,
  options: WritablePathOptions,
): Promise<CommitResult> {
  const changes = checkEdit(input.changes, { ...options, ...input.edits });
  const key = checkKey(input.key);
  // Untrusted text must not close an issue when this commit reaches the default branch (class 7).
  const message = defuseClosingKeywords(checkMessage(input.message));
  const branch = checkBranchName(input.branch);
  // Used once: a retry, or the commit after this one, reads the branch again.
  const fresh = gh.state.freshHeads.get(branch);
  gh.state.freshHeads.delete(branch);
  try {
    return await commitOn(gh, branch, fresh ?? (await readHead(gh, branch)), { changes, key, message });
  } catch (error) {
    // Whether a failed write landed is unknown: the next context read or commit asks GitHub again.
    gh.state.heads.delete(branch);
    throw error;
  }
}

async function commitOn(
  gh: GitHubRepo,
  branch: string,
  { head, history }: BranchHead,
  { changes, key, message }: { changes: FileChange[]; key: string; message: string },
): Promise<CommitResult> {
  const trailer = keyTrailer(key);
  const earlier = history.find((commit) =>
    commit.message.split("\n").some((line) => line.trim() === trailer),
  );
  if (earlier !== undefined) {
    gh.state.heads.set(branch, head);
    return { sha: earlier.oid, created: false };
  }
  const [headline = "", ...rest] = withTrailer(message, key).split("\n");
  const fileChanges = {
    additions: changes.flatMap((c) =>
      "content" in c ? [{ path: c.path, contents: Buffer.from(c.content, "utf8").toString("base64") }] : [],
    ),
    deletions: changes.flatMap((c) => ("delete" in c ? [{ path: c.path }] : [])),
  };
  const input_ = {
    branch: { repositoryNameWithOwner: `${gh.owner}/${gh.repo}`, branchName: branch },
    expectedHeadOid: head,
    message: { headline, body: rest.join("\n").trim() },
    fileChanges,
  };
  try {
    const answer = await callGitHub(`committing to ${branch}`, () =>
      gh.octokit.graphql<{ createCommitOnBranch: { commit: { oid: string } } }>(COMMIT_MUTATION, {
        input: input_,
        // expectedHeadOid refuses a re-send anyway; not re-sending saves a doomed request (class 13).
        request: { retries: 0 },
      }),
    );
    gh.state.heads.set(branch, answer.createCommitOnBranch.commit.oid);
    return { sha: answer.createCommitOnBranch.commit.oid, created: true };
  } catch (error) {
    // Neither says anything about this commit: the run ends, or the job waits, as they say.
    if (error instanceof GitHubAccessLost || error instanceof ForgeRateLimited) throw error;
    throw new Error(
      `committing to ${JSON.stringify(branch)} on top of ${head} failed: ${describe(error)} ` +
        "(if the branch moved, read it again and retry: the key check will find a commit that landed)",
      { cause: error },
    );
  }
}

/** GitHub's own words: the GraphQL error messages when there are some, else the error's message. */
function describe(error: unknown): string {
  const errors = (error as { errors?: { message?: string }[] }).errors;
  const messages = errors?.map((e) => e.message).filter((m) => m !== undefined) ?? [];
  return messages.length > 0 ? messages.join("; ") : (error as Error).message;
}

import { checkEdit, checkMessage } from "../check-commit.js";
import type { CommitInput, CommitResult } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import type { WritablePathOptions } from "../paths.js";
import { branchHead, checkBranchName, checkNotCheckedOut } from "./branch-refs.js";
import { buildTree } from "./build-tree.js";
import { checkKey } from "./check-key.js";
import { checkTreeChanges } from "./check-tree-changes.js";
import { findKeyedCommit, keyTrailer } from "./find-keyed-commit.js";
import { GitError } from "./git.js";
import type { Repo } from "./repo.js";
import { treeModes } from "./tree-modes.js";
import { updateRef } from "./update-ref.js";

export interface Author {
  name: string;
  email: string;
}

/**
 * Commits `input.changes` on `input.branch` as one commit built with plumbing, then moves the
 * branch with a compare-and-swap from the head it was built on. A key already on the branch
 * returns that commit instead.
 */
export async function commitChanges(
  repo: Repo,
  input: CommitInput,
  options: WritablePathOptions & { author: Author },
): Promise<CommitResult> {
  const changes = checkEdit(input.changes, { ...options, ...input.edits });
  const key = checkKey(input.key);
  const message = checkMessage(input.message);
  const branch = await checkBranchName(repo, input.branch);
  await checkNotCheckedOut(repo, branch);
  const head = await branchHead(repo, branch);
  if (head === undefined) {
    throw new ForgeRefusal(
      `cannot commit to ${JSON.stringify(branch)}: the branch does not exist; prepare it first`,
    );
  }
  const earlier = await findKeyedCommit(repo, head, key);
  if (earlier !== undefined) return { sha: earlier, created: false };
  const modes = await treeModes(
    repo,
    head,
    changes.map((change) => change.path),
  );
  checkTreeChanges(changes, modes);
  const tree = await buildTree(repo, head, changes, modes);
  const sha = await commitTree(repo, tree, head, withTrailer(message, key), options.author);
  return moveBranch(repo, branch, { to: sha, from: head, key });
}

/** Appends the key trailer, joining an existing trailer block rather than starting a second one. */
export function withTrailer(message: string, key: string): string {
  const body = message.trimEnd();
  const paragraphs = body.split(/\n[ \t]*\n/);
  const last = paragraphs.at(-1) ?? "";
  const endsWithTrailers =
    paragraphs.length > 1 && last.split("\n").every((line) => /^[\w-]+: \S/.test(line));
  return `${body}${endsWithTrailers ? "\n" : "\n\n"}${keyTrailer(key)}\n`;
}

async function commitTree(repo: Repo, tree: string, parent: string, message: string, author: Author) {
  // Identity through the environment, so the user's git config needs no user.name or email.
  const env = {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
  const args = ["commit-tree", "--no-gpg-sign", tree, "-p", parent, "-F", "-"];
  return (await repo.text(args, { env, input: message })).trim();
}

/**
 * Compare-and-swap, like GitHub's expectedHeadOid: refused if the branch is no longer at `from`.
 * Resolves to the commit that carries `key` on the branch: `to`, or an earlier attempt's commit
 * when that attempt's git finished after its process was killed.
 */
async function moveBranch(
  repo: Repo,
  branch: string,
  move: { to: string; from: string; key: string },
): Promise<{ sha: string; created: boolean }> {
  const { to, from, key } = move;
  try {
    await updateRef(repo, { ref: `refs/heads/${branch}`, to, from, message: "atomic-scrum: commit" });
    return { sha: to, created: true };
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    const now = await branchHead(repo, branch);
    if (now === from) {
      // The branch did not move, so git refused for its own reason (a lock, a full disk): say it.
      throw new Error(`could not move branch ${JSON.stringify(branch)} to commit ${to}: ${error.message}`, {
        cause: error,
      });
    }
    const earlier = now === undefined ? undefined : await findKeyedCommit(repo, now, key);
    if (earlier !== undefined) return { sha: earlier, created: false };
    throw new Error(
      `branch ${JSON.stringify(branch)} moved from ${from} to ${now ?? "nowhere (deleted)"} while committing; ` +
        `commit ${to} was not applied: read the branch again and retry`,
      { cause: error },
    );
  }
}

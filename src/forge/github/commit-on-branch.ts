import { checkChange, checkMessage } from "../check-commit.js";
import type { CommitInput, CommitResult } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import { checkKey } from "../local/check-key.js";
import { withTrailer } from "../local/commit-changes.js";
import { keyTrailer } from "../local/find-keyed-commit.js";
import type { WritablePathOptions } from "../paths.js";
import { checkBranchName } from "./check-branch-name.js";
import { callGitHub, GitHubAccessLost } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";

/** The branch head and its recent messages in one read: enough to find a keyed commit. */
export const HEAD_QUERY = `query AtomicScrumBranchHead($owner: String!, $repo: String!, $ref: String!) {
  repository(owner: $owner, name: $repo) {
    ref(qualifiedName: $ref) {
      target {
        ... on Commit {
          oid
          history(first: 20) { nodes { oid message } }
        }
      }
    }
  }
}`;

export const COMMIT_MUTATION = `mutation AtomicScrumCommit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid } }
}`;

interface HeadAnswer {
  repository: {
    ref: { target: { oid?: string; history?: { nodes: { oid: string; message: string }[] } } } | null;
  } | null;
}

/**
 * Commits `input.changes` with GraphQL `createCommitOnBranch`, guarded by `expectedHeadOid`: one
 * write, and GitHub refuses it if the branch moved, so a retried phase cannot commit twice. A key
 * already among the branch's last 20 commits returns that commit instead.
 */
export async function commitOnBranch(
  gh: GitHubRepo,
  input: CommitInput,
  options: WritablePathOptions,
): Promise<CommitResult> {
  const changes = input.changes.map((change) => checkChange(change, options));
  const key = checkKey(input.key);
  const message = checkMessage(input.message);
  const branch = checkBranchName(input.branch);
  const { head, history } = await readHead(gh, branch);
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
      }),
    );
    gh.state.heads.set(branch, answer.createCommitOnBranch.commit.oid);
    return { sha: answer.createCommitOnBranch.commit.oid, created: true };
  } catch (error) {
    if (error instanceof GitHubAccessLost) throw error;
    throw new Error(
      `committing to ${JSON.stringify(branch)} on top of ${head} failed: ${describe(error)} ` +
        "(if the branch moved, read it again and retry: the key check will find a commit that landed)",
      { cause: error },
    );
  }
}

async function readHead(gh: GitHubRepo, branch: string) {
  const answer = await callGitHub(`reading branch ${branch}`, () =>
    gh.octokit.graphql<HeadAnswer>(HEAD_QUERY, {
      owner: gh.owner,
      repo: gh.repo,
      ref: `refs/heads/${branch}`,
    }),
  );
  if (answer.repository === null) {
    throw new GitHubAccessLost(
      `${gh.owner}/${gh.repo} is gone or no longer visible to the app; the run cannot go on`,
    );
  }
  const target = answer.repository.ref?.target;
  if (target?.oid === undefined) {
    throw new ForgeRefusal(
      `cannot commit to ${JSON.stringify(branch)}: the branch does not exist; prepare it first`,
    );
  }
  return { head: target.oid, history: target.history?.nodes ?? [] };
}

/** GitHub's own words: the GraphQL error messages when there are some, else the error's message. */
function describe(error: unknown): string {
  const errors = (error as { errors?: { message?: string }[] }).errors;
  const messages = errors?.map((e) => e.message).filter((m) => m !== undefined) ?? [];
  return messages.length > 0 ? messages.join("; ") : (error as Error).message;
}

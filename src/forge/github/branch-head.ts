import { ForgeRefusal } from "../forge.js";
import { callGitHub, GitHubAccessLost } from "./github-errors.js";
import type { BranchHead, GitHubRepo } from "./github-repo.js";

/** The selection under `repository` that reads the branch `$ref` names: its head and recent messages. */
export const REF_SELECTION = `ref(qualifiedName: $ref) {
      target {
        ... on Commit {
          oid
          history(first: 20) { nodes { oid message } }
        }
      }
    }`;

/** The branch head and its recent messages in one read: enough to find a keyed commit. */
export const HEAD_QUERY = `query AtomicScrumBranchHead($owner: String!, $repo: String!, $ref: String!) {
  repository(owner: $owner, name: $repo) {
    ${REF_SELECTION}
  }
}`;

/** What {@link REF_SELECTION} answers. */
export interface RefAnswer {
  ref: { target: { oid?: string; history?: { nodes: { oid: string; message: string }[] } } } | null;
}

/** The head and history of `branch` as GitHub has them now. */
export async function readHead(gh: GitHubRepo, branch: string): Promise<BranchHead> {
  const answer = await callGitHub(`reading branch ${branch}`, () =>
    gh.octokit.graphql<{ repository: RefAnswer | null }>(HEAD_QUERY, {
      owner: gh.owner,
      repo: gh.repo,
      ref: `refs/heads/${branch}`,
    }),
  );
  const head = headFrom(gh, answer.repository);
  if (head === undefined) {
    throw new ForgeRefusal(
      `cannot commit to ${JSON.stringify(branch)}: the branch does not exist; prepare it first`,
    );
  }
  return head;
}

/**
 * The head in a `repository` answer, undefined when the branch does not exist. A null repository
 * (GraphQL's answer when it cannot see it) means the app lost access.
 */
export function headFrom(gh: GitHubRepo, repository: RefAnswer | null): BranchHead | undefined {
  if (repository === null) {
    throw new GitHubAccessLost(
      `${gh.owner}/${gh.repo} is gone or no longer visible to the app; the run cannot go on`,
    );
  }
  const target = repository.ref?.target;
  if (target?.oid === undefined) return undefined;
  return { head: target.oid, history: target.history?.nodes ?? [] };
}

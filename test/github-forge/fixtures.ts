import { createGitHubForge, type GitHubForge } from "../../src/forge/github/github-forge.js";
import { githubApi } from "../helpers/github/api.js";
import { testOctokit } from "../helpers/github/octokit.js";

export const OWNER = "octo";
export const REPO = "hello";
export const ISSUE = 42;
export const BRANCH = "atomic-scrum/42-add-login";
export const BASE_SHA = "a".repeat(40);
export const R = `/repos/${OWNER}/${REPO}`;
/** How Octokit puts `heads/<branch>` into a URL. */
export const REF_PATH = `${R}/git/ref/${encodeURIComponent(`heads/${BRANCH}`)}`;

export function newForge(): GitHubForge {
  return createGitHubForge({
    octokit: testOctokit(),
    owner: OWNER,
    repo: REPO,
    issueNumber: ISSUE,
    title: "Add login (#42)",
    pipelineUrl: "https://atomic.example/runs/7",
  });
}

interface GraphqlBody {
  query: string;
  variables: Record<string, unknown>;
}

/** Answers the branch-head query once with `head` and commit messages (newest first). */
export function headQuery(head: string, messages: { oid: string; message: string }[] = []) {
  return githubApi()
    .post("/graphql", (body: GraphqlBody) => body.query.includes("AtomicScrumBranchHead"))
    .reply(200, { data: { repository: { ref: { target: { oid: head, history: { nodes: messages } } } } } });
}

/** A blob as GraphQL gives it under `... on Blob`. */
export interface GraphqlBlob {
  text: string | null;
  isBinary: boolean | null;
  isTruncated: boolean;
}

export const textBlob = (text: string): GraphqlBlob => ({ text, isBinary: false, isTruncated: false });

/**
 * Answers one AtomicScrumContext query: the branch at `head` with `messages` when the query asks
 * for it, and every aliased `object(oid: $bN)` from `blobs` by SHA (null when it has none). The
 * variables sent go into `sent`.
 */
export function contextQuery(
  head: string,
  blobs: Record<string, GraphqlBlob>,
  messages: { oid: string; message: string }[] = [],
  sent: Record<string, unknown>[] = [],
) {
  return githubApi()
    .post("/graphql", (body: GraphqlBody) => body.query.includes("AtomicScrumContext"))
    .reply(200, (_uri: string, raw: unknown) => {
      const { variables } = (typeof raw === "string" ? JSON.parse(raw) : raw) as GraphqlBody;
      sent.push(variables);
      const repository: Record<string, unknown> = {};
      if (variables.ref !== undefined) {
        repository.ref = { target: { oid: head, history: { nodes: messages } } };
      }
      for (const [name, value] of Object.entries(variables)) {
        if (/^b\d+$/.test(name)) repository[name] = blobs[String(value)] ?? null;
      }
      return { data: { repository } };
    });
}

/** Answers createCommitOnBranch once with `oid`, pushing the variables sent into `sent`. */
export function commitMutation(oid: string, sent: unknown[] = []) {
  return githubApi()
    .post("/graphql", (body: GraphqlBody) => {
      if (!body.query.includes("createCommitOnBranch")) return false;
      sent.push(body.variables);
      return true;
    })
    .reply(200, { data: { createCommitOnBranch: { commit: { oid } } } });
}

/** The PR lookup for the run branch (open and closed), answering with `prs` (open unless said). */
export function listPulls(prs: { number: number; state?: "open" | "closed"; merged_at?: string | null }[]) {
  return githubApi()
    .get(`${R}/pulls`)
    .query({ head: `${OWNER}:${BRANCH}`, state: "all" })
    .reply(
      200,
      prs.map((pr) => ({ state: "open", merged_at: null, ...pr })),
    );
}

export function botComment(id: number, body: string) {
  return { id, body, user: { login: "atomic-scrum[bot]", type: "Bot" } };
}

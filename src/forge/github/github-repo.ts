import type { Octokit } from "@octokit/core";

/** The repository a GitHub forge writes to, and what it has learnt so far in this process. */
export interface GitHubRepo {
  /** Any Octokit: Probot's (with retry and throttling) in the app, a plain one in tests. */
  octokit: Octokit;
  owner: string;
  repo: string;
  issueNumber: number;
  /** The GitHub App's id: only comments it made count as ours. */
  appId?: number;
  state: ForgeState;
}

/** A branch's head and its last 20 commits, newest first: enough to find a keyed commit. */
export interface BranchHead {
  head: string;
  history: { oid: string; message: string }[];
}

/** A blob as a context read uses it: its text, or why it is left out. */
export type ContextBlob = { text: string; bytes: number } | { binary: string };

/** Answers cached per forge instance, so a run does not ask GitHub the same question twice. */
export interface ForgeState {
  /** The branch run branches are made from, once known. */
  base?: string;
  /** The open draft PR for a branch: a number, null when we looked and found none. */
  pullRequests: Map<string, number | null>;
  /** Our comments per issue or PR number, by marker, once that thread has been listed. */
  comments: Map<number, Map<string, { id: number; body: string }>>;
  /** The head this forge last saw or made on each branch: a context read after a commit needs no ref read. */
  heads: Map<string, string>;
  /**
   * Head and history read along with a context's blobs, for the next commit on that branch to use
   * once instead of reading them itself. `expectedHeadOid` still guards that commit, so a branch
   * that moved since is refused, never overwritten.
   */
  freshHeads: Map<string, BranchHead>;
  /** Trees by commit, blobs by their SHA: content-addressed, so never stale. */
  trees: Map<string, { entries: unknown[]; truncated: boolean }>;
  blobs: Map<string, ContextBlob>;
}

export function newForgeState(): ForgeState {
  return {
    pullRequests: new Map(),
    comments: new Map(),
    heads: new Map(),
    freshHeads: new Map(),
    trees: new Map(),
    blobs: new Map(),
  };
}

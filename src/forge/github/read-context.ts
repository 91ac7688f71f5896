import picomatch from "picomatch";
import type { ContextFiles, ReadContextInput } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import { checkBranchName } from "./check-branch-name.js";
import { callGitHub } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";
import { branchHead } from "./prepare-branch.js";

// git's own binary test (buffer_is_binary) looks for a NUL in the first 8000 bytes.
const BINARY_SNIFF = 8000;

interface Entry {
  path: string;
  mode: string;
  type: string;
  sha: string;
  size?: number;
}

/**
 * Reads the files at the head of `input.branch` whose paths match any glob, in path order, with the
 * local forge's rules: one tree request, then one blob request per file that fits the limits.
 * Every matched file left out is listed in `omitted` with the reason, and so is a truncated tree.
 */
export async function readContext(gh: GitHubRepo, input: ReadContextInput): Promise<ContextFiles> {
  checkLimit("maxFiles", input.maxFiles);
  checkLimit("maxBytes", input.maxBytes);
  const branch = checkBranchName(input.branch);
  if (input.globs.length === 0) return { files: [], omitted: [] };
  const head = gh.state.heads.get(branch) ?? (await branchHead(gh, branch));
  if (head === undefined)
    throw new ForgeRefusal(`cannot read ${JSON.stringify(branch)}: the branch does not exist`);
  gh.state.heads.set(branch, head);
  const tree = await readTree(gh, branch, head);
  // dot: false means `.env` matches only a glob that names the dot, such as `.env` or `.github/**`.
  const isMatch = picomatch(input.globs, { dot: false, windows: false });
  const matched = (tree.entries as Entry[])
    .filter((entry) => entry.type !== "tree" && isMatch(entry.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const result: ContextFiles = { files: [], omitted: [] };
  if (tree.truncated) {
    result.omitted.push({
      path: "*",
      reason: "GitHub truncated the tree listing: files past its limit were not seen",
    });
  }
  let budget = input.maxBytes;
  for (const entry of matched) {
    const size = entry.size ?? 0;
    const reason =
      entry.mode === "120000"
        ? "symlink"
        : entry.type === "commit"
          ? "submodule"
          : result.files.length >= input.maxFiles
            ? `maxFiles reached (${input.maxFiles} files)`
            : size > budget
              ? `maxBytes: ${size} bytes, only ${budget} of ${input.maxBytes} left`
              : undefined;
    if (reason !== undefined) {
      result.omitted.push({ path: entry.path, reason });
      continue;
    }
    const blob = await readBlob(gh, entry.sha);
    if (blob.subarray(0, BINARY_SNIFF).includes(0)) {
      result.omitted.push({ path: entry.path, reason: "binary (NUL byte in the first 8000 bytes)" });
      continue;
    }
    result.files.push({ path: entry.path, content: blob.toString("utf8") });
    budget -= blob.length;
  }
  return result;
}

/** The recursive tree of a commit, asked for once per commit. */
async function readTree(gh: GitHubRepo, branch: string, head: string) {
  const known = gh.state.trees.get(head);
  if (known) return known;
  const { data } = await callGitHub(`reading the tree of ${branch}`, () =>
    gh.octokit.request("GET /repos/{owner}/{repo}/git/trees/{tree_sha}", {
      owner: gh.owner,
      repo: gh.repo,
      tree_sha: head,
      recursive: "1",
    }),
  );
  const tree = { entries: data.tree as unknown[], truncated: data.truncated };
  gh.state.trees.clear(); // only the newest tree is worth keeping
  gh.state.trees.set(head, tree);
  return tree;
}

/** A blob's bytes, asked for once: a file unchanged between phases keeps its SHA. */
async function readBlob(gh: GitHubRepo, sha: string): Promise<Buffer> {
  const known = gh.state.blobs.get(sha);
  if (known) return known;
  const bytes = await fetchBlob(gh, sha);
  gh.state.blobs.set(sha, bytes);
  return bytes;
}

async function fetchBlob(gh: GitHubRepo, sha: string): Promise<Buffer> {
  const { data } = await callGitHub(`reading blob ${sha}`, () =>
    gh.octokit.request("GET /repos/{owner}/{repo}/git/blobs/{file_sha}", {
      owner: gh.owner,
      repo: gh.repo,
      file_sha: sha,
    }),
  );
  return Buffer.from(data.content, data.encoding === "base64" ? "base64" : "utf8");
}

function checkLimit(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ForgeRefusal(`refusing to read context: ${name} must be a whole number >= 0, got ${value}`);
  }
}

import picomatch from "picomatch";
import type { ContextFiles, ReadContextInput } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import { headFrom, REF_SELECTION, type RefAnswer } from "./branch-head.js";
import { checkBranchName } from "./check-branch-name.js";
import { callGitHub } from "./github-errors.js";
import type { ContextBlob, GitHubRepo } from "./github-repo.js";
import { branchHead } from "./prepare-branch.js";

// git's own binary test (buffer_is_binary) looks for a NUL in the first 8000 bytes.
const BINARY_SNIFF = 8000;
const NUL_BYTE = "binary (NUL byte in the first 8000 bytes)";
/** Blobs per GraphQL query: aliases are cheap, but one answer should stay a modest size. */
const BLOBS_PER_QUERY = 100;

interface Entry {
  path: string;
  mode: string;
  type: string;
  sha: string;
  size?: number;
}

interface BlobAnswer {
  text?: string | null;
  isBinary?: boolean | null;
  isTruncated?: boolean;
}

/**
 * Reads the files at the head of `input.branch` whose paths match any glob, in path order, with the
 * local forge's rules. One tree request, then one GraphQL query for every blob not cached yet, which
 * also reads the branch's head and history for the commit that follows (it then reads nothing).
 * Every matched file left out is listed in `omitted` with the reason, and so is a truncated tree.
 */
export async function readContext(gh: GitHubRepo, input: ReadContextInput): Promise<ContextFiles> {
  checkLimit("maxFiles", input.maxFiles);
  checkLimit("maxBytes", input.maxBytes);
  const branch = checkBranchName(input.branch);
  if (input.globs.length === 0) return { files: [], omitted: [] };
  const first = await readAt(gh, branch, input);
  // The head read with the blobs is newer than the cached one the tree came from (a push during a
  // cooldown, say): read again at that head, so the model sees what its commit will go on top of.
  const fresh = gh.state.freshHeads.get(branch);
  if (fresh === undefined || fresh.head === first.head) return first.result;
  return (await readAt(gh, branch, input)).result;
}

async function readAt(
  gh: GitHubRepo,
  branch: string,
  input: ReadContextInput,
): Promise<{ head: string; result: ContextFiles }> {
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
  // The head rides along with the first query; with every blob cached it costs a query of its own,
  // the one the commit would make anyway, unless an earlier read left one the commit has not used.
  let withHead = true;
  for (;;) {
    const { result, needed } = select(gh, input, tree.truncated, matched);
    if (needed.length === 0 && (!withHead || gh.state.freshHeads.has(branch))) return { head, result };
    await fetchBlobs(gh, branch, needed, withHead);
    withHead = false;
  }
}

/**
 * Applies the limits in path order with the blobs known so far. A blob not known yet is counted as
 * text of its tree size and listed in `needed`: once fetched, only a binary (or smaller) blob can
 * free room for a later file, which the next pass then asks for.
 */
function select(gh: GitHubRepo, input: ReadContextInput, truncated: boolean, matched: Entry[]) {
  const result: ContextFiles = { files: [], omitted: [] };
  const needed: Entry[] = [];
  if (truncated) {
    result.omitted.push({
      path: "*",
      reason: "GitHub truncated the tree listing: files past its limit were not seen",
    });
  }
  let taken = 0;
  let budget = input.maxBytes;
  for (const entry of matched) {
    const size = entry.size ?? 0;
    const reason =
      entry.mode === "120000"
        ? "symlink"
        : entry.type === "commit"
          ? "submodule"
          : taken >= input.maxFiles
            ? `maxFiles reached (${input.maxFiles} files)`
            : size > budget
              ? `maxBytes: ${size} bytes, only ${budget} of ${input.maxBytes} left`
              : undefined;
    if (reason !== undefined) {
      result.omitted.push({ path: entry.path, reason });
      continue;
    }
    const blob = gh.state.blobs.get(entry.sha);
    if (blob !== undefined && "binary" in blob) {
      result.omitted.push({ path: entry.path, reason: blob.binary });
      continue;
    }
    if (blob === undefined) needed.push(entry);
    else result.files.push({ path: entry.path, content: blob.text });
    taken += 1;
    budget -= blob?.bytes ?? size;
  }
  return { result, needed };
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

/**
 * Fetches blobs by SHA into the cache, up to {@link BLOBS_PER_QUERY} per GraphQL query, the first
 * also reading the branch's head and history when `withHead`. A blob GitHub truncated is read again
 * whole over REST: a context file is given in full or not at all.
 */
async function fetchBlobs(gh: GitHubRepo, branch: string, entries: Entry[], withHead: boolean) {
  const shas = [...new Set(entries.map((entry) => entry.sha))];
  const chunks: string[][] = [];
  for (let i = 0; i < shas.length || (i === 0 && withHead); i += BLOBS_PER_QUERY) {
    chunks.push(shas.slice(i, i + BLOBS_PER_QUERY));
  }
  for (const [n, chunk] of chunks.entries()) {
    const readsHead = withHead && n === 0;
    const variables: Record<string, string> = { owner: gh.owner, repo: gh.repo };
    if (readsHead) variables.ref = `refs/heads/${branch}`;
    for (const [i, sha] of chunk.entries()) variables[`b${i}`] = sha;
    const answer = await callGitHub(`reading the context of ${branch}`, () =>
      gh.octokit.graphql<{ repository: (RefAnswer & Record<string, BlobAnswer | null>) | null }>(
        contextQuery(chunk.length, readsHead),
        variables,
      ),
    );
    if (readsHead || answer.repository === null) {
      const fresh = headFrom(gh, answer.repository);
      // A branch gone since the tree read leaves nothing to hand on: the commit reads and refuses.
      if (fresh === undefined) gh.state.freshHeads.delete(branch);
      else {
        gh.state.freshHeads.set(branch, fresh);
        gh.state.heads.set(branch, fresh.head);
      }
    }
    for (const [i, sha] of chunk.entries()) {
      gh.state.blobs.set(sha, await toContextBlob(gh, sha, answer.repository?.[`b${i}`] ?? null));
    }
  }
}

function contextQuery(blobs: number, withHead: boolean): string {
  const aliases = Array.from({ length: blobs }, (_, i) => i);
  const variables = [
    "$owner: String!",
    "$repo: String!",
    ...(withHead ? ["$ref: String!"] : []),
    ...aliases.map((i) => `$b${i}: GitObjectID!`),
  ];
  const fields = [
    ...(withHead ? [REF_SELECTION] : []),
    ...aliases.map((i) => `b${i}: object(oid: $b${i}) { ... on Blob { text isBinary isTruncated } }`),
  ];
  return `query AtomicScrumContext(${variables.join(", ")}) {
  repository(owner: $owner, name: $repo) {
    ${fields.join("\n    ")}
  }
}`;
}

async function toContextBlob(gh: GitHubRepo, sha: string, answer: BlobAnswer | null): Promise<ContextBlob> {
  // null, or an object that is no blob: the tree named something GitHub does not have as a blob.
  if (answer?.isTruncated === undefined)
    throw new Error(`GitHub has no blob ${sha} in ${gh.owner}/${gh.repo}`);
  if (answer.isBinary === true) return { binary: "binary (GitHub says so)" };
  if (answer.isTruncated) {
    const bytes = await fetchBlob(gh, sha);
    return bytes.subarray(0, BINARY_SNIFF).includes(0)
      ? { binary: NUL_BYTE }
      : textBlob(bytes.toString("utf8"));
  }
  if (answer.text === null || answer.text === undefined)
    return { binary: "binary (GitHub has no text for it)" };
  const nul = answer.text.indexOf("\0");
  if (nul !== -1 && Buffer.byteLength(answer.text.slice(0, nul)) < BINARY_SNIFF) return { binary: NUL_BYTE };
  return textBlob(answer.text);
}

function textBlob(text: string): ContextBlob {
  return { text, bytes: Buffer.byteLength(text, "utf8") };
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

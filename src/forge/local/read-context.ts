import picomatch from "picomatch";
import type { ContextFiles, ReadContextInput } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import { branchHead, checkBranchName } from "./branch-refs.js";
import { listFiles, readBlobs, type TreeFile } from "./list-files.js";
import type { Repo } from "./repo.js";
import { MODE } from "./tree-modes.js";

// git's own binary test (buffer_is_binary) looks for a NUL in the first 8000 bytes.
const BINARY_SNIFF = 8000;
// Blobs are read this many files at a time, so a broad glob never loads the whole repository.
const CHUNK = 64;

/**
 * Reads the files at the head of `input.branch` whose paths match any glob, in path order, until
 * `maxFiles` or `maxBytes` is reached. A file that does not fit is skipped and a later, smaller
 * one may still be taken; every matched file left out is listed in `omitted` with the reason.
 */
export async function readContext(repo: Repo, input: ReadContextInput): Promise<ContextFiles> {
  checkLimit("maxFiles", input.maxFiles);
  checkLimit("maxBytes", input.maxBytes);
  const branch = await checkBranchName(repo, input.branch);
  const head = await branchHead(repo, branch);
  if (head === undefined) {
    throw new ForgeRefusal(`cannot read ${JSON.stringify(branch)}: the branch does not exist`);
  }
  const { maxFiles, maxBytes } = input;
  const state: Selection = { files: [], omitted: [], budget: maxBytes, maxFiles, maxBytes };
  const readable: (TreeFile & { size: number })[] = [];
  for (const file of await matchingFiles(repo, head, input.globs)) {
    if (file.mode === MODE.symlink) state.omitted.push({ path: file.path, reason: "symlink" });
    else if (file.size === undefined) state.omitted.push({ path: file.path, reason: "submodule" });
    else readable.push({ ...file, size: file.size });
  }
  for (let start = 0; start < readable.length; start += CHUNK) {
    const chunk = readable.slice(start, start + CHUNK);
    // Budgets only shrink, so a file that does not fit now never will: no need to read it.
    const wanted = chunk.filter((file) => state.files.length < state.maxFiles && file.size <= state.budget);
    const blobs = await readBlobs(
      repo,
      wanted.map((file) => file.object),
    );
    for (const file of chunk) take(state, file, blobs.get(file.object));
  }
  state.omitted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: state.files, omitted: state.omitted };
}

interface Selection extends ContextFiles {
  /** Bytes still free under maxBytes. */
  budget: number;
  maxFiles: number;
  maxBytes: number;
}

function take(state: Selection, file: TreeFile & { size: number }, blob: Buffer | undefined): void {
  const reason = omission(state, file, blob);
  if (reason !== undefined || blob === undefined) {
    state.omitted.push({ path: file.path, reason: reason ?? "could not read the blob" });
    return;
  }
  state.files.push({ path: file.path, content: blob.toString("utf8") });
  state.budget -= file.size;
}

/** Why `file` is left out, or undefined when it is taken. */
function omission(state: Selection, file: TreeFile & { size: number }, blob: Buffer | undefined) {
  if (state.files.length >= state.maxFiles) return `maxFiles reached (${state.maxFiles} files)`;
  if (file.size > state.budget)
    return `maxBytes: ${file.size} bytes, only ${state.budget} of ${state.maxBytes} left`;
  if (blob?.subarray(0, BINARY_SNIFF).includes(0)) return "binary (NUL byte in the first 8000 bytes)";
  return undefined;
}

async function matchingFiles(repo: Repo, head: string, globs: string[]): Promise<TreeFile[]> {
  if (globs.length === 0) return [];
  // dot: false means `.env` matches only a glob that names the dot, such as `.env` or `.github/**`.
  const isMatch = picomatch(globs, { dot: false, windows: false });
  return (await listFiles(repo, head)).filter((file) => isMatch(file.path));
}

function checkLimit(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ForgeRefusal(`refusing to read context: ${name} must be a whole number >= 0, got ${value}`);
  }
}

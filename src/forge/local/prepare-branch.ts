import type { BranchInfo, PrepareBranchInput } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import { branchHead, checkBranchName, checkNotCheckedOut, currentBranch } from "./branch-refs.js";
import { GitError } from "./git.js";
import type { Repo } from "./repo.js";
import { updateRef } from "./update-ref.js";

/**
 * Creates `refs/heads/<branch>` at the head of `base` (default: the branch HEAD points to) unless
 * it exists. Only the ref is written: no checkout, so the working tree and index stay as they are.
 */
export async function prepareBranch(repo: Repo, input: PrepareBranchInput): Promise<BranchInfo> {
  const branch = await checkBranchName(repo, input.branch);
  const base = input.base === undefined ? await currentBranch(repo) : await checkBranchName(repo, input.base);
  await checkNotCheckedOut(repo, branch);
  const baseHead = await branchHead(repo, base);
  if (baseHead === undefined) throw await missingBase(repo, base, input.base === undefined);
  const existing = await branchHead(repo, branch);
  if (existing !== undefined) return { branch, base, head: existing, created: false };
  try {
    // An empty old value makes update-ref fail if the branch appeared since we looked.
    await updateRef(repo, {
      ref: `refs/heads/${branch}`,
      to: baseHead,
      from: "",
      message: "atomic-scrum: create run branch",
    });
    return { branch, base, head: baseHead, created: true };
  } catch (error) {
    const raced = error instanceof GitError ? await branchHead(repo, branch) : undefined;
    if (raced === undefined) throw error;
    return { branch, base, head: raced, created: false };
  }
}

async function missingBase(repo: Repo, base: string, isDefault: boolean): Promise<ForgeRefusal> {
  const anyCommit = (await repo.text(["rev-list", "-n", "1", "--all"])).trim();
  if (anyCommit === "") {
    return new ForgeRefusal(`${repo.dir} has no commits yet: commit something to ${base} to branch from`);
  }
  const where = isDefault ? "the branch HEAD points to" : "the base branch given";
  return new ForgeRefusal(`${repo.dir}: ${where}, ${JSON.stringify(base)}, has no commits`);
}

import { ForgeRefusal } from "../forge.js";
import { GitError } from "./git.js";
import type { Repo } from "./repo.js";

/** Returns `name` if git accepts it as a branch name; throws {@link ForgeRefusal} otherwise. */
export async function checkBranchName(repo: Repo, name: string): Promise<string> {
  const refuse = (): never => {
    throw new ForgeRefusal(
      `refusing branch name ${JSON.stringify(name)}: git check-ref-format --branch rejects it`,
    );
  };
  // A leading dash would be read as an option; git refuses it as a branch name anyway.
  if (name.startsWith("-")) refuse();
  let normalised: string;
  try {
    normalised = (await repo.text(["check-ref-format", "--branch", name])).trim();
  } catch (error) {
    if (error instanceof GitError) return refuse();
    throw error;
  }
  // `--branch` expands `@{-1}` to the previously checked-out branch: only a literal name is taken.
  if (normalised !== name) refuse();
  return name;
}

/** The commit `refs/heads/<branch>` points to, or undefined when the branch does not exist. */
export async function branchHead(repo: Repo, branch: string): Promise<string | undefined> {
  try {
    return (await repo.text(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`])).trim();
  } catch (error) {
    // --quiet turns "no such ref" into exit status 1 with nothing on stderr.
    if (error instanceof GitError && error.exitCode === 1) return undefined;
    throw error;
  }
}

/** The branch HEAD points to (it may not have commits yet). */
export async function currentBranch(repo: Repo): Promise<string> {
  try {
    return (await repo.text(["symbolic-ref", "--quiet", "--short", "HEAD"])).trim();
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) {
      throw new ForgeRefusal(`${repo.dir}: HEAD is detached, so there is no default base branch; pass base`);
    }
    throw error;
  }
}

/** Branches checked out in any worktree of the repository. */
export async function checkedOutBranches(repo: Repo): Promise<Set<string>> {
  // No -z: it needs git 2.36, and a branch line cannot be split by a newline in a worktree path
  // (at worst such a path adds a name, which refuses more, never less).
  const listing = await repo.text(["worktree", "list", "--porcelain"]);
  const branches = new Set<string>();
  for (const line of listing.split("\n")) {
    if (line.startsWith("branch refs/heads/")) branches.add(line.slice("branch refs/heads/".length));
  }
  return branches;
}

/**
 * Refuses a branch checked out in a worktree: moving it with update-ref would leave that worktree
 * and index looking like they undo the commit, which is touching the user's checkout.
 */
export async function checkNotCheckedOut(repo: Repo, branch: string): Promise<void> {
  if ((await checkedOutBranches(repo)).has(branch)) {
    throw new ForgeRefusal(
      `refusing to write to branch ${JSON.stringify(branch)}: it is checked out in ${repo.dir} or one of its worktrees`,
    );
  }
}

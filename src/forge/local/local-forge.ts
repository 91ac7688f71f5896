import type { Forge } from "../forge.js";
import { type Author, commitChanges } from "./commit-changes.js";
import type { RunGit } from "./git.js";
import { prepareBranch } from "./prepare-branch.js";
import { readContext } from "./read-context.js";
import { openRepo } from "./repo.js";
import { addLabel, findLocalCheck, removeLabel, writeCheck, writeComment, writeStatus } from "./run-files.js";

export interface LocalForgeOptions {
  /** The git repository the run's branch and commits go to. Its checkout is never touched. */
  repoDir: string;
  /** Where comments and status go, as `<runsDir>/<runId>/comments/<name>.md` and `status.md`. */
  runsDir: string;
  /** Lets commits write under `.github/workflows/`. Off by default. */
  allowWorkflows?: boolean;
  /** Author and committer of the forge's commits. Default: Atomic Scrum <atomic-scrum@localhost>. */
  author?: Author;
  /** Runs git; tests pass a wrapper to act between two git commands. Default: the git CLI. */
  runGit?: RunGit;
}

const DEFAULT_AUTHOR: Author = { name: "Atomic Scrum", email: "atomic-scrum@localhost" };

/**
 * A {@link Forge} on a local git repository: the run branch and its commits are written with git
 * plumbing (refs and objects only), comments and status as Markdown files under `runsDir`.
 */
export function createLocalForge(options: LocalForgeOptions): Forge {
  const repo = openRepo(options.repoDir, options.runGit);
  const author = options.author ?? DEFAULT_AUTHOR;
  const allowWorkflows = options.allowWorkflows ?? false;
  return {
    prepareBranch: (input) => prepareBranch(repo, input),
    readContext: (input) => readContext(repo, input),
    commit: (input) => commitChanges(repo, input, { author, allowWorkflows }),
    comment: (input) => writeComment(options.runsDir, input),
    updateStatus: (input) => writeStatus(options.runsDir, input),
    addLabel: (input) => addLabel(options.runsDir, input),
    removeLabel: (input) => removeLabel(options.runsDir, input),
    setCheck: (input) => writeCheck(options.runsDir, input),
    findCheck: (input) => findLocalCheck(options.runsDir, input),
    // A local run's branch is for a person to merge with git; the app never touches the base branch.
    mergePull: async () => ({
      merged: false,
      reason: "a local run is never merged by the app: merge its branch with git",
    }),
    // A local repository has no CI: a checks gate is skipped, and says so in the phase comment.
    ciStatus: async () => ({ state: "unsupported" }),
  };
}

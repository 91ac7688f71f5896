import type { EditPolicy } from "./edit-policy.js";

/**
 * Where a run's work goes: branches, commits and comments. The local forge writes to a git
 * repository on disk; the GitHub forge (src/forge/github) writes through the API. The engine only
 * sees this interface.
 *
 * Every write takes an idempotency `key`. A forge must make a write with a key it has already
 * carried out return the earlier result instead of writing twice: this is what lets a worker
 * killed between "wrote it" and "recorded that it wrote it" restart without duplicates.
 */
export interface Forge {
  /** Creates `branch` from `base` (default: the repository's default branch) unless it exists. */
  prepareBranch(input: PrepareBranchInput): Promise<BranchInfo>;
  /** Reads the files at the branch head whose paths match any glob, within limits. */
  readContext(input: ReadContextInput): Promise<ContextFiles>;
  /** Commits `changes` on `branch` as one commit. A key already committed returns that commit. */
  commit(input: CommitInput): Promise<CommitResult>;
  /** Posts a comment for the run. A key already posted returns that comment. */
  comment(input: CommentInput): Promise<CommentResult>;
  /** Creates or edits in place the run's single status comment. */
  updateStatus(input: StatusInput): Promise<void>;
  /** Puts `label` on the run's issue (a label already there is no error), so people can find the run. */
  addLabel(input: LabelInput): Promise<void>;
  /** Takes `label` off the run's issue; a label not there is no error. */
  removeLabel(input: LabelInput): Promise<void>;
  /**
   * Creates a check run on a commit, or, given the `id` an earlier write returned, updates it.
   * Writing the same check twice is harmless: the newest check of a name on a commit is the one
   * that counts, on GitHub as here.
   */
  setCheck(input: CheckInput): Promise<CheckResult>;
  /**
   * The newest check of this run named `name` on `headSha`, if one exists: how a check whose
   * creation's answer was lost (a crash, a 502 after the write) is found instead of made twice.
   */
  findCheck(input: FindCheckInput): Promise<FoundCheck | undefined>;
  /**
   * Merges the run's branch at exactly `sha` (the approved commit), when the repository opted in
   * (`merge_after_approval`). A refusal (branch protection, a moved head) is an answer, not an error.
   */
  mergePull(input: MergeInput): Promise<MergeResult>;
  /**
   * Reads the repository's own CI on a commit: the check runs of other apps (never this app's).
   * A forge without CI (a local repository) answers `unsupported`, and the checks gate is skipped.
   */
  ciStatus(input: CiStatusInput): Promise<CiStatus>;
  /**
   * Who has already approved `head` in a way the approval gate counts, as `@login`s: read once
   * when a run reaches its approval phase, so an approval given earlier (during a cooldown, say)
   * is not lost. Read-only. A forge without reviews (a local repository) leaves it out.
   */
  approvalsOnHead?(input: ApprovalsInput): Promise<string[]>;
}

export interface ApprovalsInput {
  /** The run's head: only approvals of this commit count. */
  head: string;
  /** Who started the run (a login): under `prevent_self_review` their own approval does not count. */
  startedBy?: string;
}

export interface CiStatusInput {
  sha: string;
  /** Check-run names that must be present and pass; absent: every check run counts, and one must exist. */
  names?: string[];
}

/**
 * The CI on a commit. `pending`: a counted check has not finished, or a named one has not appeared
 * yet; `none`: no check run counts at all (yet). `failing` and `pending` name what is wrong or
 * unfinished; their text comes from other apps and is untrusted.
 */
export type CiStatus =
  | { state: "unsupported" }
  | {
      state: "pending" | "passed" | "failed" | "none";
      failing: { name: string; conclusion: string; title?: string }[];
      pending: string[];
      /** How many check runs counted (passed ones included). */
      counted: number;
    };

export type CheckConclusion =
  | "success"
  | "failure"
  | "neutral"
  | "cancelled"
  | "timed_out"
  | "action_required";

export interface CheckInput {
  runId: string;
  /** Stable across runs and pipelines, so branch protection can require it: `Atomic Scrum / human approval`. */
  name: string;
  headSha: string;
  /** The check run's id from an earlier write: it is updated instead of created. */
  id?: string;
  status: "queued" | "in_progress" | "completed";
  /** Required when `status` is `completed`. */
  conclusion?: CheckConclusion;
  title: string;
  /** Markdown, shown on the check's page. */
  summary: string;
}

export type MergeMethod = "merge" | "squash" | "rebase";

export interface MergeInput {
  sha: string;
  method: MergeMethod;
}

export type MergeResult = { merged: true } | { merged: false; reason: string };

export interface FindCheckInput {
  runId: string;
  name: string;
  headSha: string;
}

export interface FoundCheck {
  id: string;
  completed: boolean;
}

export interface CheckResult {
  id: string;
}

export interface LabelInput {
  runId: string;
  label: string;
}

export interface PrepareBranchInput {
  branch: string;
  base?: string;
}

export interface BranchInfo {
  branch: string;
  /** The branch the run branch was created from. */
  base: string;
  /** Commit SHA at the branch head. */
  head: string;
  created: boolean;
}

export interface ReadContextInput {
  branch: string;
  globs: string[];
  maxFiles: number;
  maxBytes: number;
}

export interface ContextFiles {
  files: { path: string; content: string }[];
  /** What was left out and why, so limits are reported instead of silently cutting. */
  omitted: { path: string; reason: string }[];
}

/**
 * One file an edit writes (its complete new content, UTF-8 text) or deletes. `path` is relative to
 * the repository root and comes from untrusted input: every forge checks it, and the edit's size,
 * with `checkEdit` (src/forge/check-commit.ts) before writing anything.
 */
export type FileChange = { path: string; content: string } | { path: string; delete: true };

export interface CommitInput {
  branch: string;
  /** Full commit message; the forge appends an `Atomic-Scrum-Key: <key>` trailer. */
  message: string;
  changes: FileChange[];
  key: string;
  /**
   * The run's edit policy (the repository's `edits:`): sensitive areas it may write and its caps.
   * Absent: the defaults, which refuse every sensitive area.
   */
  edits?: EditPolicy;
}

export interface CommitResult {
  sha: string;
  /** False when the key had already been committed and the earlier commit was returned. */
  created: boolean;
}

export interface CommentInput {
  runId: string;
  key: string;
  /** A short, file-name-safe name such as `03-code-review`, used by the local forge. */
  name: string;
  body: string;
}

export interface CommentResult {
  id: string;
  created: boolean;
}

export interface StatusInput {
  runId: string;
  body: string;
}

/** A write the forge refuses on principle (a path outside the repository, say). Never retried. */
export class ForgeRefusal extends Error {
  override name = "ForgeRefusal";
}

/**
 * The forge can no longer reach the repository: the installation was removed, the repository was
 * deleted or hidden. Retrying cannot help, so the run ends with this reason.
 */
export class ForgeUnreachable extends Error {
  override name = "ForgeUnreachable";
}

/**
 * The forge was told to wait (GitHub's rate limits): nothing is wrong with the run, and nothing
 * may be sent before `until` (epoch ms). The worker puts the job off until then without counting
 * the attempt; it never ends a run.
 */
export class ForgeRateLimited extends Error {
  override name = "ForgeRateLimited";
  constructor(
    message: string,
    readonly until: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

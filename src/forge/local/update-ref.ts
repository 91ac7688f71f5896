import { rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { GitError } from "./git.js";
import type { Repo } from "./repo.js";

/** Refs only the app writes: a stale lock on one of them is ours to clear. */
export const OWNED_REF_PREFIX = "refs/heads/atomic-scrum/";

export interface StaleLockOptions {
  /**
   * A ref lock at least this old (by its mtime, or by how long we have watched it) is held by no
   * live git: `update-ref` holds one for the milliseconds between creating it and renaming it over
   * the ref. Default 2 000 ms.
   */
  staleMs?: number;
  /** How often to look again while a younger lock may still belong to a running git. Default 50 ms. */
  pollMs?: number;
}

/** A ref git would not update because its `.lock` file exists and is not ours to remove. */
export class RefLockedError extends Error {
  override name = "RefLockedError";
}

const DEFAULT_STALE_MS = 2_000;
const DEFAULT_POLL_MS = 50;

/**
 * `git update-ref -m message ref to from` (from "" means the ref must not exist yet). When git
 * refuses because `<ref>.lock` exists, a lock on a ref the app owns is taken to be left by a git
 * killed mid-update (power loss, the OOM killer, a container stop) once it is `staleMs` old; it is
 * removed and the update tried once more. A younger lock is waited for, on any ref: a git whose
 * parent was killed alone, or a person's git, may still be finishing. A stale lock on any other
 * ref is reported with the file to remove, never removed: it is not ours to judge.
 *
 * Removing it is safe because only the worker holding the run's job lease writes the run's branch,
 * and a lease is taken only from a process that is gone or whose lease ran out.
 *
 * @throws GitError with git's own message when the update fails for another reason.
 */
export async function updateRef(
  repo: Repo,
  input: { ref: string; to: string; from: string; message: string },
  options: StaleLockOptions = {},
): Promise<void> {
  const args = ["update-ref", "-m", input.message, input.ref, input.to, input.from];
  try {
    await repo.text(args);
    return;
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    const lock = await lockPath(repo, input.ref);
    const left = await waitForLock(lock, options);
    if (left === "none") throw error;
    if (left === "stale") {
      if (!input.ref.startsWith(OWNED_REF_PREFIX)) {
        throw new RefLockedError(
          `${input.ref} is locked by ${lock}: if no git process is running in ${repo.dir}, a crashed one left it; ` +
            `remove the file and retry (git said: ${error.stderr.trim()})`,
          { cause: error },
        );
      }
      await rm(lock, { force: true });
    }
    // Stale and removed, or gone because its git finished: the update can go ahead now.
  }
  // Once more only: a lock that comes back at once is a live writer, and its error is the answer.
  await repo.text(args);
}

/** Where git puts the lock of `ref`, asked of git so linked worktrees and GIT_COMMON_DIR are right. */
async function lockPath(repo: Repo, ref: string): Promise<string> {
  return resolve(repo.dir, (await repo.text(["rev-parse", "--git-path", `${ref}.lock`])).trim());
}

/**
 * "none" when git failed with no lock there (another reason), "gone" when the lock went away while
 * we waited (its git finished), "stale" once it is `staleMs` old.
 */
async function waitForLock(lock: string, options: StaleLockOptions): Promise<"none" | "gone" | "stale"> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const started = Date.now();
  for (let first = true; ; first = false) {
    const age = await lockAge(lock);
    if (age === undefined) return first ? "none" : "gone";
    // Watched for staleMs ourselves, it is stale whatever its mtime says: an mtime ahead of our
    // clock (the clock set back after the crash, another host's file system) would keep it
    // "young" until the clock caught up, the job waiting silently all that while.
    const watched = Date.now() - started;
    if (Math.max(age, watched) >= staleMs) return "stale";
    await new Promise((done) => setTimeout(done, Math.min(pollMs, staleMs - Math.max(age, watched))));
  }
}

/** The age of the lock file in ms; undefined when there is none, or something other than a file. */
async function lockAge(lock: string): Promise<number | undefined> {
  try {
    const info = await stat(lock);
    // git's locks are plain files; anything else there is not a lock we understand, so not ours to remove.
    return info.isFile() ? Math.max(0, Date.now() - info.mtimeMs) : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

import { type Dirent, readdirSync, rmSync, statSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { processAlive } from "../../util/process-alive.js";
import { INDEX_DIR_PREFIX, indexDirOwner, isOnHost, type TempOwner, tempFileOwner } from "./temp-names.js";

export interface RemoveStaleTempOptions {
  /** The run folders: `<runsDir>/<runId>/` and its `comments/` get atomic writes' temp files. */
  runsDir: string;
  /** Where temporary indexes go. Default: the OS temp folder (TMPDIR). */
  tmpDir?: string;
  now?: number;
  host?: string;
  isAlive?: (pid: number) => boolean;
  /**
   * A temp file whose owner cannot be checked (another host sharing the folder, or a name from
   * before owners were in names) is removed once this old. Default 1 h: an atomic write or a
   * tree build takes seconds.
   */
  maxUnknownAgeMs?: number;
  /** Told of a stale file that could not be removed (another user's, in a shared TMPDIR). */
  warn?: (text: string) => void;
}

const DEFAULT_MAX_UNKNOWN_AGE_MS = 60 * 60 * 1000;

/**
 * Removes the temporary index folders and atomic-write temp files that a killed process left:
 * those whose owner is a process on this host that has died, and those of an owner we cannot
 * check once they are old. A live process's files, here or on another host, are left alone. One
 * that cannot be removed is skipped (and passed to `warn`).
 *
 * @returns the paths removed.
 */
export function removeStaleTempFiles(options: RemoveStaleTempOptions): string[] {
  const now = options.now ?? Date.now();
  const host = options.host ?? hostname();
  const isAlive = options.isAlive ?? processAlive;
  const maxAge = options.maxUnknownAgeMs ?? DEFAULT_MAX_UNKNOWN_AGE_MS;
  const stale = (path: string, owner: TempOwner | undefined): boolean => {
    if (owner && isOnHost(owner, host)) return !isAlive(owner.pid);
    const modified = mtimeOf(path);
    return modified !== undefined && now - modified >= maxAge;
  };
  const removed: string[] = [];
  const remove = (path: string): void => {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (error) {
      // TMPDIR is shared with every user of the host (sticky bit): another user's leftovers are
      // theirs to remove. Clean-up is a courtesy; it must never stop the app from starting.
      options.warn?.(`could not remove the stale temporary ${path}: ${(error as Error).message}`);
      return;
    }
    removed.push(path);
  };
  const tmp = options.tmpDir ?? tmpdir();
  for (const entry of entries(tmp)) {
    if (!entry.isDirectory() || !entry.name.startsWith(INDEX_DIR_PREFIX)) continue;
    const path = join(tmp, entry.name);
    if (stale(path, indexDirOwner(entry.name))) remove(path);
  }
  for (const run of entries(options.runsDir)) {
    if (!run.isDirectory()) continue;
    for (const dir of [join(options.runsDir, run.name), join(options.runsDir, run.name, "comments")]) {
      for (const entry of entries(dir)) {
        const temp = entry.isFile() ? tempFileOwner(entry.name) : undefined;
        const path = join(dir, entry.name);
        if (temp && stale(path, temp.owner)) remove(path);
      }
    }
  }
  return removed;
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined; // gone already: another process cleaned it
  }
}

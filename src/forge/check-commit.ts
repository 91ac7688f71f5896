import { checkGitmodules } from "./check-gitmodules.js";
import { DEFAULT_EDIT_LIMITS, type EditLimits } from "./edit-policy.js";
import { type FileChange, ForgeRefusal } from "./forge.js";
import { hasKeyTrailer } from "./local/find-keyed-commit.js";
import { checkWritablePath, type WritablePathOptions } from "./paths.js";
import { comparable, sensitiveArea } from "./sensitive-paths.js";

/** Which areas an edit may write, and its caps (the defaults where not given). */
export type EditOptions = WritablePathOptions & Partial<EditLimits>;

/**
 * Checks a whole edit before anything is written and returns its changes with normalised paths:
 * the file count, each path ({@link checkWritablePath}), two paths that are one file on Windows
 * or macOS, each file's size and the total. Throws {@link ForgeRefusal} naming the limit and the
 * setting that raises it. Both forges call it on every commit, and the worker on every model
 * answer, so no way of committing skips it.
 */
export function checkEdit(changes: readonly FileChange[], options: EditOptions = {}): FileChange[] {
  const limits = { ...DEFAULT_EDIT_LIMITS, ...definedLimits(options) };
  if (changes.length > limits.maxFiles) {
    throw new ForgeRefusal(
      `refusing the edit: it changes ${changes.length} files and one commit may change at most ${limits.maxFiles}; split the work, or raise edits.max_files`,
    );
  }
  const checked = changes.map((change) => checkChange(change, options));
  const paths = new Set<string>();
  const written = new Map<string, string>();
  let total = 0;
  for (const change of checked) {
    if (paths.has(change.path)) {
      throw new ForgeRefusal(`refusing the edit: it changes ${JSON.stringify(change.path)} twice`);
    }
    paths.add(change.path);
    if (!("content" in change)) continue;
    // `README.md` and `readme.md` are two files to git and one on a case-insensitive checkout,
    // which then shows whichever was written last. (Deleting one and writing the other is a
    // rename, and fine.)
    const same = change.path.split("/").map(comparable).join("/");
    const earlier = written.get(same);
    if (earlier !== undefined) {
      throw new ForgeRefusal(
        `refusing the edit: ${JSON.stringify(earlier)} and ${JSON.stringify(change.path)} are one file on Windows and macOS`,
      );
    }
    written.set(same, change.path);
    const size = Buffer.byteLength(change.content, "utf8");
    if (size > limits.maxFileBytes) {
      throw new ForgeRefusal(
        `refusing to write ${JSON.stringify(change.path)}: it is ${size} bytes and a file may have at most ${limits.maxFileBytes}; raise edits.max_file_bytes to allow it`,
      );
    }
    total += size;
    if (sensitiveArea(change.path.split("/")) === "submodules") checkGitmodules(change.path, change.content);
  }
  if (total > limits.maxTotalBytes) {
    throw new ForgeRefusal(
      `refusing the edit: its files hold ${total} bytes together and one commit may write at most ${limits.maxTotalBytes}; split the work, or raise edits.max_total_bytes`,
    );
  }
  return checked;
}

function definedLimits(options: EditOptions): Partial<EditLimits> {
  const limits: Partial<EditLimits> = {};
  if (options.maxFileBytes !== undefined) limits.maxFileBytes = options.maxFileBytes;
  if (options.maxFiles !== undefined) limits.maxFiles = options.maxFiles;
  if (options.maxTotalBytes !== undefined) limits.maxTotalBytes = options.maxTotalBytes;
  return limits;
}

/** A change with its path checked and normalised; a path that may not be written is refused. */
export function checkChange(change: FileChange, options: WritablePathOptions): FileChange {
  const path = checkWritablePath(change.path, options);
  return "delete" in change ? { path, delete: true } : { path, content: change.content };
}

/**
 * A commit message both forges accept: not empty, no NUL (git refuses it; say so before anything
 * is written), and no key line of its own, since model text could otherwise fake another write's key.
 */
export function checkMessage(message: string): string {
  if (message.trim() === "") throw new ForgeRefusal("refusing to commit: the commit message is empty");
  if (message.includes("\0")) throw new ForgeRefusal("refusing to commit: the commit message contains NUL");
  if (hasKeyTrailer(message)) {
    throw new ForgeRefusal(
      "refusing to commit: the message carries its own Atomic-Scrum-Key line; the forge adds it",
    );
  }
  return message;
}

import { ForgeRefusal } from "./forge.js";

export interface WritablePathOptions {
  /** Lets a run write under `.github/workflows/`, which can run code with the repository's secrets. */
  allowWorkflows?: boolean;
}

// C0 controls, DEL and C1 controls: they hide in terminals and logs, and NUL truncates C strings.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const WINDOWS_DRIVE = /^[A-Za-z]:/;
// Code points HFS+ ignores when comparing names, so `.g\u200cit` is `.git` on a Mac (CVE-2014-9390).
const IGNORABLE = /[\u200b-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * Checks a repository-relative path that untrusted input (model output, issue text) asks to write
 * and returns it normalised (`./a//b` becomes `a/b`). Throws {@link ForgeRefusal} naming the path
 * and the rule it breaks. Pure: it never looks at a disk, so the local and GitHub forges share it.
 */
export function checkWritablePath(path: string, options: WritablePathOptions = {}): string {
  const refuse = (rule: string): never => {
    throw new ForgeRefusal(`refusing to write ${JSON.stringify(path)}: ${rule}`);
  };
  if (path === "") refuse("the path is empty");
  if (CONTROL.test(path)) refuse("it contains a NUL or control character");
  if (path.includes("\\")) refuse("it contains a backslash; use / to separate directories");
  if (path.startsWith("/")) refuse("it is absolute; give a path relative to the repository root");
  if (WINDOWS_DRIVE.test(path)) refuse("it is an absolute Windows path (drive letter)");
  if (path.endsWith("/")) refuse("it names a directory (trailing /), not a file");
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.length === 0) refuse("it names the repository root, not a file");
  // Any `..` is refused, even `a/../b`: no legitimate change needs one, and resolving them is
  // exactly where escapes hide.
  if (segments.includes("..")) refuse("it contains a .. segment");
  // Windows drops trailing dots and spaces, so `...` or ` ` would name the directory itself.
  if (segments.some((segment) => /^[. ]+$/.test(segment))) {
    refuse("it has a segment made only of dots or spaces");
  }
  if (segments.some(isGitDirName)) refuse("it is inside a .git directory, which holds hooks and config");
  if (!options.allowWorkflows && isWorkflowPath(segments)) {
    refuse("it is under .github/workflows/, which needs allowWorkflows");
  }
  return segments.join("/");
}

/** Names that Git, Windows or macOS may treat as `.git` (see git's `is_ntfs_dotgit`). */
function isGitDirName(segment: string): boolean {
  const name = comparable(segment);
  return name === ".git" || name === "git~1";
}

function isWorkflowPath(segments: string[]): boolean {
  const [first, second] = segments;
  return (
    first !== undefined &&
    second !== undefined &&
    comparable(first) === ".github" &&
    comparable(second) === "workflows"
  );
}

/**
 * The name as a case-insensitive file system sees it: Windows drops trailing dots and spaces and
 * reads `name:stream` as `name`, HFS+ drops ignorable code points.
 */
function comparable(segment: string): string {
  const stream = segment.indexOf(":");
  const name = stream === -1 ? segment : segment.slice(0, stream);
  return name
    .replace(IGNORABLE, "")
    .replace(/[. ]+$/, "")
    .toLowerCase();
}

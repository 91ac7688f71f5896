import { ForgeRefusal } from "./forge.js";
import { comparable, matchesName, type SensitiveArea, sensitiveArea } from "./sensitive-paths.js";

export interface WritablePathOptions {
  /**
   * Sensitive areas this run may write (see {@link SENSITIVE_AREAS}); every other one is refused.
   * From the repository's `edits.allow`.
   */
  allow?: readonly SensitiveArea[];
  /** The same as `allow: ["workflows"]`; kept for callers written before `allow`. */
  allowWorkflows?: boolean;
}

/** What lets a run write each sensitive area, for the refusal's message. */
const OPT_IN: Record<SensitiveArea, string> = {
  workflows: "it is under .github/workflows/, which runs with the repository's secrets",
  submodules: "it is a .gitmodules file, whose URLs (ext::, file://) git fetches and can run",
  attributes:
    "it is a .gitattributes or .lfsconfig file, which changes what checkout writes and what review shows",
  hooks:
    "it is a git hook manager's file or folder (husky, lefthook, pre-commit and the like), run on git commit",
};

// C0 controls, DEL and C1 controls: they hide in terminals and logs, and NUL truncates C strings.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Characters that change how a name reads without being seen: bidi embeddings, overrides, isolates
// and marks (a name that shows as `txt.exe` and is `exe.txt`, CVE-2021-42574), line and paragraph
// separators (they split a name across lines in logs and diffs), every other format or
// default-ignorable character (zero-width joiners, soft hyphen, Hangul fillers, variation
// selectors, tags), spaces other than U+0020 (a no-break space looks like one), private-use
// characters and lone surrogates (UTF-8 cannot hold them: the name written would not be the name
// checked). No file needs one, so they are refused outright, with no opt-in.
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}]|[^\P{Zs} ]/u;
const WINDOWS_DRIVE = /^[A-Za-z]:/;
/**
 * macOS's PATH_MAX is 1024 bytes and NAME_MAX 255 on every common file system (ext4, APFS, NTFS in
 * UTF-16 units, which never outnumber UTF-8 bytes). Longer paths commit but cannot be checked out.
 */
export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;

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
  const invisible = INVISIBLE.exec(path)?.[0];
  if (invisible !== undefined) {
    refuse(`it contains ${codePoint(invisible)}, an invisible or direction-changing character`);
  }
  const bytes = Buffer.byteLength(path, "utf8");
  if (bytes > MAX_PATH_BYTES) refuse(`it is ${bytes} bytes long; paths may have at most ${MAX_PATH_BYTES}`);
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
  const long = segments.find((segment) => Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES);
  if (long !== undefined) refuse(`a file or folder name in it is over ${MAX_SEGMENT_BYTES} bytes`);
  if (segments.some(isGitDirName)) refuse("it is inside a .git directory, which holds hooks and config");
  const area = sensitiveArea(segments);
  if (area !== undefined && !allows(options, area)) {
    const setting =
      area === "workflows" ? "edits.allow: [workflows] (allowWorkflows)" : `edits.allow: [${area}]`;
    refuse(`${OPT_IN[area]}; the repository can allow it with ${setting}`);
  }
  return segments.join("/");
}

function allows(options: WritablePathOptions, area: SensitiveArea): boolean {
  return (options.allow ?? []).includes(area) || (area === "workflows" && options.allowWorkflows === true);
}

function codePoint(character: string): string {
  return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Names that Git, Windows or macOS may treat as `.git` (see git's `is_ntfs_dotgit`). */
function isGitDirName(segment: string): boolean {
  return matchesName(segment, ".git") || comparable(segment) === "git~1";
}

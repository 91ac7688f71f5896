/**
 * Areas of a repository a run may not write unless the repository opts in (`edits.allow`): each
 * makes GitHub, git or a developer's machine run commands or rewrite content without anyone
 * running the project's code on purpose (issue 11, class 8).
 *
 * - `workflows`: `.github/workflows/` runs with the repository's secrets on push.
 * - `submodules`: `.gitmodules` points a clone at other repositories, with URLs such as
 *   `ext::sh -c ...` that run commands on `git submodule update`.
 * - `attributes`: `.gitattributes` (read in every directory) picks filters and diff drivers,
 *   rewrites line endings and encodings on checkout, and hides a diff from review
 *   (`-diff`, `linguist-generated`); `.lfsconfig` sends LFS downloads to another server.
 * - `hooks`: the files hook managers read from the working tree on `git commit` or `git push`
 *   once their hooks are installed (husky, lefthook, pre-commit, simple-git-hooks, overcommit,
 *   lint-staged, a `core.hooksPath` folder). A reviewer who checks the branch out and commits
 *   runs them.
 *
 * Harmless and left writable: `.gitignore`, `.mailmap`, `.git-blame-ignore-revs` (display only),
 * `.github/CODEOWNERS` (GitHub reads the base branch's). Package-manager files (`package.json`,
 * `.npmrc`, `.yarnrc.yml`) run code too, but only when someone runs the package manager, as with
 * any source file, so refusing them would refuse ordinary work.
 */
export const SENSITIVE_AREAS = ["workflows", "submodules", "attributes", "hooks"] as const;
export type SensitiveArea = (typeof SENSITIVE_AREAS)[number];

// Code points HFS+ ignores when comparing names, so `.g\u200cit` is `.git` on a Mac (CVE-2014-9390).
const IGNORABLE = /[\u200b-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/** File or folder names (at any depth, compared as {@link comparable}) in each area. */
const NAMES: Record<Exclude<SensitiveArea, "workflows">, RegExp> = {
  submodules: /^\.gitmodules$/,
  attributes: /^\.(gitattributes|lfsconfig)$/,
  hooks:
    /^(\.husky|\.githooks|\.git-hooks|\.hooks|\.lefthook|\.lefthook-local|\.?lefthook(-local)?\.(ya?ml|json|jsonc|toml)|\.pre-commit-config\.ya?ml|\.?simple-git-hooks(\.c?js|\.mjs|\.json)?|\.overcommit\.ya?ml|\.lintstagedrc(\..+)?|lint-staged\.config\..+)$/,
};

/**
 * Names Windows and git treat as these files, as git lists them (`is_ntfs_dotgitmodules`):
 * NTFS 8.3 short names made from a hash once four names share a prefix.
 */
const HASHED_SHORT_NAMES: Partial<Record<SensitiveArea, RegExp>> = {
  submodules: /^gi7eba~[1-9]$/,
  attributes: /^gi7d29~[1-9]$/,
};

/** Which sensitive area `segments` (a normalised path, split on `/`) is in, if any. */
export function sensitiveArea(segments: string[]): SensitiveArea | undefined {
  const [first, second] = segments;
  if (
    first !== undefined &&
    second !== undefined &&
    matchesName(first, ".github") &&
    matchesName(second, "workflows")
  ) {
    return "workflows";
  }
  for (const area of ["submodules", "attributes", "hooks"] as const) {
    const names = NAMES[area];
    const hashed = HASHED_SHORT_NAMES[area];
    for (const segment of segments) {
      const name = comparable(segment);
      if (names.test(name) || hashed?.test(name) || shortNameIn(name, names)) return area;
    }
  }
  return undefined;
}

/** Whether `segment` is `name` on some file system git checks out to. */
export function matchesName(segment: string, name: string): boolean {
  const seen = comparable(segment);
  return seen === name || isShortNameOf(seen, name);
}

/**
 * The name as a case-insensitive file system sees it: Windows drops trailing dots and spaces and
 * reads `name:stream` as `name`, HFS+ drops ignorable code points. Upper then lower case folds
 * the letters NTFS's upcase table maps onto ASCII (`ſ` is `S`, `ı` is `I`, the Kelvin sign is `k`),
 * so `.gitmoduleſ` does not slip past as a different name.
 */
export function comparable(segment: string): string {
  const stream = segment.indexOf(":");
  const name = stream === -1 ? segment : segment.slice(0, stream);
  return name
    .normalize("NFC")
    .replace(IGNORABLE, "")
    .replace(/[. ]+$/, "")
    .toUpperCase()
    .toLowerCase();
}

// An NTFS 8.3 short name: at most six characters, `~` and a number, an optional extension.
const SHORT_NAME = /^([^.~]{1,6})~[1-9][0-9]*(\.[^.]{0,3})?$/;

/**
 * Whether `seen` (already {@link comparable}) could be the NTFS 8.3 short name Windows gives
 * `name`, so that writing it reaches an existing `name`: `HUSKY~1` is `.husky`, `GITMOD~1` is
 * `.gitmodules`. Windows drops leading and inner dots and keeps the stem's first six characters.
 */
function isShortNameOf(seen: string, name: string): boolean {
  const prefix = SHORT_NAME.exec(seen)?.[1];
  return prefix !== undefined && prefix === stem(name).slice(0, 6);
}

/** Whether `seen` is the short name of one of the names `names` matches. */
function shortNameIn(seen: string, names: RegExp): boolean {
  return KNOWN_NAMES.some((known) => names.test(known) && isShortNameOf(seen, known));
}

function stem(name: string): string {
  const dotless = name.replace(/^\.+/, "");
  const lastDot = dotless.lastIndexOf(".");
  return (lastDot > 0 ? dotless.slice(0, lastDot) : dotless).replace(/[. ]/g, "");
}

// Spelled-out names of the patterns above, for the short-name check (a pattern cannot be
// reversed into the names it matches).
const KNOWN_NAMES = [
  ".gitmodules",
  ".gitattributes",
  ".lfsconfig",
  ".husky",
  ".githooks",
  ".git-hooks",
  ".hooks",
  ".lefthook",
  ".lefthook-local",
  "lefthook.yml",
  ".lefthook.yml",
  "lefthook-local.yml",
  ".pre-commit-config.yaml",
  ".simple-git-hooks.json",
  "simple-git-hooks.json",
  ".overcommit.yml",
  ".lintstagedrc",
  "lint-staged.config.js",
];

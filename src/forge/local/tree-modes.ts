import type { Repo } from "./repo.js";

/** Git's file modes for the entries we care about. */
export const MODE = { file: "100644", executable: "100755", symlink: "120000", tree: "040000" } as const;

/**
 * The mode of each of `paths` and of every directory above them in `commit`'s tree, keyed by path.
 * A path missing from the map does not exist (or sits below a symlink, which git does not follow).
 */
export async function treeModes(repo: Repo, commit: string, paths: string[]): Promise<Map<string, string>> {
  const wanted = new Set<string>();
  for (const path of paths) {
    for (const prefix of pathAndParents(path)) wanted.add(prefix);
  }
  const modes = new Map<string, string>();
  if (wanted.size === 0) return modes;
  // Without -r, ls-tree shows exactly the named entries; -t adds the trees it walks through.
  const listing = await repo.text(["ls-tree", "-t", "-z", commit, "--", ...wanted]);
  for (const entry of listing.split("\0")) {
    const tab = entry.indexOf("\t");
    if (tab === -1) continue;
    const [mode] = entry.slice(0, tab).split(" ");
    if (mode) modes.set(entry.slice(tab + 1), mode);
  }
  return modes;
}

/** `a/b/c` gives `a`, `a/b`, `a/b/c`. */
export function pathAndParents(path: string): string[] {
  const segments = path.split("/");
  return segments.map((_, index) => segments.slice(0, index + 1).join("/"));
}

import type { FileChange } from "../forge.js";
import { ForgeRefusal } from "../forge.js";
import { MODE, pathAndParents } from "./tree-modes.js";

/**
 * Refuses changes the tree cannot take as asked: a write through a symlinked directory (it would
 * land outside the repository on checkout), a path that is both a file and a directory, a delete
 * of something that is not a file, or the same path twice. `modes` comes from {@link treeModes}.
 */
export function checkTreeChanges(changes: FileChange[], modes: Map<string, string>): void {
  const seen = new Set<string>();
  const deleted = new Set(changes.filter((change) => "delete" in change).map((change) => change.path));
  const written = changes.filter((change) => !("delete" in change)).map((change) => change.path);
  for (const change of changes) {
    const refuse = (rule: string): never => {
      throw new ForgeRefusal(`refusing to ${verb(change)} ${JSON.stringify(change.path)}: ${rule}`);
    };
    if (seen.has(change.path)) refuse("the path appears twice in one commit");
    seen.add(change.path);
    for (const parent of pathAndParents(change.path).slice(0, -1)) {
      const mode = modes.get(parent);
      if (mode === MODE.symlink) refuse(`${parent} is a symlink, and writes never go through symlinks`);
      if (mode !== undefined && mode !== MODE.tree && !deleted.has(parent)) refuse(`${parent} is a file`);
    }
    const own = modes.get(change.path);
    if (own === MODE.tree) refuse("it is a directory");
    if ("delete" in change && own === undefined) refuse("there is no such file at the branch head");
    if (written.some((other) => other.startsWith(`${change.path}/`))) {
      refuse("the same commit also writes a file below it");
    }
  }
}

function verb(change: FileChange): string {
  return "delete" in change ? "delete" : "write";
}

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileChange } from "../forge.js";
import type { Repo } from "./repo.js";
import { indexDirPrefix } from "./temp-names.js";
import { MODE } from "./tree-modes.js";

/**
 * Writes `changes` on top of `parent`'s tree and returns the new tree's id. Uses a throwaway
 * index (GIT_INDEX_FILE) so the user's index and working tree are never read or written.
 * `modes` (from {@link treeModes}) keeps an executable file executable when it is rewritten.
 */
export async function buildTree(
  repo: Repo,
  parent: string,
  changes: FileChange[],
  modes: Map<string, string>,
): Promise<string> {
  const entries = await indexEntries(repo, parent, changes, modes);
  // The owner in the name lets a later start remove the folder if this process is killed meanwhile.
  const dir = await mkdtemp(join(tmpdir(), indexDirPrefix()));
  try {
    const env = { GIT_INDEX_FILE: join(dir, "index") };
    await repo.text(["read-tree", parent], { env });
    await repo.text(["update-index", "-z", "--index-info"], { env, input: entries.join("") });
    return (await repo.text(["write-tree"], { env })).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `--index-info` lines; deletes come first so a file can make way for a directory of that name. */
async function indexEntries(
  repo: Repo,
  parent: string,
  changes: FileChange[],
  modes: Map<string, string>,
): Promise<string[]> {
  // Mode 0 with the all-zero id removes the entry; the id is as long as the repository's hashes.
  const zero = "0".repeat(parent.length);
  const deletes = changes
    .filter((change) => "delete" in change)
    .map((change) => `0 ${zero}\t${change.path}\0`);
  const writes: string[] = [];
  for (const change of changes) {
    if ("delete" in change) continue;
    const blob = await writeBlob(repo, change.content);
    const mode = modes.get(change.path) === MODE.executable ? MODE.executable : MODE.file;
    writes.push(`${mode} ${blob}\t${change.path}\0`);
  }
  return [...deletes, ...writes];
}

async function writeBlob(repo: Repo, content: string): Promise<string> {
  // --no-filters stores the bytes as given: no CRLF conversion or clean filter from the user's config.
  return (await repo.text(["hash-object", "-w", "--no-filters", "--stdin"], { input: content })).trim();
}

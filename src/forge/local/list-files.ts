import type { Repo } from "./repo.js";

export interface TreeFile {
  path: string;
  mode: string;
  /** Blob id (for a submodule, the commit it pins). */
  object: string;
  /** Size in bytes; undefined for a submodule, which has no blob. */
  size: number | undefined;
}

/** Every file in `commit`'s tree (recursively), sorted by path so results are deterministic. */
export async function listFiles(repo: Repo, commit: string): Promise<TreeFile[]> {
  const listing = await repo.text(["ls-tree", "-r", "-z", "--long", commit]);
  const files: TreeFile[] = [];
  for (const entry of listing.split("\0")) {
    const tab = entry.indexOf("\t");
    if (tab === -1) continue;
    // "<mode> <type> <object> <padded size>": the size is "-" for a submodule.
    const [mode, , object, size] = entry.slice(0, tab).split(/ +/);
    if (mode === undefined || object === undefined) continue;
    const bytes = size === undefined || size === "-" ? undefined : Number(size);
    files.push({ path: entry.slice(tab + 1), mode, object, size: bytes });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The contents of `objects` (blob ids), read with one `git cat-file --batch`. */
export async function readBlobs(repo: Repo, objects: string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  if (objects.length === 0) return blobs;
  const output = await repo.bytes(["cat-file", "--batch"], { input: `${objects.join("\n")}\n` });
  let offset = 0;
  while (offset < output.length) {
    const newline = output.indexOf(0x0a, offset);
    if (newline === -1) break;
    const [object, type, size] = output.subarray(offset, newline).toString("utf8").split(" ");
    if (object === undefined || type === "missing" || size === undefined) {
      offset = newline + 1;
      continue;
    }
    const start = newline + 1;
    const end = start + Number(size);
    blobs.set(object, output.subarray(start, end));
    offset = end + 1; // contents are followed by a newline
  }
  return blobs;
}

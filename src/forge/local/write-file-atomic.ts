import { link, open, rename, rm } from "node:fs/promises";
import { tempFileFor } from "./temp-names.js";

/**
 * Replaces `file` with `content` so a reader (or a restart after a crash) sees the old file or the
 * new one, never half of it: the content goes to a temporary file in the same directory, is
 * flushed to disk, then renamed over `file`.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = await writeTemp(file, content);
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Creates `file` with `content`, complete or not at all, unless it already exists. Returns false
 * when it existed. A hard link, unlike rename, fails instead of replacing an existing file.
 */
export async function writeFileExclusive(file: string, content: string): Promise<boolean> {
  const temp = await writeTemp(file, content);
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

async function writeTemp(file: string, content: string): Promise<string> {
  // Named for this process, so a start after a kill can tell it was left behind (removeStaleTempFiles).
  const temp = tempFileFor(file);
  const handle = await open(temp, "wx");
  try {
    await handle.writeFile(content, "utf8");
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

import { type FileChange, ForgeRefusal } from "./forge.js";
import { hasKeyTrailer } from "./local/find-keyed-commit.js";
import { checkWritablePath, type WritablePathOptions } from "./paths.js";

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

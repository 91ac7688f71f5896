import { ForgeRefusal } from "../forge.js";

const FILE_NAME = /^[A-Za-z0-9._-]+$/;

/** Returns `name` if it is safe as one file name; throws {@link ForgeRefusal} naming `what`. */
export function checkFileName(name: string, what: string): string {
  if (!FILE_NAME.test(name) || name === "." || name === "..") {
    throw new ForgeRefusal(
      `refusing ${what} ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-" only, not "." or ".."`,
    );
  }
  return name;
}

import { ForgeRefusal } from "../forge.js";

// git check-ref-format's rules, enough to refuse what GitHub would refuse or misread.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const FORBIDDEN = /[\u0000-\u0020\u007f~^:?*[\\]|\.\.|@\{|\/\/|^[-/.]|[/.]$|\.lock$|\/\./;

/** Returns `name` if git and GitHub accept it as a branch name; throws {@link ForgeRefusal}. */
export function checkBranchName(name: string): string {
  if (name === "" || name === "@" || FORBIDDEN.test(name)) {
    throw new ForgeRefusal(`refusing branch name ${JSON.stringify(name)}: not a valid git branch name`);
  }
  return name;
}

import { type GitOptions, type RunGit, runGit } from "./git.js";

/** One repository on disk and the way to run git in it. */
export interface Repo {
  dir: string;
  /** Runs git in the repository; resolves to stdout as bytes. */
  bytes(args: string[], options?: Omit<GitOptions, "cwd">): Promise<Buffer>;
  /** Runs git in the repository; resolves to stdout as UTF-8 text. */
  text(args: string[], options?: Omit<GitOptions, "cwd">): Promise<string>;
}

/** Binds `run` (the real git CLI unless a test passes its own) to the repository at `dir`. */
export function openRepo(dir: string, run: RunGit = runGit): Repo {
  const bytes = (args: string[], options: Omit<GitOptions, "cwd"> = {}) =>
    run(args, { ...options, cwd: dir });
  return {
    dir,
    bytes,
    text: async (args, options) => (await bytes(args, options)).toString("utf8"),
  };
}

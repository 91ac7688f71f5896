import { execFile } from "node:child_process";

export interface GitOptions {
  /** The repository (or any directory inside it). */
  cwd: string;
  /** Extra environment variables, on top of the process's own minus any inherited `GIT_*`. */
  env?: Record<string, string>;
  /** Written to git's stdin, which is closed either way so git never waits on it. */
  input?: string | Buffer;
}

/** Runs git with `args` and resolves to its stdout; rejects with a {@link GitError}. */
export type RunGit = (args: string[], options: GitOptions) => Promise<Buffer>;

/** A git command that failed, carrying git's stderr so the caller can say why. */
export class GitError extends Error {
  override name = "GitError";
  constructor(
    readonly args: string[],
    readonly exitCode: number | string | undefined,
    readonly stderr: string,
  ) {
    super(`git ${args.join(" ")} failed (${exitCode ?? "no exit code"}): ${stderr.trim() || "no stderr"}`);
  }
}

// Whole blobs and tree listings come through stdout; Node's 1 MiB default would cut them.
const MAX_BUFFER = 512 * 1024 * 1024;

/**
 * Runs the git CLI without a shell: arguments go to git as they are, so untrusted text in them
 * is never interpreted by anything but git.
 */
export const runGit: RunGit = (args, options) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      args,
      { cwd: options.cwd, env: gitEnv(options.env), maxBuffer: MAX_BUFFER, encoding: "buffer" },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as { code?: number | string }).code;
          reject(new GitError(args, code, stderr.length > 0 ? stderr.toString("utf8") : error.message));
        } else {
          resolve(stdout);
        }
      },
    );
    // git may exit before reading all of stdin (a failed command); the exit status tells why.
    child.stdin?.on("error", () => {});
    child.stdin?.end(options.input);
  });

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // An inherited GIT_DIR or GIT_INDEX_FILE (set when running from a git hook) would point the
    // commands at another repository or at the user's index.
    if (!name.startsWith("GIT_")) env[name] = value;
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: "0",
    // Paths come from untrusted input: `*` or `:(top)` in them must mean those characters.
    GIT_LITERAL_PATHSPECS: "1",
    ...extra,
  };
}

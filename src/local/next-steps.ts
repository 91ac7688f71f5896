import { resolve } from "node:path";
import { shellWord as quoteWord } from "../util/shell-word.js";

/** Where a local command worked: what a printed command must name to work again when pasted. */
export interface Where {
  /** The repository the command opened. */
  repoDir: string;
  /** The database, when `--db` named one; absent for the repository's default database. */
  dbPath?: string;
  /** The directory the command ran in; a repository elsewhere is named with `--repo`. */
  cwd: string;
}

/** The next steps a person is shown, as the status comment and the worker take them. */
export interface NextSteps {
  /** `atomic-scrum <words> [--repo DIR] [--db FILE]`, safe to paste into a POSIX shell. */
  command: (...words: string[]) => string;
  resume: (runId: string) => string;
  approve: (runId: string) => string;
  restart: (runId: string) => string;
  retry: (runId: string) => string;
}

/**
 * Builds every command a local run prints (issue 12, item 7): pasted into another directory, it
 * must still reach the same repository and database, so `--repo` is named whenever the repository
 * is not the current directory and `--db` whenever it is not the default one.
 */
export function nextSteps(where: Where): NextSteps {
  const repo = resolve(where.repoDir);
  const flags = [
    ...(repo === resolve(where.cwd) ? [] : ["--repo", repo]),
    ...(where.dbPath ? ["--db", resolve(where.dbPath)] : []),
  ];
  const command = (...words: string[]) => ["atomic-scrum", ...words, ...flags].map(shellWord).join(" ");
  return {
    command,
    resume: (runId) => `\`${command("resume", runId)}\``,
    approve: (runId) => `approve it with \`${command("approve", runId)}\``,
    restart: () => "run `atomic-scrum run` on the issue again",
    retry: (runId) =>
      `run \`${command("retry", runId)}\`, or \`${command("retry", runId, "<phase>")}\` for an earlier phase`,
  };
}

/** A word of a printed command, quoted for a POSIX shell; `<phase>` is a placeholder the person replaces. */
export function shellWord(word: string): string {
  return word === "<phase>" ? word : quoteWord(word);
}

import type { Repo } from "./repo.js";

const TRAILER = "Atomic-Scrum-Key";

/** The trailer line that marks a commit as the write for `key`. */
export function keyTrailer(key: string): string {
  return `${TRAILER}: ${key}`;
}

/** True when `message` has a line that would pass for a key trailer (a forged one, say). */
export function hasKeyTrailer(message: string): boolean {
  const prefix = `${TRAILER.toLowerCase()}:`;
  return message.split("\n").some((line) => line.trim().toLowerCase().startsWith(prefix));
}

/**
 * The newest commit reachable from `head` whose message carries the trailer for `key`, if any.
 * git's --grep narrows the walk; the exact-line check below keeps key `a` from matching `ab`.
 */
export async function findKeyedCommit(repo: Repo, head: string, key: string): Promise<string | undefined> {
  const line = keyTrailer(key);
  const log = await repo.text([
    "log",
    "-z",
    "--no-show-signature",
    "--fixed-strings",
    `--grep=${line}`,
    "--format=%H%n%B",
    head,
    "--",
  ]);
  for (const record of log.split("\0")) {
    const [sha, ...body] = record.split("\n");
    if (sha && body.some((bodyLine) => bodyLine === line)) return sha;
  }
  return undefined;
}

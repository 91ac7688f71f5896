import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

// Temporary files carry their owner (host and pid) in their name, so a later process can tell one
// left by a killed process from one a live process is writing (issue 11, class 11).

/** `<host hash>.<pid>`: the host as 8 hex digits, so any host name fits a file name. */
export function ownerTag(host = hostname(), pid = process.pid): string {
  return `${hostHash(host)}.${pid}`;
}

export interface TempOwner {
  hostHash: string;
  pid: number;
}

function hostHash(host: string): string {
  return createHash("sha256").update(host).digest("hex").slice(0, 8);
}

/** Whether `owner` is a process on `host`. */
export function isOnHost(owner: TempOwner, host = hostname()): boolean {
  return owner.hostHash === hostHash(host);
}

/** Every temporary index folder in TMPDIR starts with this. */
export const INDEX_DIR_PREFIX = "atomic-scrum-index-";

/** The mkdtemp prefix of this process's temporary index folders (mkdtemp adds 6 characters). */
export function indexDirPrefix(): string {
  return `${INDEX_DIR_PREFIX}${ownerTag()}-`;
}

/** The owner of a temporary index folder named `name`; undefined for a name without one. */
export function indexDirOwner(name: string): TempOwner | undefined {
  const match = /^atomic-scrum-index-([0-9a-f]{8})\.(\d+)-[^/]{6}$/.exec(name);
  return match ? { hostHash: match[1] ?? "", pid: Number(match[2]) } : undefined;
}

/** `.<name>.<owner>.<uuid>.tmp` next to `file`: hidden, unique, and named for its writer. */
export function tempFileFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${ownerTag()}.${randomUUID()}.tmp`);
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/**
 * Whether `name` is a temporary file {@link tempFileFor} makes (or one from before owners were in
 * the name: `.<name>.<uuid>.tmp`), and its owner when the name has one.
 */
export function tempFileOwner(name: string): { owner?: TempOwner } | undefined {
  const owned = new RegExp(`^\\..+\\.([0-9a-f]{8})\\.(\\d+)\\.${UUID}\\.tmp$`).exec(name);
  if (owned) return { owner: { hostHash: owned[1] ?? "", pid: Number(owned[2]) } };
  return new RegExp(`^\\..+\\.${UUID}\\.tmp$`).test(name) ? {} : undefined;
}

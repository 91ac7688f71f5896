import { hostname } from "node:os";
import type { Database } from "better-sqlite3";
import { expireLeasesOf, listGroupJobs, listJobs } from "../store/queue.js";
import { processAlive } from "../util/process-alive.js";

/** Lease owners are `host:pid:nonce`; this says which ones are processes on this host that have died. */
export function deadLocalOwners(
  owners: readonly string[],
  host = hostname(),
  isAlive = processAlive,
): string[] {
  return owners.filter((owner) => {
    const [ownerHost, pid] = owner.split(":");
    return ownerHost === host && /^\d+$/.test(pid ?? "") && !isAlive(Number(pid));
  });
}

/**
 * A local run interrupted by Ctrl-C or a crash holds its lease until it runs out; on this machine
 * we can tell the process is gone and take the job back at once.
 */
export function releaseDeadLocalLeases(db: Database, now: number): number {
  const owners = listJobs(db, { state: "running" }).flatMap((job) =>
    job.leaseOwner ? [job.leaseOwner] : [],
  );
  return expireLeasesOf(db, deadLocalOwners(owners), now);
}

/** Who works on a run now: a live process (its pid), one on another host, or nobody. */
export type RunWorker =
  | { kind: "alive"; pid: number }
  | { kind: "elsewhere"; owner: string }
  /** No job is held, but one retries after an error at `at`: a command may be waiting for it. */
  | { kind: "backoff"; at: number }
  | { kind: "gone" };

/**
 * Whether a process works on `runId` (issue 12, item 8): a running job of the run whose lease
 * owner is alive on this host, or whose owner is on another host (which we cannot check). No such
 * job, or only owners on this host that have died (Ctrl-C, a crash, `kill -9`), means the run was
 * interrupted: `status` must not call it running.
 */
export function runWorker(
  db: Database,
  runId: string,
  now: number,
  host = hostname(),
  isAlive = processAlive,
): RunWorker {
  const jobs = listGroupJobs(db, runId);
  const owners = jobs.flatMap((job) => (job.state === "running" && job.leaseOwner ? [job.leaseOwner] : []));
  const dead = new Set(deadLocalOwners(owners, host, isAlive));
  for (const owner of owners) {
    if (dead.has(owner)) continue;
    const [ownerHost, pid] = owner.split(":");
    if (ownerHost === host && /^\d+$/.test(pid ?? "")) return { kind: "alive", pid: Number(pid) };
    return { kind: "elsewhere", owner };
  }
  // A job in backoff holds no lease: the command that ran it may be sleeping until it is due.
  const retrying = jobs.find((job) => job.state === "queued" && job.attempts > 0 && job.runAt > now);
  return retrying ? { kind: "backoff", at: retrying.runAt } : { kind: "gone" };
}

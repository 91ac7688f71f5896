import { hostname } from "node:os";
import type { Database } from "better-sqlite3";
import { expireLeasesOf, listJobs } from "../store/queue.js";
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
